// `--config FILE`: a tend YAML/JSON file (flat, or with a services: map), a Procfile, or a PM2 ecosystem file.
// The tend schema is derived from the flag table (zod); errors name the file, the service, the key, the value and the fix.
// Reading is bounded (read-config.ts); unreadable or unparsable files exit 78, bad settings 64.
import { createRequire } from 'node:module';
import { basename, isAbsolute, resolve } from 'node:path';
import { TendError } from '../errors.js';
import { ecosystemServices } from './ecosystem.js';
import { CLI_ONLY, flagByName, flagTable, negatedKey, parseServiceName, type Flag, type RawValue } from './flags.js';
import { parseProcfile } from './procfile.js';
import { checkTextBounds, checkValueBounds, openRegularFile, readConfigText } from './read-config.js';
import { applyServiceKey, finishService, newServiceDraft, type Origin } from './service-builder.js';
import type { ServiceSpec } from './spec.js';
import { closeSync } from 'node:fs';

/** Settings keyed by flag name (without dashes), as argv or a file gives them. */
export type RawOptions = Record<string, RawValue | undefined>;

/** A loaded config file: one flat set of settings (merged with flags later), or finished services. */
export type LoadedConfig =
  | { readonly kind: 'single'; readonly path: string; readonly options: RawOptions }
  | {
      readonly kind: 'services';
      readonly path: string;
      readonly format: 'tend' | 'procfile' | 'ecosystem';
      readonly process: RawOptions;
      readonly services: readonly ServiceSpec[];
      readonly warnings: readonly string[];
    };

// zod and yaml are about 16 MiB of heap and 70 ms of start-up: load them only when there is a config file. Even the
// require function is made only then (createRequire costs start-up memory on every `tend run`).
let requireFn: NodeJS.Require | undefined;
const require = (id: string): unknown => (requireFn ??= createRequire(import.meta.url))(id);
const requireCache = (): NodeJS.Require['cache'] => (requireFn ??= createRequire(import.meta.url)).cache;
type Zod = typeof import('zod').z;

// The table's keys a file may hold, tend's own and a service's: worked out when a file is read, not at start-up.
function fileKeys(scope?: Flag['scope']): Flag[] {
  return flagTable().filter((f) => !CLI_ONLY.has(f.name) && (scope === undefined || f.scope === scope));
}

function valueSchema(z: Zod, flag: Flag) {
  const scalar = z.union([z.string(), z.number()]).transform(String);
  const scalarList = z.union([scalar, z.array(scalar)]).transform((v) => (Array.isArray(v) ? v : [v]));
  switch (flag.value) {
    case 'boolean': return z.boolean();
    case 'string': return flag.multiple ? scalarList : scalar;
    case 'list': return scalarList;
    case 'command': return z.union([z.string(), z.array(scalar)]);
    case 'env': return z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]).transform(String));
    case 'limit': return z.union([scalarList, z.record(z.string(), scalar).transform((m) => Object.entries(m).map(([k, v]) => `${k}=${v}`))]);
  }
}

// The zod schema of a set of table rows, with the `X: false` spelling of each `no-X` switch.
function schemaOf(z: Zod, flags: readonly Flag[]) {
  const shape: Record<string, ReturnType<ReturnType<typeof valueSchema>['optional']>> = {};
  for (const flag of flags) {
    shape[flag.name] = valueSchema(z, flag).optional();
    const negated = negatedKey(flag);
    if (negated !== null) shape[negated] = z.boolean().optional();
  }
  return z.strictObject(shape);
}

// Validate one map of settings against table rows; returns them keyed by flag name (`X: false` → `no-X: true`).
function validate(path: string, where: string, data: Record<string, unknown>, flags: readonly Flag[]): RawOptions {
  const { z } = require('zod') as typeof import('zod');
  const schema = schemaOf(z, flags);
  const parsed = schema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const key = issue?.path.join('.') ?? '';
    if (issue?.code === 'unrecognized_keys') {
      const keys = issue.keys.map((k) => JSON.stringify(k)).join(', ');
      throw new TendError('TEND_ERR_USAGE', `${path}:${where} unknown key${issue.keys.length > 1 ? 's' : ''} ${keys}; the keys are the flag names without dashes: ${Object.keys(schema.shape).join(', ')}`);
    }
    const value = issue === undefined ? undefined : (data as Record<PropertyKey, unknown>)[issue.path[0] ?? ''];
    throw new TendError('TEND_ERR_USAGE', `${path}:${where} key "${key}" = ${shown(value)}: ${issue?.message ?? 'invalid'}; see tend run --help for its values`);
  }
  const options: RawOptions = {};
  for (const [key, value] of Object.entries(parsed.data as Record<string, RawValue>)) {
    const flag = flagByName(`no-${key}`);
    if (flag !== undefined && negatedKey(flag) === key) {
      if (value === false) options[flag.name] = true;
    } else {
      options[key] = value;
    }
  }
  return options;
}

