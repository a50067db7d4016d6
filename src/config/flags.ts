// THE flag table: every `tend run` setting once (name, alias, value, scope, parser, default, help). The argv parser,
// the config-file schema, `tend run --help`, the README's table and the scope checks are all derived from it, so a new
// setting is one entry here. Pure: no I/O.
import { parseLogFormat, parseLogMaxLine, parseLogPrefix } from '../output/options.js';
import type { LogFormat, LogPrefix } from '../output/format.js';
import { parseHealthListen, type HealthAddress } from '../health/options.js';
import { splitCommandLine } from './command-line.js';
import { formatDuration } from './duration.js';
import {
  DEFAULT_GUARDS,
  DEFAULT_LIVENESS,
  DEFAULT_READY_TIMEOUT_MS,
  DEFAULT_RESTART,
  parseCount,
  parseDurationFlag,
  parseListen,
  parseLiveness,
  parsePath,
  parsePercent,
  parsePositiveDurationFlag,
  parseReady,
  parseSize,
  parseWorkers,
  type GuardPolicy,
  type RestartPolicy,
} from './pool-config.js';
import { DEFAULT_STOP_TIMEOUT_MS, parseLimit, parseRemap, parseSignalScope, parseStopSpec, parseUserSpec } from './run-config.js';
import type { RestartMode, ServiceSpec, ServiceType } from './spec.js';
import { usageError } from '../errors.js';
import { DEFAULT_DRAIN_SPREAD_MS } from '../core/stop-budget.js';

/** `process`: a setting of tend itself (top level of a file); `service`: one per service. */
export type Scope = 'process' | 'service';

/** What a setting needs to mean anything: a pool (`workers`), or a service that restarts. */
export type Needs = 'pool' | 'restarts';

/** The help sections, in the order --help shows them. */
export const SECTIONS = ['Signals', 'Setup', 'Limits and privileges', 'Exit status', 'Service', 'Worker pool',
  'Sockets and readiness', 'Restarts', 'Guards', 'tend itself'] as const;
export type Section = (typeof SECTIONS)[number];

/** A service under construction: ServiceSpec with writable fields; `given` records which keys were set. */
export type ServiceDraft = {
  -readonly [K in Exclude<keyof ServiceSpec, 'backoff' | 'guards'>]: ServiceSpec[K];
} & {
  backoff: { -readonly [K in keyof RestartPolicy]: RestartPolicy[K] };
  guards: { -readonly [K in keyof GuardPolicy]: GuardPolicy[K] };
  /** null until `workers` is given (then the service is a pool). */
  workersGiven: number | null;
  /** null until `restart` is given: the default depends on the service's type and pool. */
  restartGiven: RestartMode | null;
  /** null until `command` is given. */
  commandGiven: readonly string[] | null;
};

/** tend's own settings under construction. */
export interface ProcessDraft {
  subreaper: boolean;
  verbose: boolean;
  control: string | null;
  controlGroup: string | null;
  eventLog: string | null;
  logPrefix: LogPrefix | null;
  logFormat: LogFormat;
  logMaxLine: number;
  healthListen: HealthAddress | null;
  stopDelayMs: number;
  graceMs: number | null;
}

/** A raw value as argv or a file gives it: a string, a list of strings, true (a boolean flag), or a file-only shape. */
export type RawValue = string | readonly string[] | boolean | Readonly<Record<string, string>>;

/** How a value is written: a string, a boolean switch, or a shape only a config file has. */
export type ValueKind = 'string' | 'boolean' | 'command' | 'env' | 'list' | 'limit';

interface FlagCommon {
  /** The long name without dashes; also the config-file key. */
  readonly name: string;
  readonly short: string | undefined;
  readonly value: ValueKind;
  /** Repeatable on the command line (a list in a file). */
  readonly multiple: boolean;
  /** The placeholder in help, e.g. DUR; empty for switches. */
  readonly arg: string;
  readonly section: Section;
  readonly help: string;
  /** The default as help shows it; null when there is none. */
  readonly default: string | null;
  /** false: a config-file key only (command, env, cwd, ...), not a flag. */
  readonly cli: boolean;
  readonly needs: Needs | undefined;
}

