// argv → a typed command. Every error names the flag and the bad value and says how to fix it (exit code 64).
import { parseArgs } from 'node:util';
import { splitCommandLine } from '../config/command-line.js';
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
import { MAIN_USAGE, RUN_USAGE } from './usage.js';

/** What the command line asks for. */
export type CliCommand =
  | { readonly kind: 'help'; readonly text: string }
  | { readonly kind: 'version' }
  | { readonly kind: 'run'; readonly config: RunConfig };

const RUN_OPTIONS = {
  stop: { type: 'string' },
  'signal-scope': { type: 'string' },
  'no-subreaper': { type: 'boolean' },
  'remap-exit': { type: 'string', multiple: true },
  before: { type: 'string', multiple: true },
  limit: { type: 'string', multiple: true },
  user: { type: 'string', short: 'u' },
  verbose: { type: 'boolean', short: 'v' },
  help: { type: 'boolean', short: 'h' },
} as const;

// Parse tend's argv (without the node and script entries).
export function parseCli(argv: readonly string[]): CliCommand {
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
      return parseRun(rest);
    default:
      throw new TendError('TEND_ERR_USAGE', `unknown subcommand ${JSON.stringify(first)}; write: tend run [options] -- <command> (see tend --help)`);
  }
}

function parseRun(args: readonly string[]): CliCommand {
  const split = splitAtCommand(args);
  let values: ReturnType<typeof parseRunOptions>;
  try {
    values = parseRunOptions(split.options);
  } catch (error) {
    throw rewordParseError(error);
  }
  if (values.help === true) return { kind: 'help', text: RUN_USAGE };
  if (split.command.length === 0) {
    throw new TendError('TEND_ERR_USAGE', 'tend run: no command given; write: tend run [options] -- <command> [args...]');
  }
  const before = (values.before ?? []).map((line) => {
    const result = splitCommandLine(line);
    if ('problem' in result) throw usageError('--before', line, result.problem, result.fix);
    return result.argv;
  });
  const config: RunConfig = {
    command: split.command,
    before,
    signalScope: values['signal-scope'] === undefined ? 'group' : parseSignalScope(values['signal-scope']),
    subreaper: values['no-subreaper'] !== true,
    remapExit: new Map((values['remap-exit'] ?? []).map(parseRemap)),
    stop: values.stop === undefined ? DEFAULT_STOP : parseStopSpec(values.stop),
    limits: dedupeLimits((values.limit ?? []).map(parseLimit)),
    user: values.user === undefined ? null : parseUserSpec(values.user),
    verbose: values.verbose === true,
  };
  return { kind: 'run', config };
}

function parseRunOptions(options: string[]) {
  return parseArgs({ args: options, options: RUN_OPTIONS, strict: true, allowPositionals: false }).values;
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

function rewordParseError(error: unknown): TendError {
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: string }).code;
  const flag = /'(-[^' ]+)/.exec(message)?.[1] ?? '';
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    return new TendError('TEND_ERR_USAGE', `tend run: unknown option ${flag}; see tend run --help (put the command after --)`);
  }
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    return new TendError('TEND_ERR_USAGE', `tend run: ${flag} needs a value; see tend run --help`);
  }
  return new TendError('TEND_ERR_USAGE', `tend run: ${message}`);
}