function shown(value: unknown): string {
  const text = JSON.stringify(value) as string | undefined;
  return text === undefined ? String(value) : text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

// Read, parse and validate a config file. `readFile` replaces the bounded reader (tests); JS files are always loaded.
export function loadConfigFile(path: string, readFile?: (path: string) => string): LoadedConfig {
  if (path === '') throw new TendError('TEND_ERR_USAGE', '--config "": the path is empty; give a file, e.g. --config tend.yaml');
  const name = basename(path);
  if (/^Procfile(\..+)?$/.test(name)) return loadProcfile(path, readText(path, readFile));
  if (/\.(c|m)?js$/i.test(name)) {
    const warnings: string[] = [];
    const data = loadJsModule(path);
    return { kind: 'services', path, format: 'ecosystem', process: {}, services: guarded(path, () => ecosystemServices(path, data, warnings)), warnings };
  }
  if (!/\.(json|ya?ml)$/i.test(name)) {
    throw new TendError('TEND_ERR_CONFIG', `unable to parse --config ${JSON.stringify(path)}: unknown format; name it .yaml, .yml or .json, Procfile, or ecosystem.config.js`);
  }
  const text = readText(path, readFile);
  checkTextBounds(path, text);
  const data = parseText(path, text);
  checkValueBounds(path, data);
  if (Array.isArray(data) || (data !== null && typeof data === 'object' && 'apps' in data)) {
    const warnings: string[] = [];
    return { kind: 'services', path, format: 'ecosystem', process: {}, services: ecosystemServices(path, data, warnings), warnings };
  }
  if (data !== null && data !== undefined && (typeof data !== 'object')) {
    throw new TendError('TEND_ERR_USAGE', `${path}: the file is a ${typeof data}, not a map of settings; write key: value lines`);
  }
  const map = (data ?? {}) as Record<string, unknown>;
  return 'services' in map ? loadServicesMap(path, map) : { kind: 'single', path, options: validate(path, '', map, fileKeys()) };
}

function readText(path: string, readFile: ((path: string) => string) | undefined): string {
  if (readFile === undefined) return readConfigText(path);
  try {
    return readFile(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException | undefined)?.code ?? String(error);
    throw new TendError('TEND_ERR_CONFIG', `unable to read --config ${JSON.stringify(path)}: ${code}; check the path`, { cause: error });
  }
}

function parseText(path: string, text: string): unknown {
  try {
    if (/\.json$/i.test(path)) return JSON.parse(text) as unknown;
    return (require('yaml') as typeof import('yaml')).parse(text, { maxAliasCount: 100, prettyErrors: false });
  } catch (error) {
    const detail = error instanceof Error ? (error.message.split('\n')[0] ?? '') : String(error);
    throw new TendError('TEND_ERR_CONFIG', `unable to parse --config ${JSON.stringify(path)}: ${detail}; fix the syntax`, { cause: error });
  }
}

// An ecosystem.config.js is code, loaded the way PM2 loads it (require; an ES module through require(esm) where Node has it).
function loadJsModule(path: string): unknown {
  closeSync(openRegularFile(path));
  const absolute = isAbsolute(path) ? path : resolve(path);
  let exported: unknown;
  try {
    // As PM2 does: a fresh load each time, never a cached copy of an edited file.
    Reflect.deleteProperty(requireCache(), absolute);
    exported = require(absolute);
  } catch (error) {
    const code = (error as { code?: string }).code;
    const fix = code === 'ERR_REQUIRE_ESM' ? 'name it ecosystem.config.cjs with module.exports = { apps }, or use Node 20.19 or later'
      : code === 'ERR_REQUIRE_ASYNC_MODULE' ? 'remove top-level await from it' : 'fix the file so that node can load it';
    const detail = error instanceof Error ? (error.message.split('\n')[0] ?? '') : String(error);
    throw new TendError('TEND_ERR_CONFIG', `unable to load --config ${JSON.stringify(path)}: ${detail}; ${fix}`, { cause: error });
  }
  // An ES module's namespace carries the export under `default`.
  const module = exported as { default?: unknown; [Symbol.toStringTag]?: unknown } | null;
  const data = module !== null && typeof module === 'object' && (module[Symbol.toStringTag] === 'Module' || '__esModule' in module) && module.default !== undefined
    ? module.default : exported;
  return guarded(path, () => { checkValueBounds(path, data); return data; });
}

// A JS export may throw from a getter or proxy trap: report that as the file's fault, never as an internal error.
function guarded<T>(path: string, run: () => T): T {
  try {
    return run();
  } catch (error) {
    if (error instanceof TendError) throw error;
    const detail = error instanceof Error ? (error.message.split('\n')[0] ?? '') : String(error);
    throw new TendError('TEND_ERR_CONFIG', `unable to load --config ${JSON.stringify(path)}: ${detail}; fix the file`, { cause: error });
  }
}

function loadProcfile(path: string, text: string): LoadedConfig {
  checkTextBounds(path, text);
  const warnings: string[] = [];
  const services = parseProcfile(path, text, warnings).map((entry) => {
    const draft = newServiceDraft(entry.name);
    draft.commandGiven = entry.command;
    return finishService(draft, { kind: 'file', path, service: entry.name }, new Set(), true);
  });
  return { kind: 'services', path, format: 'procfile', process: {}, services, warnings };
}

function loadServicesMap(path: string, data: Record<string, unknown>): LoadedConfig {
  const top: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(data)) {
    if (key === 'services') continue;
    const flag = flagByName(key) ?? flagByName(`no-${key}`);
    if (flag?.scope === 'service') {
      throw new TendError('TEND_ERR_USAGE', `${path}: key "${key}" is a per-service setting, and the file has a services: map; move it into each service that needs it`);
    }
    top[key] = value;
  }
  const process = validate(path, '', top, fileKeys('process'));
  const map = data['services'];
  if (map === null || typeof map !== 'object' || Array.isArray(map) || Object.keys(map).length === 0) {
    throw new TendError('TEND_ERR_USAGE', `${path}: key "services" must be a map of name: settings with at least one service; write services: { web: { command: node server.js } }`);
  }
  const services = Object.entries(map as Record<string, unknown>).map(([name, value]) => serviceFromMap(path, name, value));
  return { kind: 'services', path, format: 'tend', process, services, warnings: [] };
}