/** One row of the table: a setting of one service. */
export interface ServiceFlag extends FlagCommon {
  readonly scope: 'service';
  readonly apply: (draft: ServiceDraft, value: RawValue) => void;
}

/** One row of the table: a setting of tend itself (config and help are handled by the parser). */
export interface ProcessFlag extends FlagCommon {
  readonly scope: 'process';
  readonly apply: ((draft: ProcessDraft, value: RawValue) => void) | null;
}

export type Flag = ServiceFlag | ProcessFlag;

const text = (name: string, value: RawValue): string => {
  if (typeof value === 'string') return value;
  throw usageError(`--${name}`, undefined, 'expects one value', `write --${name} VALUE once`);
};
const texts = (value: RawValue): readonly string[] => (typeof value === 'string' ? [value] : Array.isArray(value) ? value as readonly string[] : []);

/** A row as the table writes it: `short` and `needs` may be left out. */
type Written<F extends Flag> = Omit<F, 'short' | 'needs'> & Partial<Pick<F, 'short' | 'needs'>>;

/** What every row is written with; the constructors below supply the rest. */
type RowText = Pick<Written<Flag>, 'name' | 'short' | 'help' | 'needs'>;

// Typed constructors: each row's parser and setter meet here, so the table itself stays declarative. Every row comes
// out of one of the two literals below, whose properties are the same and in the same order, without copying the
// row it is written as (a spread copies property by property): V8 then gives the whole table one hidden class. With
// ~50 shapes, the first code to read the table (argvOptions, at start-up) migrated row after row to generalised ones.
function serviceRow(row: RowText, arg: string, section: Section, defaultText: string | null, value: ValueKind, multiple: boolean, cli: boolean,
  apply: ServiceFlag['apply']): ServiceFlag {
  return { name: row.name, short: row.short, value, multiple, arg, section, help: row.help, default: defaultText, cli, needs: row.needs, scope: 'service', apply };
}
function processRow(row: RowText, arg: string, defaultText: string | null, value: ValueKind, multiple: boolean, apply: ProcessFlag['apply']): ProcessFlag {
  return { name: row.name, short: row.short, value, multiple, arg, section: 'tend itself', help: row.help, default: defaultText, cli: true, needs: row.needs, scope: 'process', apply };
}
function svc<T>(row: Omit<Written<ServiceFlag>, 'scope' | 'apply' | 'cli' | 'multiple' | 'value'> & { cli?: boolean },
  parse: (value: string, flag: string) => T, set: (d: ServiceDraft, v: T) => void): ServiceFlag {
  return serviceRow(row, row.arg, row.section, row.default, 'string', false, row.cli ?? true,
    (d, v) => { set(d, parse(text(row.name, v), `--${row.name}`)); });
}
function svcList<T>(row: Omit<Written<ServiceFlag>, 'scope' | 'apply' | 'cli' | 'multiple' | 'value'> & { value?: ValueKind },
  parse: (value: string, flag: string) => T, set: (d: ServiceDraft, v: T[]) => void): ServiceFlag {
  return serviceRow(row, row.arg, row.section, row.default, row.value ?? 'string', true, true,
    (d, v) => { set(d, texts(v).map((t) => parse(t, `--${row.name}`))); });
}
function svcSwitch(row: Omit<Written<ServiceFlag>, 'scope' | 'apply' | 'cli' | 'multiple' | 'value' | 'arg'>, set: (d: ServiceDraft, on: boolean) => void): ServiceFlag {
  return serviceRow(row, '', row.section, row.default, 'boolean', false, true, (d, v) => { set(d, v === true); });
}
function fileKey(row: Omit<Written<ServiceFlag>, 'scope' | 'cli' | 'multiple' | 'default' | 'section'> & { default?: string | null }): ServiceFlag {
  return serviceRow(row, row.arg, 'Service', row.default ?? null, row.value, false, false, row.apply);
}
function proc(row: Omit<Written<ProcessFlag>, 'scope' | 'cli' | 'multiple' | 'section'> & { multiple?: boolean }): ProcessFlag {
  return processRow(row, row.arg, row.default, row.value, row.multiple ?? false, row.apply);
}

