// argv (and an optional config file) → a typed command. Every error names the flag or key, echoes the bad value and
// says how to fix it (exit code 64, or 78 for a config file that cannot be read).
import { parseArgs } from 'node:util';
import { splitCommandLine } from '../config/command-line.js';
import { loadConfigFile, type RawOptions } from '../config/config-file.js';
import {
  DEFAULT_GUARDS,
  DEFAULT_READY_TIMEOUT_MS,
  DEFAULT_RESTART,
  parseCount,
  parseDurationFlag,
  parseListen,
  parsePercent,
  parseReady,
  parseSize,
  parseWorkers,
  type PoolConfig,
} from '../config/pool-config.js';
import {
  DEFAULT_STOP,
  parseLimit,
  parseRemap,
  parseSignalScope,
  parseStopSpec,
  parseUserSpec,
  type RunConfig,
} from '../config/run-config.js';
import { TendError, usageError } from '../errors.js';
import { CONTROL_USAGE, MAIN_USAGE, RUN_USAGE } from './usage.js';

/** What the command line asks for. */
export type CliCommand =
  | { readonly kind: 'help'; readonly text: string }
  | { readonly kind: 'version' }
  | { readonly kind: 'run'; readonly config: RunConfig; readonly pool: PoolConfig | null }
  | { readonly kind: 'control'; readonly request: 'reload' | 'status'; readonly socket: string };

/** Every `tend run` option; a config file may set each of them under the same name (without the dashes). */
export const RUN_OPTIONS = {
  config: { type: 'string', short: 'c' },
  stop: { type: 'string' },
  'signal-scope': { type: 'string' },
  'no-subreaper': { type: 'boolean' },
  'remap-exit': { type: 'string', multiple: true },
  before: { type: 'string', multiple: true },
  limit: { type: 'string', multiple: true },
  user: { type: 'string', short: 'u' },
  verbose: { type: 'boolean', short: 'v' },
  help: { type: 'boolean', short: 'h' },
  workers: { type: 'string', short: 'w' },
  listen: { type: 'string', multiple: true },
  'socket-strategy': { type: 'string' },
  ready: { type: 'string' },
  'ready-timeout': { type: 'string' },
  'restart-delay': { type: 'string' },
  'restart-max-delay': { type: 'string' },
  'stable-after': { type: 'string' },
  'max-restarts': { type: 'string' },
  'on-crash-loop': { type: 'string' },
  'reload-surge': { type: 'string' },
  'max-memory': { type: 'string' },
  'max-cpu': { type: 'string' },
  'guard-window': { type: 'string' },
  'no-preload': { type: 'boolean' },
  control: { type: 'string' },
  watchdog: { type: 'string' },
  'event-log': { type: 'string' },
} as const;

/** Options that only make sense with --workers. */
const POOL_ONLY = ['listen', 'socket-strategy', 'ready', 'ready-timeout', 'restart-delay', 'restart-max-delay', 'stable-after',
  'max-restarts', 'on-crash-loop', 'reload-surge', 'max-memory', 'max-cpu', 'guard-window', 'no-preload', 'control', 'watchdog'] as const;

// Parse tend's argv (without the node and script entries).
export function parseCli(argv: readonly string[], readFile?: (path: string) => string): CliCommand {
  const [first, ...rest] = argv;
  switch (first) {
    case undefined:
      throw new TendError('TEND_ERR_USAGE', 'no subcommand; write: tend run [options] -- <command> [args...] (see tend --help)');
    case '-h':
    case '--help':
    case 'help':
      return { kind: 'help', text: MAIN_USAGE };
    case '-V':
    case '--version':
    case 'version':
      return { kind: 'version' };
    case 'run':
      return parseRun(rest, readFile);
    case 'reload':
    case 'status':
      return parseControl(first, rest);
    default:
      throw new TendError('TEND_ERR_USAGE', `unknown subcommand ${JSON.stringify(first)}; use run, reload or status (see tend --help)`);
  }
}

