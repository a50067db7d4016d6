// argv → TendSpec → the runner → exit code. The only module that calls process.exit.
import { readFileSync } from 'node:fs';
import type { TendSpec } from '../config/spec.js';
import { TendError, ExitCode } from '../errors.js';
import { createLogger } from '../log.js';
import type { SignalIntake } from '../os/signals.js';
import { openControlSocket } from '../control/server.js';
import { recordHistory } from '../control/history.js';
import { controlPathFor, resolveControlGroup } from '../control/paths.js';
import { eventLogSink } from '../runner/event-log.js';
import { logView } from '../runner/log-view.js';
import { startTend } from '../runner/runner.js';
import { stdioSink } from '../os/output.js';
import { clearStaleLeftovers } from '../runner/stale.js';
import { systemdSink } from '../systemd/bridge.js';
import { createSystemdObserver } from '../systemd/notifier.js';
import type { EventSink } from '../core/events.js';
import { runControl } from './control-client.js';
import { parseCli } from './parse-args.js';

// Run the tend CLI and exit the process with the documented exit code.
export async function main(argv: readonly string[], signals: SignalIntake): Promise<never> {
  // A closed stderr must not crash the supervisor with an 'error' event.
  process.stderr.on('error', () => undefined);
  process.stdout.on('error', () => undefined);
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
      case 'run':
        code = await run(command.spec, command.warnings, signals);
        break;
      case 'control':
        // A client is not a supervisor: Ctrl-C (e.g. ending `tend logs -f`) ends it the ordinary way.
        signals.release();
        code = await runControl(command.command, command.socket);
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

// Wire the subscribers (log, event log, systemd, control socket) to a new runner and wait for its exit code.
async function run(spec: TendSpec, warnings: readonly string[], signals: SignalIntake): Promise<number> {
  const log = createLogger({ verbose: spec.verbose, debug: process.env['TEND_DEBUG'] === '1' });
  for (const warning of warnings) log.warn(warning);
  logStartupWindow(signals, (m) => { log.info(m); });
  const sinks: EventSink[] = [logView(log, spec.services.length === 1)];
  if (spec.eventLog !== null) sinks.push(eventLogSink(spec.eventLog));
  const single = spec.services.length === 1 && spec.services[0]?.pool === false;
  // A single command relays its own notifications to systemd; pools and several services report as a whole.
  const sd = single ? null : createSystemdObserver(process.env, log);
  let summary = (): string => '';
  const bridge = sd === null ? null : systemdSink(sd.observer, () => summary());
  if (bridge !== null) sinks.push(bridge.sink);
  for (const removed of await clearStaleLeftovers(spec)) log.warn(`removed a leftover of an earlier tend: ${removed}`);
  // The control socket opens before anything starts: failing to open it is fatal, not a log line.
  const controlPath = controlPathFor(spec);
  const control = await openControlSocket(controlPath, resolveControlGroup(spec.controlGroup), log);
  if (spec.services.length > 1 || spec.services[0]?.pool === true) process.stderr.write(`tend: control socket ${controlPath}\n`);
  else log.info(`control socket ${controlPath}`);
  const history = recordHistory();
  sinks.push(history.sink);
  const tend = startTend(spec, { signals, env: process.env }, sinks);
  summary = () => tend.status().services.map((s) => `${spec.services.length > 1 ? `${s.name}: ` : ''}${s.ready}/${s.desired} workers ready, generation ${s.generation}`).join('; ');
  control.serve(tend, history);
  const code = await tend.done;
  // Workers' last lines are written before tend exits.
  await Promise.all([stdioSink('stdout').flushed(), stdioSink('stderr').flushed()]);
  bridge?.stop();
  sd?.stop();
  control.close();
  return code;
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