const RESTART_MODES: readonly RestartMode[] = ['always', 'on-failure', 'never'];

// --restart always|on-failure|never
export function parseRestartMode(value: string, flag = '--restart'): RestartMode {
  if ((RESTART_MODES as readonly string[]).includes(value)) return value as RestartMode;
  throw usageError(flag, value, 'unknown restart mode', 'use always, on-failure or never');
}

// type: simple|oneshot (config files only)
export function parseServiceType(value: string, flag = 'type'): ServiceType {
  if (value === 'simple' || value === 'oneshot') return value;
  throw usageError(flag, value, 'unknown service type', 'use simple (runs until stopped) or oneshot (done when it exits 0)');
}

// A service command: a non-empty argv whose first word is not empty; sh-style quoting when given as one string.
export function parseCommand(value: RawValue, key = 'command'): string[] {
  let argv: string[];
  if (typeof value === 'string') {
    const split = splitCommandLine(value);
    if ('problem' in split) throw usageError(key, value, split.problem, `${split.fix.replace('--before', `${key}:`)}, or give a list`);
    argv = split.argv;
  } else if (Array.isArray(value)) {
    argv = [...(value as readonly string[])];
  } else {
    throw usageError(key, undefined, 'expects a command line or a list of words', `write ${key}: node server.js or ${key}: [node, server.js]`);
  }
  if (argv.length === 0 || argv[0] === '') throw usageError(key, JSON.stringify(value), 'the command is empty', `write e.g. ${key}: node server.js`);
  if (argv.some((word) => word.includes('\0'))) throw usageError(key, JSON.stringify(value), 'a word contains a NUL byte', 'remove it');
  return argv;
}

// env: a map of variable names to strings (numbers and booleans as YAML writes them are turned into text by the loader).
export function parseEnv(value: RawValue, key = 'env'): Record<string, string> {
  if (typeof value !== 'object' || Array.isArray(value)) throw usageError(key, undefined, 'expects a map of NAME: value', `write ${key}: { NODE_ENV: production }`);
  const env: Record<string, string> = {};
  for (const [name, val] of Object.entries(value as Readonly<Record<string, string>>)) {
    if (name === '' || name.includes('=') || name.includes('\0')) throw usageError(key, name, 'is not a variable name', 'use a name without "=" or NUL');
    if (val.includes('\0')) throw usageError(key, name, 'its value contains a NUL byte', 'remove it');
    env[name] = val;
  }
  return env;
}

const NAME = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;

// A service name: starts with a letter, then letters, digits, "_", "." or "-", at most 64 characters.
export function parseServiceName(value: string, key = 'service name'): string {
  if (NAME.test(value)) return value;
  throw usageError(key, value, 'is not a valid service name', 'start with a letter; use letters, digits, "_", "." and "-" (at most 64)');
}

