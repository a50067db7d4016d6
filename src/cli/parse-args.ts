// argv (and an optional config file) → a typed command. The options come from the flag table (config/flags.ts).
// Every error names the flag or key, echoes the bad value and says how to fix it (exit 64; 78 for a config file that
// cannot be read or parsed).
import { loadConfigFile, type RawOptions } from '../config/config-file.js';
import { enableCompileCache } from './compile-cache.js';
import { argvOptions, flagByName } from '../config/flags.js';
import type { TendSpec } from '../config/spec.js';
import { buildTendSpec } from '../config/tend-spec.js';
import { TendError } from '../errors.js';
import { argvErrorText, parseArgv, type ArgvError } from './argv.js';
import { CONTROL_COMMANDS, parseControlCommand, type ControlCommand, type ControlCommandName } from './parse-control.js';
import { CONTROL_USAGE, MAIN_USAGE, runUsage } from './usage.js';

/** What the command line asks for. */
export type CliCommand =
  | { readonly kind: 'help'; readonly text: string }
  | { readonly kind: 'version' }
  | { readonly kind: 'run'; readonly spec: TendSpec; readonly warnings: readonly string[] }
  | { readonly kind: 'control'; readonly command: ControlCommand; readonly socket: string | null };

let options: ReturnType<typeof argvOptions> | undefined;

/** The options of `tend run` for our argv parser (argv.ts), derived from the flag table on first use. */
export function runOptions(): ReturnType<typeof argvOptions> {
  options ??= argvOptions();
  return options;
}

// The spec of `tend run -- CMD` with no option, as JSON, its command the placeholder: scripts/bundle.js works it out
// with plainRunJson() at build time and puts it in the bundle, which starts a run with no options from it instead of
// building the flag table and the spec (~0.5 ms of a start: the container entrypoint `tend run --` is this). The
// unbundled build has none, and parses.
declare const TEND_PLAIN_RUN: string | undefined;
const PLAIN_RUN: string | null = typeof TEND_PLAIN_RUN === 'string' ? TEND_PLAIN_RUN : null;

/** The placeholder command plainRunJson() parses. */
export const PLAIN_RUN_COMMAND = '\u0000tend-command\u0000';

/** The spec `tend run -- CMD` gives, as JSON: for the build (scripts/bundle.js), which checks that it reads back
 * exactly, and for the test that compares a spec made from it with the parser's. */
export function plainRunJson(): string {
  const command = parseCli(['run', '--', PLAIN_RUN_COMMAND]);
  if (command.kind !== 'run' || command.warnings.length > 0) throw new Error('tend run -- CMD does not parse to a plain run');
  // The one Map of a spec travels as its entries (the build fails on any other value JSON does not keep).
  return JSON.stringify(command.spec, (key, value: unknown) => (key === 'remapExit' && value instanceof Map ? [...value] : value));
}

/** `tend run -- <command>` from plainRunJson()'s text: its one service gets the command. */
export function plainRunSpec(json: string, command: readonly string[]): TendSpec {
  const spec = JSON.parse(json) as TendSpec;
  const [only] = spec.services;
  if (only === undefined || spec.services.length !== 1) throw new Error('not a plain run spec');
  const remapExit = new Map(only.remapExit); // its entries, as plainRunJson wrote them
  return { ...spec, services: [{ ...only, command, remapExit }] };
}

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
  // No option and a command (an empty first word is an error the parser reports): the spec the bundle holds.
  if (PLAIN_RUN !== null && split.options.length === 0 && split.command.length > 0 && split.command[0] !== '') {
    return { kind: 'run', spec: plainRunSpec(PLAIN_RUN, split.command), warnings: [] };
  }
  const parsed = parseArgv(split.options, runOptions(), false);
  if (!parsed.ok) throw argvUsageError(parsed.error);
  const cli = parsed.values as RawOptions;
  if (cli['help'] === true) return { kind: 'help', text: runUsage() };
  const configPath = cli['config'];
  // A config file loads zod and yaml through require: Node's compile cache (22.8+) keeps their compiled code.
  if (typeof configPath === 'string') enableCompileCache();
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
    return runOptions()[arg.slice(2)]?.type === 'string';
  }
  const short = Object.values(runOptions()).find((o) => o.short === arg.slice(1, 2));
  return short?.type === 'string' && arg.length === 2;
}

function argvUsageError(error: ArgvError): TendError {
  const hint = error.kind === 'unknown' ? configKeyHint(error.flag) : '';
  const after = error.kind === 'unknown' || error.kind === 'positional' ? ' (put the command after --)' : '';
  return new TendError('TEND_ERR_USAGE', `tend run: ${argvErrorText(error)}${hint}; see tend run --help${after}`);
}

function configKeyHint(flag: string): string {
  const name = flag.replace(/^-+/, '');
  return flagByName(name)?.cli === false ? ` (${name} is a config-file key, not a flag)` : '';
}
