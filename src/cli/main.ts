// argv → config → supervisor → exit code. The only module that calls process.exit.
import { readFileSync } from 'node:fs';
import { DEFAULT_READY_TIMEOUT_MS, type PoolConfig } from '../config/pool-config.js';
import type { RunConfig } from '../config/run-config.js';
import type { TendSpec } from '../config/spec.js';
import { TendError, ExitCode, usageError } from '../errors.js';
import { createLogger } from '../log.js';
import type { SignalIntake } from '../os/signals.js';
import { serveControl } from '../supervisor/control.js';
import { startPool } from '../supervisor/pool.js';
import { createSystemdObserver } from '../systemd/notifier.js';
import { runCommand } from '../supervisor/run.js';
import { requestControl } from './control-client.js';
import { parseCli } from './parse-args.js';

// Run the tend CLI and exit the process with the documented exit code.
export async function main(argv: readonly string[], signals: SignalIntake): Promise<never> {
  // A closed stderr must not crash the supervisor with an 'error' event.
  process.stderr.on('error', () => undefined);
  process.stdout.on('error', () => undefined);
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
        const log = createLogger({ verbose: command.spec.verbose, debug });
        for (const warning of command.warnings) log.warn(warning);
        const legacy = toLegacyConfig(command.spec);
        logStartupWindow(signals, (m) => { log.info(m); });
        if (legacy.pool === null) {
          code = await runCommand(legacy.config, { log, signals, env: process.env });
        } else {
          const sd = createSystemdObserver(process.env, log);
          const pool = startPool(legacy.config, legacy.pool, { log, signals, env: process.env, ...(sd === null ? {} : { observer: sd.observer }) });
          const control = legacy.pool.control === null ? null : serveControl(legacy.pool.control, pool, log);
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

// Bridge until the one-core supervisor lands: a single-service TendSpec back to the RunConfig/PoolConfig that run.ts
// and pool.ts take; settings that only the new core honours are refused rather than ignored.
function toLegacyConfig(spec: TendSpec): { config: RunConfig; pool: PoolConfig | null } {
  const [service, ...more] = spec.services;
  if (service === undefined || more.length > 0) {
    throw new TendError('TEND_ERR_USAGE', `tend run: this build runs one service; ${spec.services.length} need the multi-service core`);
  }
  const config: RunConfig = {
    command: service.command, before: service.before, signalScope: service.signalScope, subreaper: spec.subreaper,
    remapExit: service.remapExit, stop: service.stop, limits: service.limits, user: service.user, verbose: spec.verbose,
  };
  const unsupported = spec.eventLog !== null ? 'event-log' : Object.keys(service.env).length > 0 ? 'env' : service.cwd !== null ? 'cwd' : null;
  if (unsupported !== null) throw usageError(`--${unsupported}`, undefined, 'is not supported by this build yet', 'remove it');
  if (service.pool) {
    return { config, pool: {
      workers: service.workers, listen: service.listen, socketStrategy: service.socketStrategy, ready: service.ready,
      readyTimeoutMs: service.readyTimeoutMs, restart: service.backoff, reloadSurge: service.reloadSurge, guards: service.guards,
      preload: service.preload, control: spec.control, watchdogMs: service.watchdogMs,
    } };
  }
  const poolOnly = service.listen.length > 0 ? 'listen' : service.ready.kind !== 'auto' ? 'ready' : service.readyTimeoutMs !== DEFAULT_READY_TIMEOUT_MS
    ? 'ready-timeout' : service.socketStrategy !== 'shared' ? 'socket-strategy' : !service.preload ? 'no-preload' : spec.control !== null ? 'control'
      : service.restart !== 'never' ? 'restart' : null;
  if (poolOnly !== null) throw usageError(`--${poolOnly}`, undefined, 'only applies to a worker pool', 'add --workers N (or remove it)');
  return { config, pool: null };
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