// The rows, in help order within each section: built on first use (flagTable()), as a `tend run` with no options
// never reads them (scripts/bundle.js works out that spec at build time, see cli/parse-args.ts), and building them
// costs a start ~0.2 ms. Three functions, each under the lint's length limit.
function serviceRows(): Flag[] {
  return [
    // Signals
    svc({ name: 'signal-scope', arg: 'group|child', section: 'Signals', default: 'group',
      help: "where forwarded signals go: the child's process group (reaches a worker behind a bash entrypoint) or the child's pid alone" },
    (v) => parseSignalScope(v), (d, v) => { d.signalScope = v; }),
    svc({ name: 'stop', arg: 'SIG[:DUR],...', section: 'Signals', default: `the signal received, KILL after ${formatDuration(DEFAULT_STOP_TIMEOUT_MS)}`,
      help: 'stop sequence, e.g. TSTP:10s,TERM:25s (quiet, then terminate, then KILL). Durations need a unit: ms, s, m, h. The same sequence stops processes that linger after the child exits' },
    (v) => parseStopSpec(v), (d, v) => { d.stop = v; }),
    // Setup
    svcList({ name: 'before', arg: '"<command line>"', section: 'Setup', default: null,
      help: "a step run before the service starts (repeatable, in order; once, before the first worker of a pool). Quoting as in sh, but no shell: use \"sh -c '...'\" for pipes, && or variables. A failing step stops tend with its status" },
    (v, flag) => {
      const split = splitCommandLine(v);
      if ('problem' in split) throw usageError(flag, v, split.problem, split.fix);
      return split.argv;
    }, (d, v) => { d.before = v; }),
    // Limits and privileges
    svcList({ name: 'limit', arg: 'NAME=SOFT[:HARD]', section: 'Limits and privileges', default: 'the limits tend was started with', value: 'limit',
      help: 'a resource limit for every process of the service, every start (repeatable): as core cpu data fsize locks memlock msgqueue nice nofile nproc rss rtprio rttime sigpending stack; a number, "unlimited", sizes with K/M/G/T' },
    (v) => parseLimit(v), (d, v) => {
      // A later --limit for the same resource wins, as with repeated flags elsewhere.
      const byName = new Map(v.map((l) => [l.name, l]));
      d.limits = [...byName.values()];
    }),
    svc({ name: 'user', short: 'u', arg: 'USER[:GROUP]', section: 'Limits and privileges', default: "tend's user",
      help: 'run as USER (name or uid) with its supplementary groups, like gosu/su-exec' },
    (v) => parseUserSpec(v), (d, v) => { d.user = v; }),
    // Exit status
    svcList({ name: 'remap-exit', arg: 'FROM:TO', section: 'Exit status', default: null,
      help: "map the service's exit code FROM to TO (repeatable), e.g. 143:0" },
    (v) => parseRemap(v), (d, v) => { d.remapExit = new Map(v); }),
    svc({ name: 'restart', arg: 'always|on-failure|never', section: 'Service', default: 'never for a single command and a oneshot; always for a pool and a service in a services map',
      help: 'when an exited process is started again' },
    (v, flag) => parseRestartMode(v, flag), (d, v) => { d.restartGiven = v; }),
    // Config-file keys of a service (not flags).
    fileKey({ name: 'command', value: 'command', arg: 'CMD', help: 'the command: one string (sh-style quoting, no shell) or a list of words',
      apply: (d, v) => { d.commandGiven = parseCommand(v); } }),
    fileKey({ name: 'env', value: 'env', arg: 'MAP', help: "variables set over tend's environment", default: '{}', apply: (d, v) => { d.env = parseEnv(v); } }),
    fileKey({ name: 'cwd', value: 'string', arg: 'DIR', help: 'working directory; relative to the config file', default: "tend's",
      apply: (d, v) => { d.cwd = parsePath('cwd', text('cwd', v), 'file'); } }),
    fileKey({ name: 'type', value: 'string', arg: 'simple|oneshot', help: 'oneshot: done when it exits 0 (setup work such as migrations); simple: runs until stopped', default: 'simple',
      apply: (d, v) => { d.type = parseServiceType(text('type', v)); } }),
    fileKey({ name: 'depends-on', value: 'list', arg: '[NAMES]', help: 'start only once each of these is ready (a oneshot: exited 0); stop only after they have', default: '[]',
      apply: (d, v) => { d.dependsOn = texts(v).map((n) => parseServiceName(n, 'depends-on')); } }),
    fileKey({ name: 'can-die', value: 'boolean', arg: '', help: 'when it exits for good or gives up, the others go on (false: tend stops everything with its status)', default: 'false',
      apply: (d, v) => { d.canDie = v === true; } }),
    // Worker pool
    svc({ name: 'workers', short: 'w', arg: 'N|max|auto', section: 'Worker pool', default: '1, not a pool',
      help: 'run N copies as a pool; max = one per core, auto = cores - 1 (at least 1). Each worker gets TEND_WORKER_INDEX (0..N-1), TEND_WORKER_COUNT and TEND_GENERATION' },
    (v) => parseWorkers(v), (d, v) => { d.workersGiven = v; }),
    svc({ name: 'reload-surge', arg: 'N', section: 'Worker pool', default: '1', needs: 'pool',
      help: 'slots replaced at once during a reload (SIGHUP or tend reload): each new worker must be ready before its old one is stopped. A SIGHUP during a reload runs one more reload after it' },
    (v, flag) => parseCount(flag, v, 1, 1024), (d, v) => { d.reloadSurge = v; }),
    // Sockets and readiness
    svcList({ name: 'listen', arg: 'ADDRESS', section: 'Sockets and readiness', default: null,
      help: 'a socket tend owns and hands to every process of the service (repeatable): tcp://0.0.0.0:3000, tcp://[::]:3000, unix:/run/app.sock?mode=0660&owner=app&group=www (name=NAME sets LISTEN_FDNAMES). Node apps that call server.listen(3000) use it unchanged; others get LISTEN_FDS (fds from 3)' },
    (v) => parseListen(v), (d, v) => { d.listen = v; }),
    svc({ name: 'socket-strategy', arg: 'shared|reuseport', section: 'Sockets and readiness', default: 'shared',
      help: 'one socket for all workers, or one SO_REUSEPORT socket per slot' },
    (v, flag) => {
      if (v === 'shared' || v === 'reuseport') return v;
      throw usageError(flag, v, 'unknown strategy', 'use "shared" (one socket for all workers) or "reuseport" (one SO_REUSEPORT socket per worker)');
    }, (d, v) => { d.socketStrategy = v; }),
    svc({ name: 'ready', arg: 'MODE', section: 'Sockets and readiness', default: 'auto',
      help: 'when a process counts as ready: auto (READY=1, or a Node server listening; with no --listen, 1 s up), notify (READY=1 on $NOTIFY_SOCKET), listen, delay:2s, http://127.0.0.1:3000/health, tcp://127.0.0.1:3000' },
    (v) => parseReady(v), (d, v) => { d.ready = v; }),
    svc({ name: 'ready-timeout', arg: 'DUR', section: 'Sockets and readiness', default: formatDuration(DEFAULT_READY_TIMEOUT_MS),
      help: 'a process not ready by then is stopped' },
    (v, flag) => parsePositiveDurationFlag(flag, v), (d, v) => { d.readyTimeoutMs = v; }),
    svc({ name: 'drain-spread', arg: 'DUR', section: 'Sockets and readiness', default: formatDuration(DEFAULT_DRAIN_SPREAD_MS),
      help: 'on a stop, the preload closes WebSocket and other upgraded connections one by one over DUR (close code 1001 on a stop, 1012 on a reload), so clients do not all reconnect at once; 0 = all at once. The first stop stage lasts at least DUR' },
    (v, flag) => parseDurationFlag(flag, v), (d, v) => { d.drainSpreadMs = v; }),
    svcSwitch({ name: 'no-preload', section: 'Sockets and readiness', default: 'preload on',
      help: 'do not inject the Node preload (listen redirect and graceful HTTP drain)' }, (d, on) => { d.preload = !on; }),
  ];
}

