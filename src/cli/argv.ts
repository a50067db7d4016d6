// tend's own strict option parser: the part of util.parseArgs that tend uses, with typed errors. util.parseArgs
// loads node:internal/util/parse_args, about 130 kB of node's pages on every start; this is a few kB of our own.
// Pure: no I/O. Semantics follow parseArgs (strict), checked by test/unit/cli/argv.test.ts against it.

/** One option: a switch, or an option that takes a value; `multiple` collects every use in order. */
export interface ArgvOption {
  readonly type: 'string' | 'boolean';
  readonly short?: string;
  readonly multiple?: boolean;
}

/** The options by long name (without dashes). */
export type ArgvOptions = Readonly<Record<string, ArgvOption>>;

/** A switch is true; an option with a value is its text; a `multiple` option is the list. */
export type ArgvValue = string | boolean | (string | boolean)[];

/**
 * What went wrong, with the flag as written (`--stop`, `-n`; for `positional`, the word):
 * `unknown` option, a string option with no word after it (`needs-value`), a switch given `=value`
 * (`no-value-allowed`), a string option followed by a word that looks like an option (`ambiguous`: write
 * `--name=-x` or `-n-x`), or a word that is not an option where none is allowed (`positional`).
 */
export interface ArgvError {
  readonly kind: 'unknown' | 'needs-value' | 'no-value-allowed' | 'ambiguous' | 'positional';
  readonly flag: string;
  /** The value given to a switch, or the word after an ambiguous option; null otherwise. */
  readonly value: string | null;
}

/** The parsed argv: values on a null-prototype object (so `--constructor` reaches nothing), or the first error. */
export type ArgvResult =
  | { readonly ok: true; readonly values: Record<string, ArgvValue>; readonly positionals: readonly string[] }
  | { readonly ok: false; readonly error: ArgvError };

/** One use of an option: its long name, how it was written, its value and whether it came with it (`=`, `-nVALUE`). */
interface Token {
  readonly name: string;
  readonly raw: string;
  readonly value: string | undefined;
  readonly inline: boolean;
}

// Parse argv against options, as util.parseArgs({ args, options, strict: true, allowPositionals }) does.
export function parseArgv(args: readonly string[], options: ArgvOptions, allowPositionals: boolean): ArgvResult {
  const shorts = new Map<string, string>();
  for (const [name, option] of Object.entries(options)) {
    if (option.short !== undefined && !shorts.has(option.short)) shorts.set(option.short, name);
  }
  const values = Object.create(null) as Record<string, ArgvValue>;
  const positionals: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    const words = arg === '--' ? args.slice(i + 1) : arg.length < 2 || !arg.startsWith('-') ? [arg] : null;
    if (words !== null) {
      const first = words[0];
      if (!allowPositionals && first !== undefined) return { ok: false, error: { kind: 'positional', flag: first, value: null } };
      positionals.push(...words);
      if (arg === '--') break;
      continue;
    }
    const next = args[i + 1];
    const tokens = arg.startsWith('--') ? longToken(arg, next, options) : shortTokens(arg, next, options, shorts);
    for (const token of tokens) {
      if (token.value !== undefined && !token.inline) i++;
      const error = store(token, options, values);
      if (error !== null) return { ok: false, error };
    }
  }
  return { ok: true, values, positionals };
}

function typeOf(options: ArgvOptions, name: string): ArgvOption['type'] | undefined {
  return Object.hasOwn(options, name) ? options[name]?.type : undefined;
}

// `--name=value`, or `--name` taking the next word when name is a string option.
function longToken(arg: string, next: string | undefined, options: ArgvOptions): Token[] {
  const equals = arg.indexOf('=', 3);
  if (equals !== -1) return [{ name: arg.slice(2, equals), raw: arg.slice(0, equals), value: arg.slice(equals + 1), inline: true }];
  const name = arg.slice(2);
  const value = typeOf(options, name) === 'string' ? next : undefined;
  return [{ name, raw: arg, value, inline: false }];
}

// `-x`, `-x value`, `-xVALUE` and groups `-abc` (a string option inside a group takes the rest, or the next word if last).
function shortTokens(arg: string, next: string | undefined, options: ArgvOptions, shorts: ReadonlyMap<string, string>): Token[] {
  const tokens: Token[] = [];
  for (let at = 1; at < arg.length; at++) {
    const char = arg.charAt(at);
    const name = shorts.get(char) ?? char;
    // parseArgs reads "-v-" as "-v --"; here a dash inside a group is an unknown option, named by the whole word.
    const raw = char === '-' ? arg : `-${char}`;
    if (char === '-' || typeOf(options, name) !== 'string') {
      tokens.push({ name: char === '-' ? '' : name, raw, value: undefined, inline: false });
      continue;
    }
    const last = at === arg.length - 1;
    tokens.push({ name, raw, value: last ? next : arg.slice(at + 1), inline: !last });
    break;
  }
  return tokens;
}

function store(token: Token, options: ArgvOptions, values: Record<string, ArgvValue>): ArgvError | null {
  const option = Object.hasOwn(options, token.name) ? options[token.name] : undefined;
  if (option === undefined || token.name === '') return { kind: 'unknown', flag: token.raw, value: null };
  if (option.type === 'boolean' && token.value !== undefined) return { kind: 'no-value-allowed', flag: token.raw, value: token.value };
  if (option.type === 'string' && token.value === undefined) return { kind: 'needs-value', flag: token.raw, value: null };
  if (!token.inline && token.value !== undefined && token.value.length > 1 && token.value.startsWith('-')) {
    return { kind: 'ambiguous', flag: token.raw, value: token.value };
  }
  const value = token.value ?? true;
  const list = values[token.name];
  if (option.multiple !== true) values[token.name] = value;
  else if (Array.isArray(list)) list.push(value);
  else values[token.name] = [value];
  return null;
}

// The middle of tend's one-line usage message for an argv error (the caller adds the command and the help hint).
export function argvErrorText(error: ArgvError): string {
  const { flag, value } = error;
  switch (error.kind) {
    case 'unknown':
      return `unknown option ${flag}`;
    case 'needs-value':
      return `${flag} needs a value`;
    case 'ambiguous': {
      const written = flag.startsWith('--') ? `${flag}=-VALUE` : `${flag}-VALUE`;
      return `${flag} needs a value; ${JSON.stringify(value)} looks like an option (write ${written} for a value that starts with -)`;
    }
    case 'no-value-allowed':
      return `${flag} takes no value, got ${JSON.stringify(value)}; write ${flag} alone`;
    case 'positional':
      return `unexpected argument ${JSON.stringify(flag)}`;
  }
}
