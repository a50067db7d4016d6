// The config file (YAML or JSON): the same settings as the flags, under the same names without the dashes, plus
// `command`. Validated with zod; errors name the file, the key, the value and the fix.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { TendError } from '../errors.js';
import { splitCommandLine } from './command-line.js';

/** Flag values as parsed from argv or read from a file, keyed by flag name. */
export type RawOptions = Record<string, string | string[] | boolean | undefined>;

/** A loaded config file. */
export interface LoadedConfig {
  readonly path: string;
  readonly options: RawOptions;
  readonly command: readonly string[] | null;
}

// zod and yaml are about 16 MiB of heap and 70 ms of start-up: load them only when there is a config file.
const require = createRequire(import.meta.url);

function buildSchema() {
  const { z } = require('zod') as typeof import('zod');
  const scalar = z.union([z.string(), z.number()]).transform(String);
  const scalarList = z.union([scalar, z.array(scalar)]).transform((v) => (Array.isArray(v) ? v : [v]));
  return z.strictObject({
    command: z.union([z.string().min(1), z.array(z.string()).min(1)]).optional(),
    stop: scalar.optional(),
    'signal-scope': z.enum(['group', 'child']).optional(),
    subreaper: z.boolean().optional(),
    'no-subreaper': z.boolean().optional(),
    'remap-exit': scalarList.optional(),
    before: scalarList.optional(),
    limit: z.union([scalarList, z.record(z.string(), scalar)]).optional(),
    user: scalar.optional(),
    verbose: z.boolean().optional(),
    workers: scalar.optional(),
    listen: scalarList.optional(),
    'socket-strategy': z.enum(['shared', 'reuseport']).optional(),
    ready: scalar.optional(),
    'ready-timeout': scalar.optional(),
    'restart-delay': scalar.optional(),
    'restart-max-delay': scalar.optional(),
    'stable-after': scalar.optional(),
    'max-restarts': scalar.optional(),
    'on-crash-loop': z.enum(['exit', 'retry']).optional(),
    'reload-surge': scalar.optional(),
    'max-memory': scalar.optional(),
    'max-cpu': scalar.optional(),
    'guard-window': scalar.optional(),
    preload: z.boolean().optional(),
    'no-preload': z.boolean().optional(),
    control: scalar.optional(),
    watchdog: scalar.optional(),
    'event-log': scalar.optional(),
  });
}

// Read and validate a config file; YAML for .yaml/.yml, JSON for .json.
export function loadConfigFile(path: string, readFile: (path: string) => string = (p) => readFileSync(p, 'utf8')): LoadedConfig {
  let text: string;
  try {
    text = readFile(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new TendError('TEND_ERR_CONFIG', `unable to read --config ${JSON.stringify(path)}: ${code}; check the path`, { cause: error });
  }
  let data: unknown;
  try {
    if (/\.json$/i.test(path)) data = JSON.parse(text);
    else if (/\.ya?ml$/i.test(path)) data = (require('yaml') as typeof import('yaml')).parse(text);
    else throw new Error('unknown extension');
  } catch (error) {
    const detail = error instanceof Error ? error.message.split('\n')[0] : String(error);
    const fix = /\.(json|ya?ml)$/i.test(path) ? 'fix the syntax' : 'name it .yaml, .yml or .json';
    throw new TendError('TEND_ERR_CONFIG', `unable to parse --config ${JSON.stringify(path)}: ${detail}; ${fix}`, { cause: error });
  }
  const schema = buildSchema();
  const parsed = schema.safeParse(data ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const key = issue?.path.join('.') ?? '';
    const value = issue === undefined ? undefined : valueAt(data, issue.path);
    const known = Object.keys(schema.shape).join(', ');
    const what = issue?.code === 'unrecognized_keys'
      ? `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}; the keys are the flag names without dashes: ${known}`
      : `key "${key}" = ${JSON.stringify(value)}: ${issue?.message ?? 'invalid'}; see tend run --help for its values`;
    throw new TendError('TEND_ERR_USAGE', `${path}: ${what}`);
  }
  const { command, limit, subreaper, preload, ...rest } = parsed.data;
  const options: RawOptions = { ...rest };
  if (limit !== undefined) options['limit'] = Array.isArray(limit) ? limit : Object.entries(limit).map(([k, v]) => `${k}=${v}`);
  if (subreaper === false) options['no-subreaper'] = true;
  if (preload === false) options['no-preload'] = true;
  let argv: string[] | null = null;
  if (typeof command === 'string') {
    const split = splitCommandLine(command);
    if ('problem' in split) throw new TendError('TEND_ERR_USAGE', `${path}: key "command" = ${JSON.stringify(command)}: ${split.problem}; ${split.fix.replace('--before', 'command:')} or give a list`);
    argv = split.argv;
  } else if (command !== undefined) {
    argv = command;
  }
  return { path, options, command: argv };
}

function valueAt(data: unknown, path: readonly PropertyKey[]): unknown {
  let at: unknown = data;
  for (const key of path) {
    if (at === null || typeof at !== 'object') return undefined;
    at = (at as Record<PropertyKey, unknown>)[key];
  }
  return at;
}