function restartAndGuardRows(): Flag[] {
  return [
    // Restarts
    svc({ name: 'restart-delay', arg: 'DUR', section: 'Restarts', default: formatDuration(DEFAULT_RESTART.initialDelayMs), needs: 'restarts',
      help: 'first restart delay after a failed start; doubles per failed start, with jitter' },
    (v, flag) => parseDurationFlag(flag, v), (d, v) => { d.backoff.initialDelayMs = v; }),
    svc({ name: 'restart-max-delay', arg: 'DUR', section: 'Restarts', default: formatDuration(DEFAULT_RESTART.maxDelayMs), needs: 'restarts',
      help: 'the cap of the restart delay' },
    (v, flag) => parsePositiveDurationFlag(flag, v), (d, v) => { d.backoff.maxDelayMs = v; }),
    svc({ name: 'stable-after', arg: 'DUR', section: 'Restarts', default: formatDuration(DEFAULT_RESTART.stableAfterMs), needs: 'restarts',
      help: 'uptime after which a start counts as good and the backoff resets' },
    (v, flag) => parsePositiveDurationFlag(flag, v), (d, v) => { d.backoff.stableAfterMs = v; }),
    svc({ name: 'max-restarts', arg: 'N', section: 'Restarts', default: String(DEFAULT_RESTART.maxRestarts), needs: 'restarts',
      help: 'consecutive failed starts before the service counts as crash-looping' },
    (v, flag) => parseCount(flag, v, 1, 1_000_000), (d, v) => { d.backoff.maxRestarts = v; }),
    svc({ name: 'on-crash-loop', arg: 'exit|retry', section: 'Restarts', default: DEFAULT_RESTART.onCrashLoop, needs: 'restarts',
      help: 'exit: give up (stop everything, exit 75); retry: keep trying at the cap' },
    (v, flag) => {
      if (v === 'exit' || v === 'retry') return v;
      throw usageError(flag, v, 'unknown policy', 'use "exit" (stop and exit 75 so the orchestrator notices, the default) or "retry" (keep trying at the maximum delay)');
    }, (d, v) => { d.backoff.onCrashLoop = v; }),
    // Guards
    svc({ name: 'max-memory', arg: 'SIZE', section: 'Guards', default: null, needs: 'restarts',
      help: 'replace a process whose RSS stays above SIZE (e.g. 512M) for the guard window' },
    (v, flag) => parseSize(flag, v), (d, v) => { d.guards.maxRssBytes = v; }),
    svc({ name: 'max-cpu', arg: 'PCT', section: 'Guards', default: null, needs: 'restarts',
      help: 'replace a process whose CPU stays above PCT% for the guard window' },
    (v, flag) => parsePercent(flag, v), (d, v) => { d.guards.maxCpuPercent = v; }),
    svc({ name: 'guard-window', arg: 'DUR', section: 'Guards', default: formatDuration(DEFAULT_GUARDS.windowMs), needs: 'restarts',
      help: "how long a limit must be exceeded; open files are also watched, with a warning at 80% of the process's nofile limit" },
    (v, flag) => parsePositiveDurationFlag(flag, v), (d, v) => { d.guards.windowMs = v; }),
    svc({ name: 'watchdog', arg: 'DUR', section: 'Guards', default: null, needs: 'restarts',
      help: 'give processes WATCHDOG_USEC; one whose WATCHDOG=1 pings stop is replaced' },
    (v, flag) => parsePositiveDurationFlag(flag, v), (d, v) => { d.watchdogMs = v; }),
    svc({ name: 'liveness', arg: 'http:PATH|tcp|exec:CMD', section: 'Guards', default: null, needs: 'restarts',
      help: "check each ready worker every --liveness-interval: http:/healthz (GET over the worker's private probe socket: that worker, not whichever the shared socket picks; Node workers with the preload), tcp (connect to it), exec:CMD (exit 0 = alive; gets TEND_PROBE_PID and TEND_PROBE_SLOT). A worker failing --liveness-failures probes in a row is replaced like a memory guard replaces it; when half or more of the ready workers fail at once, none is replaced and the service is marked degraded" },
    (v, flag) => parseLiveness(v, flag), (d, v) => { d.liveness = { ...(d.liveness ?? DEFAULT_LIVENESS), probe: v }; }),
    svc({ name: 'liveness-interval', arg: 'DUR', section: 'Guards', default: formatDuration(DEFAULT_LIVENESS.intervalMs), needs: 'restarts',
      help: 'time between two liveness probes of a worker' },
    (v, flag) => parsePositiveDurationFlag(flag, v), (d, v) => { d.liveness = { ...(d.liveness ?? DEFAULT_LIVENESS), intervalMs: v }; }),
    svc({ name: 'liveness-timeout', arg: 'DUR', section: 'Guards', default: formatDuration(DEFAULT_LIVENESS.timeoutMs), needs: 'restarts',
      help: 'a liveness probe not answered by then has failed (an exec probe\'s process group is killed)' },
    (v, flag) => parsePositiveDurationFlag(flag, v), (d, v) => { d.liveness = { ...(d.liveness ?? DEFAULT_LIVENESS), timeoutMs: v }; }),
    svc({ name: 'liveness-failures', arg: 'N', section: 'Guards', default: String(DEFAULT_LIVENESS.failures), needs: 'restarts',
      help: 'failed liveness probes in a row that replace a worker (a success resets the count)' },
    (v, flag) => parseCount(flag, v, 1, 1000), (d, v) => { d.liveness = { ...(d.liveness ?? DEFAULT_LIVENESS), failures: v }; }),
    svc({ name: 'metrics-workers', arg: 'PATH', section: 'Sockets and readiness', default: null,
      help: "with --health-listen, /metrics also scrapes GET PATH (e.g. /metrics) of each ready worker through its private socket (Node workers with the preload) and re-exports its metrics with service and slot labels, never summed; a worker that does not answer within 2s is skipped and counted" },
    (v, flag) => {
      if (v.startsWith('/') && !/[\s\0]/.test(v)) return v;
      throw usageError(flag, v, 'the path must start with / and contain no spaces', 'write e.g. /metrics');
    }, (d, v) => { d.metricsWorkers = v; }),
    svc({ name: 'min-ready', arg: 'N', section: 'Sockets and readiness', default: '1',
      help: "tend's /readyz passes while at least N of this service's workers are ready (--health-listen)" },
    (v, flag) => parseCount(flag, v, 0, 1024), (d, v) => { d.minReady = v; }),
  ];
}

