// argv → config → supervisor → exit code. The only module that calls process.exit.
import { readFileSync } from 'node:fs';
import { TendError, ExitCode } from '../errors.js';
import { createLogger } from '../log.js';
import type { SignalIntake } from '../os/signals.js';
import { serveControl } from '../supervisor/control.js';
import { startPool } from '../supervisor/pool.js';
import { createSystemdObserver } from '../systemd/notifier.js';
import { runCommand } from '../supervisor/run.js';
import { requestControl } from './control-client.js';
import { parseCli } from './parse-args.js';
import { ignoreStdioErrors } from './stdio.js';

// Run the tend CLI and exit the process with the documented exit code.
export async function main(argv: readonly string[], signals: SignalIntake): Promise<never> {
  // A closed stderr must not crash the supervisor with an 'error' event.
  ignoreStdioErrors();
  const debug = process.env['TEND_DEBUG'] === '1';
  let code: number;
  try {
    const command = parseCli(argv);
    switch (command.kind) {
      case 'help':
        process.stdout.write(command.text);
        code = 0;
        break;
      case 'version':
        process.stdout.write(`tend ${packageVersion()}\n`);
        code = 0;
        break;
      case 'run': {
        const log = createLogger({ verbose: command.config.verbose, debug });
        logStartupWindow(signals, (m) => { log.info(m); });
        if (command.pool === null) {
          code = await runCommand(command.config, { log, signals, env: process.env });
        } else {
          const sd = createSystemdObserver(process.env, log);
          const pool = startPool(command.config, command.pool, { log, signals, env: process.env, ...(sd === null ? {} : { observer: sd.observer }) });
          const control = command.pool.control === null ? null : serveControl(command.pool.control, pool, log);
          code = await pool.done;
          sd?.stop();
          control?.close();
        }
        break;
      }
      case 'control':
        code = await requestControl(command.socket, command.request);
        break;
    }
  } catch (error) {
    if (error instanceof TendError) {
      process.stderr.write(`tend: ${error.message}\n`);
      code = error.exitCode;
    } else {
      process.stderr.write(`tend: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      code = ExitCode.internal;
    }
  }
  process.exit(code);
}

function logStartupWindow(signals: SignalIntake, info: (m: string) => void): void {
  const execNs = process.env['TEND_EXEC_MONOTONIC_NS'];
  if (execNs === undefined || !/^\d+$/.test(execNs)) return;
  const ms = Number(signals.installedAtNs - BigInt(execNs)) / 1e6;
  info(`signal handlers installed ${ms.toFixed(1)} ms after exec`);
}

function packageVersion(): string {
  const text = readFileSync(new URL('../../../package.json', import.meta.url), 'utf8');
  return (JSON.parse(text) as { version: string }).version;
}
