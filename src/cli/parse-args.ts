// argv (and an optional config file) → a typed command. The options come from the flag table (config/flags.ts).
// Every error names the flag or key, echoes the bad value and says how to fix it (exit 64; 78 for a config file that
// cannot be read or parsed).
import { parseArgs } from 'node:util';
import { loadConfigFile, type RawOptions } from '../config/config-file.js';
import { FLAG_BY_NAME, parseArgsOptions } from '../config/flags.js';
import type { TendSpec } from '../config/spec.js';
import { buildTendSpec } from '../config/tend-spec.js';
import { TendError } from '../errors.js';
import { CONTROL_COMMANDS, parseControlCommand, type ControlCommand, type ControlCommandName } from './parse-control.js';
import { CONTROL_USAGE, MAIN_USAGE, runUsage } from './usage.js';

/** What the command line asks for. */
export type CliCommand =
  | { readonly kind: 'help'; readonly text: string }
  | { readonly kind: 'version' }
  | { readonly kind: 'run'; readonly spec: TendSpec; readonly warnings: readonly string[] }
  | { readonly kind: 'control'; readonly command: ControlCommand; readonly socket: string | null };

/** The node:util parseArgs options of `tend run`, derived from the flag table. */
export const RUN_OPTIONS = parseArgsOptions();

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
    default: {
      if ((CONTROL_COMMANDS as readonly string[]).includes(first)) {
        const parsed = parseControlCommand(first as ControlCommandName, rest);
        if (parsed.help) return { kind: 'help', text: CONTROL_USAGE };
        return { kind: 'control', command: parsed.command, socket: parsed.socket };
      }
      throw new TendError('TEND_ERR_USAGE', `unknown subcommand ${JSON.stringify(first)}; use run, ${CONTROL_COMMANDS.join(', ')} (see tend --help)`);
    }
  }
}

function parseRun(args: readonly string[], readFile?: (path: string) => string): CliCommand {
  const split = splitAtCommand(args);
  let cli: RawOptions;
  try {
    cli = parseArgs({ args: split.options, options: RUN_OPTIONS, strict: true, allowPositionals: false }).values as RawOptions;
  } catch (error) {
    throw rewordParseError('tend run', error);
  }
  if (cli['help'] === true) return { kind: 'help', text: runUsage() };
  const configPath = cli['config'];
  const file = typeof configPath === 'string' ? loadConfigFile(configPath, readFile) : null;
  const { spec, warnings } = buildTendSpec(cli, split.command, file);
  return { kind: 'run', spec, warnings };
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
    return RUN_OPTIONS[arg.slice(2)]?.type === 'string';
  }
  const short = Object.values(RUN_OPTIONS).find((o) => o.short === arg.slice(1, 2));
  return short?.type === 'string' && arg.length === 2;
}

function rewordParseError(command: string, error: unknown): TendError {
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: string }).code;
  const flag = /'(-[^' ]+)/.exec(message)?.[1] ?? '';
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const name = flag.replace(/^-+/, '');
    const hint = FLAG_BY_NAME.get(name)?.cli === false ? ` (${name} is a config-file key, not a flag)` : '';
    return new TendError('TEND_ERR_USAGE', `${command}: unknown option ${flag}${hint}; see ${command} --help (put the command after --)`);
  }
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    return new TendError('TEND_ERR_USAGE', `${command}: ${flag} needs a value; see ${command} --help`);
  }
  return new TendError('TEND_ERR_USAGE', `${command}: ${message.split('\n')[0] ?? ''}`);
}