function processRows(): Flag[] {
  return [
    // tend itself
    proc({ name: 'health-listen', value: 'string', arg: '[HOST:]PORT', default: null,
      help: 'serve /livez, /readyz (Kubernetes conventions: ?verbose, /readyz/<check>, ?exclude=) and /metrics over HTTP; loopback unless HOST is given',
      apply: (d, v) => { d.healthListen = parseHealthListen(text('health-listen', v)); } }),
    proc({ name: 'stop-delay', value: 'string', arg: 'DUR', default: '0s',
      help: 'on SIGTERM or SIGINT, fail /readyz at once but keep every worker serving for DUR, then stop (a second signal skips the rest)',
      apply: (d, v) => { d.stopDelayMs = parseDurationFlag('--stop-delay', text('stop-delay', v)); } }),
    proc({ name: 'grace', value: 'string', arg: 'DUR', default: null,
      help: "the orchestrator's stop budget (terminationGracePeriodSeconds): refuse to start when --stop-delay plus the stop stages exceed it; the stop deadline never passes it",
      apply: (d, v) => { d.graceMs = parsePositiveDurationFlag('--grace', text('grace', v)); } }),
    proc({ name: 'config', short: 'c', value: 'string', arg: 'FILE', default: null, apply: null,
      help: 'read the services from a file: tend YAML or JSON (keys = flag names without dashes; a services: map for several), a Procfile, or a PM2 ecosystem file (see docs/configuration.md)' }),
    proc({ name: 'control', value: 'string', arg: 'PATH', default: null,
      help: 'the control socket (tend status, logs, reload, restart, scale, signal, stop); default: control.sock in tend\'s runtime directory, printed at start; mode 0600, owned by tend\'s user',
      apply: (d, v) => { d.control = parsePath('--control', text('control', v), 'socket'); } }),
    proc({ name: 'control-group', value: 'string', arg: 'GROUP', default: null,
      help: 'let members of GROUP (name or gid) make read-only control requests (status, logs): the socket becomes 0660 with that group; changes stay with tend\'s user and root',
      apply: (d, v) => { d.controlGroup = text('control-group', v); } }),
    proc({ name: 'event-log', value: 'string', arg: 'PATH', default: null,
      help: "append tend's typed event stream to PATH as JSON lines",
      apply: (d, v) => { d.eventLog = parsePath('--event-log', text('event-log', v), 'file'); } }),
    proc({ name: 'log-prefix', value: 'string', arg: 'none|name|slot', default: 'none for a single command; slot (web.1 |) for pools and services',
      help: 'label each line a worker writes with its service (name) or service and slot; coloured only on a terminal',
      apply: (d, v) => { d.logPrefix = parseLogPrefix(text('log-prefix', v)); } }),
    proc({ name: 'log-format', value: 'string', arg: 'text|json', default: 'text',
      help: "json: tend's lines and workers' lines as JSON objects (a worker's JSON line gets service, slot and pid added)",
      apply: (d, v) => { d.logFormat = parseLogFormat(text('log-format', v)); } }),
    proc({ name: 'log-max-line', value: 'string', arg: 'SIZE', default: '64K',
      help: 'cut a longer worker line into pieces marked [tend:cut] / [tend:cont], so one event stays one event',
      apply: (d, v) => { d.logMaxLine = parseLogMaxLine(text('log-max-line', v)); } }),
    proc({ name: 'no-subreaper', value: 'boolean', arg: '', default: 'subreaper on',
      help: 'when not PID 1, do not register as child subreaper (orphans then go to init)',
      apply: (d, v) => { d.subreaper = v !== true; } }),
    proc({ name: 'verbose', short: 'v', value: 'boolean', arg: '', default: 'off',
      help: 'log every action to stderr, prefixed "tend:"', apply: (d, v) => { d.verbose = v === true; } }),
    proc({ name: 'help', short: 'h', value: 'boolean', arg: '', default: null, apply: null, help: 'this text' }),
  ];
}