function serviceFromMap(path: string, name: string, value: unknown): ServiceSpec {
  const origin: Origin = { kind: 'file', path, service: name };
  try {
    parseServiceName(name);
  } catch (error) {
    throw new TendError('TEND_ERR_USAGE', `${path}: services.${name}: ${(error as Error).message}`, { cause: error });
  }
  // Shorthand: `web: node server.js` is a service with only a command.
  const settings = typeof value === 'string' || Array.isArray(value) ? { command: value as unknown } : value;
  if (settings === null || typeof settings !== 'object') {
    throw new TendError('TEND_ERR_USAGE', `${path}: services.${name}: must be a map of settings or a command; write ${name}: { command: node server.js }`);
  }
  for (const key of Object.keys(settings)) {
    const flag = flagByName(key) ?? flagByName(`no-${key}`);
    if (flag?.scope === 'process') {
      throw new TendError('TEND_ERR_USAGE', `${path}: services.${name}: key "${key}" belongs to tend itself, not to one service; move it to the top level of the file, next to services:`);
    }
  }
  const options = validate(path, ` services.${name}:`, settings as Record<string, unknown>, fileKeys('service'));
  const draft = newServiceDraft(name);
  const given = new Set<string>();
  for (const [key, raw] of Object.entries(options)) {
    if (raw !== undefined) applyServiceKey(draft, origin, key, raw, given);
  }
  if (draft.commandGiven === null) {
    throw new TendError('TEND_ERR_USAGE', `${path}: services.${name}: no command; add command: (e.g. command: node server.js)`);
  }
  if (draft.cwd !== null) draft.cwd = resolve(path, '..', draft.cwd);
  return finishService(draft, origin, given, true);
}
