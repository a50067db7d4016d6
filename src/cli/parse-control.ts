// argv of the operator's commands (status, reload, restart, scale, signal, stop, logs) → one control request and how
// to show its answer. Every error names the argument and says how to fix it (exit 64).
import { parseServiceName } from '../config/flags.js';
import { parsePath } from '../config/pool-config.js';
import { parseSignal } from '../config/signal-names.js';
import { TendError } from '../errors.js';
import { argvErrorText, parseArgv, type ArgvOptions, type ArgvValue } from './argv.js';

/** The commands that talk to a running tend. */
export const CONTROL_COMMANDS = ['status', 'reload', 'restart', 'scale', 'signal', 'stop', 'logs'] as const;
export type ControlCommandName = (typeof CONTROL_COMMANDS)[number];

/** One parsed operator command. */
export type ControlCommand =
  | { readonly name: 'status'; readonly service: string | null; readonly json: boolean | null; readonly verbose: boolean; readonly check: boolean }
  | { readonly name: 'reload' | 'restart'; readonly service: string | null }
  | { readonly name: 'scale'; readonly service: string | null; readonly workers: number | null; readonly delta: number | null }
  | { readonly name: 'signal'; readonly service: string | null; readonly signal: string; readonly slot: number | null; readonly force: boolean }
  | { readonly name: 'stop' }
  | { readonly name: 'logs'; readonly service: string | null; readonly slot: number | null; readonly lines: number; readonly follow: boolean };

/** A parsed operator command and where to send it (null: find the one running tend). */
export interface ControlInvocation {
  readonly command: ControlCommand;
  readonly socket: string | null;
  readonly help: boolean;
}

const OPTIONS: ArgvOptions = {
  control: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  json: { type: 'boolean' },
  verbose: { type: 'boolean', short: 'v' },
  check: { type: 'boolean' },
  slot: { type: 'string' },
  force: { type: 'boolean' },
  lines: { type: 'string', short: 'n' },
  follow: { type: 'boolean', short: 'f' },
};

const ALLOWED: Readonly<Record<ControlCommandName, readonly string[]>> = {
  status: ['json', 'verbose', 'check'],
  reload: [],
  restart: [],
  scale: [],
  signal: ['slot', 'force'],
  stop: [],
  logs: ['slot', 'lines', 'follow'],
};

// Parse `tend NAME args...`.
export function parseControlCommand(name: ControlCommandName, args: readonly string[]): ControlInvocation {
  // "-2" is a count for scale, not an option.
  const counts = name === 'scale' ? args.filter((a) => /^[+-]\d+$/.test(a)) : [];
  const rest = args.filter((a) => !counts.includes(a));
  const parsed = parseArgv(rest, OPTIONS, true);
  if (!parsed.ok) throw new TendError('TEND_ERR_USAGE', `tend ${name}: ${argvErrorText(parsed.error)}; see tend ${name} --help`);
  const { values, positionals: words } = parsed;
  for (const key of Object.keys(values)) {
    if (key !== 'control' && key !== 'help' && !ALLOWED[name].includes(key)) {
      throw new TendError('TEND_ERR_USAGE', `tend ${name}: --${key} does not apply to ${name}; see tend ${name} --help`);
    }
  }
  const envSocket = process.env['TEND_CONTROL'];
  const control = values['control'];
  const given = typeof control === 'string' ? control : (envSocket === undefined || envSocket === '' ? null : envSocket);
  const socket = given === null ? null : parsePath('--control', given, 'socket');
  const help = values['help'] === true;
  const positionals = [...words, ...counts];
  if (help) return { command: { name: 'stop' }, socket, help };
  return { command: build(name, positionals, values), socket, help };
}

function build(name: ControlCommandName, positionals: readonly string[], values: Readonly<Record<string, ArgvValue>>): ControlCommand {
  const slot = typeof values['slot'] === 'string' ? whole(name, '--slot', values['slot'], 0) : null;
  switch (name) {
    case 'status':
      return { name, service: service(name, positionals, 1), json: values['json'] === true ? true : null, verbose: values['verbose'] === true, check: values['check'] === true };
    case 'reload':
    case 'restart':
      return { name, service: service(name, positionals, 1) };
    case 'stop':
      if (positionals.length > 0) throw new TendError('TEND_ERR_USAGE', `tend stop: takes no arguments, got ${positionals.join(' ')}; it stops the whole tend`);
      return { name };
    case 'logs': {
      const lines = typeof values['lines'] === 'string' ? whole(name, '-n', values['lines'], 0) : 20;
      return { name, service: service(name, positionals, 1), slot, lines, follow: values['follow'] === true };
    }
    case 'scale':
      return scale(positionals);
    case 'signal': {
      const last = positionals[positionals.length - 1];
      if (last === undefined || positionals.length > 2) throw new TendError('TEND_ERR_USAGE', 'tend signal: write tend signal [SERVICE] SIGNAL [--slot K] [--force], e.g. tend signal web HUP');
      if (parseSignal(last) === null) throw new TendError('TEND_ERR_USAGE', `tend signal: unknown signal ${JSON.stringify(last)}; write a name such as HUP, USR2 or RTMIN+1`);
      return { name, service: service(name, positionals.slice(0, -1), 1), signal: last, slot, force: values['force'] === true };
    }
  }
}

function scale(positionals: readonly string[]): ControlCommand {
  const count = positionals[positionals.length - 1];
  if (count === undefined || positionals.length > 2) throw new TendError('TEND_ERR_USAGE', 'tend scale: write tend scale [SERVICE] N|+N|-N, e.g. tend scale web 4 or tend scale +2');
  const match = /^([+-]?)(\d{1,6})$/.exec(count);
  if (match === null) throw new TendError('TEND_ERR_USAGE', `tend scale: ${JSON.stringify(count)} is not a count; write N, +N or -N, e.g. 4 or +2`);
  const n = Number(match[2]);
  const delta = match[1] === '' ? null : (match[1] === '-' ? -n : n);
  return { name: 'scale', service: service('scale', positionals.slice(0, -1), 1), workers: delta === null ? n : null, delta };
}

function service(name: string, positionals: readonly string[], max: number): string | null {
  if (positionals.length > max) throw new TendError('TEND_ERR_USAGE', `tend ${name}: one SERVICE at most, got ${positionals.map((p) => JSON.stringify(p)).join(' ')}; see tend ${name} --help`);
  const first = positionals[0];
  return first === undefined ? null : parseServiceName(first, `tend ${name} SERVICE`);
}

function whole(name: string, flag: string, text: string, min: number): number {
  if (!/^\d{1,6}$/.test(text) || Number(text) < min) throw new TendError('TEND_ERR_USAGE', `tend ${name}: ${flag} ${JSON.stringify(text)} is not a whole number; write e.g. ${flag} 2`);
  return Number(text);
}