let table: readonly Flag[] | undefined;
let byName: ReadonlyMap<string, Flag> | undefined;

/** Every `tend run` setting, in help order within each section. */
export function flagTable(): readonly Flag[] {
  table ??= [...serviceRows(), ...restartAndGuardRows(), ...processRows()];
  return table;
}

/** A row of the table by its long name. */
export function flagByName(name: string): Flag | undefined {
  byName ??= new Map(flagTable().map((f) => [f.name, f]));
  return byName.get(name);
}

/** Process keys that only mean something on the command line (not in a file). */
export const CLI_ONLY: ReadonlySet<string> = new Set(['config', 'help']);

/** The argv options of `tend run` (cli/argv.ts's shape), derived from the table; null prototype, so `--constructor` finds nothing. */
export function argvOptions(): Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }> {
  const options = Object.create(null) as Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }>;
  for (const flag of flagTable()) {
    if (!flag.cli) continue;
    const option: { type: 'string' | 'boolean'; short?: string; multiple?: boolean } = { type: flag.value === 'boolean' ? 'boolean' : 'string' };
    if (flag.short !== undefined) option.short = flag.short;
    if (flag.multiple) option.multiple = true;
    options[flag.name] = option;
  }
  return options;
}

/** A switch named no-X may be written X: false in a file (subreaper: false, preload: false). */
export function negatedKey(flag: Flag): string | null {
  return flag.value === 'boolean' && flag.name.startsWith('no-') ? flag.name.slice(3) : null;
}