function parseControl(request: 'reload' | 'status', args: readonly string[]): CliCommand {
  let values;
  try {
    values = parseArgs({ args: [...args], options: { control: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: false }).values;
  } catch (error) {
    throw rewordParseError(`tend ${request}`, error);
  }
  if (values.help === true) return { kind: 'help', text: CONTROL_USAGE };
  const socket = values.control ?? process.env['TEND_CONTROL'];
  if (socket === undefined || socket === '') {
    throw new TendError('TEND_ERR_USAGE', `tend ${request}: no control socket; pass --control PATH (the same PATH given to tend run --control) or set TEND_CONTROL`);
  }
  return { kind: 'control', request, socket };
}

function parseRun(args: readonly string[], readFile?: (path: string) => string): CliCommand {
  const split = splitAtCommand(args);
  let cli: RawOptions;
  try {
    cli = parseArgs({ args: split.options, options: RUN_OPTIONS, strict: true, allowPositionals: false }).values;
  } catch (error) {
    throw rewordParseError('tend run', error);
  }
  if (cli['help'] === true) return { kind: 'help', text: RUN_USAGE };
  const configPath = cli['config'];
  const file = typeof configPath === 'string' ? loadConfigFile(configPath, readFile) : null;
  // Command-line flags win over the file, key by key.
  const raw: RawOptions = { ...(file?.options ?? {}), ...cli };
  const origin = (key: string): string | null => (key in cli || file === null || !(key in file.options) ? null : file.path);
  const command = split.command.length > 0 ? split.command : (file?.command ?? []);
  if (command.length === 0) {
    throw new TendError('TEND_ERR_USAGE', 'tend run: no command given; write: tend run [options] -- <command> [args...] (or "command:" in the config file)');
  }
  return inContext(origin, () => buildRun(raw, command));
}

// Run a builder and, when the bad value came from the config file, say so in the error.
function inContext<T>(origin: (key: string) => string | null, build: () => T): T {
  try {
    return build();
  } catch (error) {
    if (!(error instanceof TendError) || error.code !== 'TEND_ERR_USAGE') throw error;
    const flag = /^--([\w-]+)/.exec(error.message)?.[1];
    const path = flag === undefined ? null : origin(flag);
    if (path === null || flag === undefined) throw error;
    throw new TendError('TEND_ERR_USAGE', `${path}: key "${flag}": ${error.message}`, { cause: error });
  }
}

function str(raw: RawOptions, key: keyof typeof RUN_OPTIONS): string | undefined {
  const value = raw[key];
  return typeof value === 'string' ? value : undefined;
}

function list(raw: RawOptions, key: keyof typeof RUN_OPTIONS): string[] {
  const value = raw[key];
  return Array.isArray(value) ? value : typeof value === 'string' ? [value] : [];
}

function buildRun(raw: RawOptions, command: readonly string[]): CliCommand {
  const before = list(raw, 'before').map((line) => {
    const result = splitCommandLine(line);
    if ('problem' in result) throw usageError('--before', line, result.problem, result.fix);
    return result.argv;
  });
  const scope = str(raw, 'signal-scope');
  const stop = str(raw, 'stop');
  const user = str(raw, 'user');
  const config: RunConfig = {
    command,
    before,
    signalScope: scope === undefined ? 'group' : parseSignalScope(scope),
    subreaper: raw['no-subreaper'] !== true,
    remapExit: new Map(list(raw, 'remap-exit').map(parseRemap)),
    stop: stop === undefined ? DEFAULT_STOP : parseStopSpec(stop),
    limits: dedupeLimits(list(raw, 'limit').map(parseLimit)),
    user: user === undefined ? null : parseUserSpec(user),
    verbose: raw['verbose'] === true,
    eventLog: str(raw, 'event-log') ?? null,
  };
  const workers = str(raw, 'workers');
  if (workers === undefined) {
    const stray = POOL_ONLY.find((key) => raw[key] !== undefined);
    if (stray !== undefined) throw usageError(`--${stray}`, undefined, 'only applies to a worker pool', 'add --workers N (or remove it)');
    return { kind: 'run', config, pool: null };
  }
  return { kind: 'run', config, pool: buildPool(raw, parseWorkers(workers)) };
}

function buildPool(raw: RawOptions, workers: number): PoolConfig {
  const duration = (key: keyof typeof RUN_OPTIONS, fallback: number): number => {
    const value = str(raw, key);
    return value === undefined ? fallback : parseDurationFlag(`--${key}`, value);
  };
  const ready = str(raw, 'ready');
  const strategy = str(raw, 'socket-strategy') ?? 'shared';
  if (strategy !== 'shared' && strategy !== 'reuseport') {
    throw usageError('--socket-strategy', strategy, 'unknown strategy', 'use "shared" (one socket for all workers, the default) or "reuseport" (one SO_REUSEPORT socket per worker)');
  }
  const onCrashLoop = str(raw, 'on-crash-loop') ?? DEFAULT_RESTART.onCrashLoop;
  if (onCrashLoop !== 'exit' && onCrashLoop !== 'retry') {
    throw usageError('--on-crash-loop', onCrashLoop, 'unknown policy', 'use "exit" (stop and exit 75 so the orchestrator notices, the default) or "retry" (keep trying at the maximum delay)');
  }
  const maxRestarts = str(raw, 'max-restarts');
  const surge = str(raw, 'reload-surge');
  const memory = str(raw, 'max-memory');
  const cpu = str(raw, 'max-cpu');
  const watchdog = str(raw, 'watchdog');
  const restart = {
    initialDelayMs: duration('restart-delay', DEFAULT_RESTART.initialDelayMs),
    maxDelayMs: duration('restart-max-delay', DEFAULT_RESTART.maxDelayMs),
    stableAfterMs: duration('stable-after', DEFAULT_RESTART.stableAfterMs),
    maxRestarts: maxRestarts === undefined ? DEFAULT_RESTART.maxRestarts : parseCount('--max-restarts', maxRestarts, 1, 1_000_000),
    onCrashLoop,
  } as const;
  if (restart.maxDelayMs < restart.initialDelayMs) {
    throw usageError('--restart-max-delay', str(raw, 'restart-max-delay'), 'is shorter than --restart-delay', 'make the cap at least the initial delay');
  }
  return {
    workers,
    listen: list(raw, 'listen').map(parseListen),
    socketStrategy: strategy,
    ready: ready === undefined ? { kind: 'auto' } : parseReady(ready),
    readyTimeoutMs: duration('ready-timeout', DEFAULT_READY_TIMEOUT_MS),
    restart,
    reloadSurge: surge === undefined ? 1 : parseCount('--reload-surge', surge, 1, workers),
    guards: {
      ...DEFAULT_GUARDS,
      maxRssBytes: memory === undefined ? null : parseSize('--max-memory', memory),
      maxCpuPercent: cpu === undefined ? null : parsePercent('--max-cpu', cpu),
      windowMs: duration('guard-window', DEFAULT_GUARDS.windowMs),
    },
    preload: raw['no-preload'] !== true,
    control: str(raw, 'control') ?? null,
    watchdogMs: watchdog === undefined ? null : parseDurationFlag('--watchdog', watchdog),
  };
}

// A later --limit for the same resource wins, as with repeated flags elsewhere.
function dedupeLimits<T extends { name: string }>(limits: T[]): T[] {
  const byName = new Map<string, T>();
  for (const limit of limits) byName.set(limit.name, limit);
  return [...byName.values()];
}

// Options end at "--" or at the first word that is not an option (so `tend run node app.js` works too).
function splitAtCommand(args: readonly string[]): { options: string[]; command: string[] } {
  const options: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    if (arg === '--') return { options, command: args.slice(i + 1) };
    if (!arg.startsWith('-') || arg === '-') return { options, command: args.slice(i) };
    options.push(arg);
    if (takesValue(arg) && i + 1 < args.length) options.push(args[++i] ?? '');
  }
  return { options, command: [] };
}

function takesValue(arg: string): boolean {
  if (arg.startsWith('--')) {
    if (arg.includes('=')) return false;
    const spec = (RUN_OPTIONS as Record<string, { type: string }>)[arg.slice(2)];
    return spec?.type === 'string';
  }
  const short = Object.values(RUN_OPTIONS).find((o) => 'short' in o && o.short === arg.slice(1, 2));
  return short?.type === 'string' && arg.length === 2;
}

function rewordParseError(command: string, error: unknown): TendError {
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: string }).code;
  const flag = /'(-[^' ]+)/.exec(message)?.[1] ?? '';
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    return new TendError('TEND_ERR_USAGE', `${command}: unknown option ${flag}; see ${command} --help (put the command after --)`);
  }
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    return new TendError('TEND_ERR_USAGE', `${command}: ${flag} needs a value; see ${command} --help`);
  }
  return new TendError('TEND_ERR_USAGE', `${command}: ${message}`);
}
