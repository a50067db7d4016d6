// argv → TendSpec → the runner → exit code. The only module that ends the process (exitProcess below).
import { readFileSync } from 'node:fs';
import type { TendSpec } from '../config/spec.js';
import { TendError, ExitCode } from '../errors.js';
import { createLogger, type Logger } from '../log.js';
import type { SignalIntake } from '../os/signals.js';
import { openControlSocket } from '../control/server.js';
import { recordHistory } from '../control/history.js';
import { controlPathFor, resolveControlGroup } from '../control/paths.js';
import { eventLogSink } from '../runner/event-log.js';
import { logView } from '../runner/log-view.js';
import { startTend } from '../runner/runner.js';
import { flushStdioSinks } from '../os/output.js';
import { native } from '../os/native.js';
import { clearStaleRuntimeDirs, clearStaleSockets } from '../runner/stale.js';
import { systemdSink } from '../systemd/bridge.js';
import { createSystemdObserver } from '../systemd/notifier.js';
import type { EventSink } from '../core/events.js';
import { listenHealth } from '../health/server.js';
import { runControl } from './control-client.js';
import { withholdCodeCache } from './compile-cache.js';
import { parseCli } from './parse-args.js';
import { ignoreStdioErrors } from './stdio.js';

// Run the tend CLI and exit the process with the documented exit code.
export async function main(argv: readonly string[], signals: SignalIntake): Promise<never> {
  // A closed stderr must not crash the supervisor with an 'error' event.
  ignoreStdioErrors();
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
    withholdCodeCache();
    if (error instanceof TendError) {
      process.stderr.write(`tend: ${error.message}\n`);
      code = error.exitCode;
    } else {
      process.stderr.write(`tend: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      code = ExitCode.internal;
    }
  }
  exitProcess(code);
}

// Node's own exit (process.exit) emits 'exit', stops its platform's threads and runs the C library's exit handlers
// (OpenSSL's cleanup among them): ~0.5 ms at the end of every run. By now tend has nothing left to hand over: stdout and
// stderr are synchronous on Linux, the event log is written with writeSync, the output sinks were flushed and every
// child reaped. So it ends at once (native.exitNow), unless needsNodeExit says something waits for Node's exit.
function exitProcess(code: number): never {
  if (!needsNodeExit(process.listenerCount('exit'), process.execArgv, process.env) && code >= 0 && code <= 255) {
    try {
      native.exitNow(code);
    } catch {
      // No addon to end with (the error that said so is on stderr already): Node's exit.
    }
  }
  process.exit(code);
}

// The one option the launcher gives Node (native/launcher.c): it starts tend's entry by its real path.
const LAUNCHER_NODE_FLAG = '--preserve-symlinks-main';

/** Whether only Node's own exit may end tend: an 'exit' listener waits for it (the code cache entry a first run
 * writes), or a Node flag or NODE_OPTIONS may write something at exit (a profile, a report), or coverage is on. The
 * launcher's own --preserve-symlinks-main (native/launcher.c) writes nothing. */
export function needsNodeExit(exitListeners: number, execArgv: readonly string[], env: Readonly<Record<string, string | undefined>>): boolean {
  return exitListeners > 0 || execArgv.some((flag) => flag !== LAUNCHER_NODE_FLAG) || (env['NODE_OPTIONS'] ?? '') !== '' || (env['NODE_V8_COVERAGE'] ?? '') !== '';
}

// Wire the subscribers (log, event log, systemd, control socket) to a new runner and wait for its exit code.
async function run(spec: TendSpec, warnings: readonly string[], signals: SignalIntake): Promise<number> {
  // What the runner gives every child (the addon passes it on as exec would) and what tend reads of it itself.
  const env = process.env;
  const log = createLogger({ verbose: spec.verbose, debug: env['TEND_DEBUG'] === '1' });
  for (const warning of warnings) log.warn(warning);
  const { sinks, gaveUp, systemd } = subscribers(spec, log, env);
  reportLeftovers(await clearStaleSockets(spec), log);
  // Bound before anything starts: a health port in use is a start-up error.
  const health = spec.healthListen === null ? null : await listenHealth(spec.healthListen, spec.services);
  if (health !== null) log.info(`health endpoints on http://${health.address} (/livez, /readyz, /metrics)`);
  const control = await openControl(spec, log);
  // Restarts per slot, for the control socket's status: recorded only where there is one.
  const history = control === null ? null : recordHistory();
  if (history !== null) sinks.push(history.sink);
  let tend;
  try {
    tend = startTend(spec, { signals, env, inheritEnv: true }, sinks);
  } catch (error) {
    health?.close();
    control?.close();
    throw error;
  }
  // What nothing before the first spawn needs comes after it, while the children start.
  if (log.enabled('info')) logStartupWindow(signals, env, (m) => { log.info(m); });
  reportLeftovers(clearStaleRuntimeDirs(), log);
  health?.attach(tend);
  systemd.summarize(() => tend.status().services.map((s) => `${spec.services.length > 1 ? `${s.name}: ` : ''}${s.ready}/${s.desired} workers ready, generation ${s.generation}`).join('; '));
  if (control !== null && history !== null) control.serve(tend, history);
  const code = await tend.done;
  // Workers' last lines are written before tend exits.
  await flushStdioSinks();
  systemd.stop();
  control?.close();
  health?.close();
  const [first] = gaveUp;
  if (first !== undefined && code === ExitCode.gaveUp) throw new TendError('TEND_ERR_GAVE_UP', `${first}; tend stopped everything (exit ${code})`);
  return code;
}

// The control socket opens before anything starts: failing to open it is fatal, not a log line. A single command
// gets one only when asked (--control); pools and several services always have one, printed at start.
async function openControl(spec: TendSpec, log: Logger): Promise<Awaited<ReturnType<typeof openControlSocket>> | null> {
  const only = spec.services.length === 1 ? spec.services[0] : undefined;
  if (spec.control === null && only !== undefined && !only.pool) return null;
  const path = controlPathFor(spec);
  const control = await openControlSocket(path, resolveControlGroup(spec.controlGroup), log);
  if (only?.pool !== false) process.stderr.write(`tend: control socket ${path}\n`);
  else log.info(`control socket ${path}`);
  return control;
}

// The event stream's subscribers: the log, the event log, systemd, and the give-up record for the exit message.
function subscribers(spec: TendSpec, log: Logger, env: Readonly<Record<string, string | undefined>>): { sinks: EventSink[]; gaveUp: string[]; systemd: { summarize(f: () => string): void; stop(): void } } {
  const only = spec.services.length === 1 ? spec.services[0] : undefined;
  const sinks: EventSink[] = [logView(log, only === undefined ? null : only.pool ? 'pool' : 'command')];
  if (spec.eventLog !== null) sinks.push(eventLogSink(spec.eventLog));
  // A single command relays its own notifications to systemd; pools and several services report as a whole.
  const sd = only !== undefined && !only.pool ? null : createSystemdObserver(env, log);
  let summary = (): string => '';
  const bridge = sd === null ? null : systemdSink(sd.observer, () => summary());
  if (bridge !== null) sinks.push(bridge.sink);
  const gaveUp: string[] = [];
  sinks.push((event) => { if (event.type === 'gave-up') gaveUp.push(`giving up on ${event.service} slot ${event.slot}: ${event.detail}`); });
  return {
    sinks,
    gaveUp,
    systemd: {
      summarize: (f) => { summary = f; },
      stop: () => { bridge?.stop(); sd?.stop(); },
    },
  };
}

// A stale socket file at a path the user gave is worth a warning; tend's own runtime directories are housekeeping.
function reportLeftovers(leftovers: readonly string[], log: Logger): void {
  for (const removed of leftovers) {
    if (removed.startsWith('stale socket')) log.warn(`removed a leftover of an earlier tend: ${removed}`);
    else log.info(`removed a leftover of an earlier tend: ${removed}`);
  }
}

function logStartupWindow(signals: SignalIntake, env: Readonly<Record<string, string | undefined>>, info: (m: string) => void): void {
  const execNs = env['TEND_EXEC_MONOTONIC_NS'];
  if (execNs === undefined || !/^\d+$/.test(execNs)) return;
  const ms = Number(signals.installedAtNs - BigInt(execNs)) / 1e6;
  info(`signal handlers installed ${ms.toFixed(1)} ms after exec`);
}

function packageVersion(): string {
  const text = readFileSync(new URL('../../../package.json', import.meta.url), 'utf8');
  return (JSON.parse(text) as { version: string }).version;
}
