// argv (and an optional config file) → a typed command. The options come from the flag table (config/flags.ts).
// Every error names the flag or key, echoes the bad value and says how to fix it (exit 64; 78 for a config file that
// cannot be read or parsed).
import { loadConfigFile, type RawOptions } from '../config/config-file.js';
import { enableCompileCache } from './compile-cache.js';
import { FLAG_BY_NAME, argvOptions } from '../config/flags.js';
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

/** The options of `tend run` for our argv parser (argv.ts), derived from the flag table. */
export const RUN_OPTIONS = argvOptions();

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
  const parsed = parseArgv(split.options, RUN_OPTIONS, false);
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
    return RUN_OPTIONS[arg.slice(2)]?.type === 'string';
  }
  const short = Object.values(RUN_OPTIONS).find((o) => o.short === arg.slice(1, 2));
  return short?.type === 'string' && arg.length === 2;
}

function argvUsageError(error: ArgvError): TendError {
  const hint = error.kind === 'unknown' ? configKeyHint(error.flag) : '';
  const after = error.kind === 'unknown' || error.kind === 'positional' ? ' (put the command after --)' : '';
  return new TendError('TEND_ERR_USAGE', `tend run: ${argvErrorText(error)}${hint}; see tend run --help${after}`);
}

function configKeyHint(flag: string): string {
  const name = flag.replace(/^-+/, '');
  return FLAG_BY_NAME.get(name)?.cli === false ? ` (${name} is a config-file key, not a flag)` : '';
}
