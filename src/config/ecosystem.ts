// A PM2 ecosystem file (`apps: [...]`) → services, so a PM2 user's first command is `tend run --config
// ecosystem.config.js`. Every PM2 key is either mapped (through the flag table's parsers) or named in one warning.
// Pure: the loader hands in the exported value.
import { availableParallelism } from 'node:os';
import { basename, extname, isAbsolute, resolve } from 'node:path';
import { TendError } from '../errors.js';
import { splitCommandLine } from './command-line.js';
import { parseEnv, parseServiceName, type RawValue } from './flags.js';
import { parseSignal } from './signal-names.js';
import { applyServiceKey, finishService, newServiceDraft } from './service-builder.js';
import type { ServiceSpec } from './spec.js';

/** PM2 keys tend ignores, and why (any other unknown key gets a generic reason). */
export const PM2_IGNORED: Readonly<Record<string, string>> = {
  watch: 'tend does not restart on file changes; use a file watcher in development',
  ignore_watch: 'tend does not restart on file changes',
  watch_delay: 'tend does not restart on file changes',
  watch_options: 'tend does not restart on file changes',
  out_file: "tend passes output through to its own stdout and stderr; let the container runtime or journald keep logs",
  error_file: "tend passes output through to its own stdout and stderr; let the container runtime or journald keep logs",
  log_file: "tend passes output through to its own stdout and stderr; let the container runtime or journald keep logs",
  log_date_format: 'tend does not rewrite output lines',
  log_type: 'tend does not rewrite output lines',
  merge_logs: 'tend does not keep log files',
  combine_logs: 'tend does not keep log files',
  time: 'tend does not rewrite output lines',
  disable_logs: 'tend does not keep log files',
  pid_file: 'tend does not write pid files; use --control and tend status',
  cron_restart: 'tend has no scheduled restarts; run tend reload from cron instead',
  source_map_support: 'tend does not change how Node runs scripts; add --enable-source-maps to node_args',
  instance_var: 'tend names the worker index TEND_WORKER_INDEX',
  increment_var: 'tend does not number variables per instance; use TEND_WORKER_INDEX',
  namespace: 'tend has no namespaces; each file is one tend',
  vizion: 'tend does not track versions',
  post_update: 'tend does not update code',
  force: 'tend starts each service once',
  treekill: "tend always stops a service's whole process group",
  shutdown_with_message: 'tend stops processes with signals only',
  filter_env: "tend passes its whole environment; unset variables before starting tend",
  append_env_to_name: 'tend names services by name only',
  stop_exit_codes: 'use restart: on-failure in a tend.yaml for "exit 0 means done"',
  automation: 'tend has no PM2 monitoring',
  pmx: 'tend has no PM2 monitoring',
};

/** PM2's other spellings of mapped keys. */
const PM2_ALIASES: Readonly<Record<string, string>> = { exec_interpreter: 'interpreter', interpreter_args: 'node_args' };

/** The PM2 keys tend maps, each to what it becomes. */
export const PM2_MAPPED = ['name', 'script', 'args', 'interpreter', 'node_args', 'cwd', 'env', 'instances', 'exec_mode',
  'max_memory_restart', 'kill_timeout', 'kill_signal', 'wait_ready', 'listen_timeout', 'max_restarts', 'min_uptime',
  'restart_delay', 'exp_backoff_restart_delay', 'autorestart'] as const;

// Interpreters PM2 picks by extension when none is given; anything else is executed directly.
const BY_EXTENSION: Readonly<Record<string, string>> = {
  '.js': 'node', '.cjs': 'node', '.mjs': 'node', '.sh': 'bash', '.py': 'python3', '.rb': 'ruby', '.php': 'php', '.pl': 'perl',
};

/** PM2's kill_timeout default (ms) and its first stop signal. */
const PM2_KILL_TIMEOUT_MS = 1600;
/** PM2's cap for exp_backoff_restart_delay (ms). */
const PM2_BACKOFF_CAP_MS = 15_000;

type App = Readonly<Record<string, unknown>>;

function fail(path: string, app: string, key: string, problem: string): TendError {
  return new TendError('TEND_ERR_USAGE', `${path}: app ${app}: key "${key}": ${problem}`);
}

// Turn an ecosystem export (`{ apps: [...] }`, or a bare list) into services; warnings name every ignored key.
export function ecosystemServices(path: string, data: unknown, warnings: string[], cores = availableParallelism()): ServiceSpec[] {
  const top = Array.isArray(data) ? { apps: data } : data;
  if (top === null || typeof top !== 'object' || !Array.isArray((top as { apps?: unknown }).apps)) {
    throw new TendError('TEND_ERR_USAGE', `${path}: no "apps" list; an ecosystem file exports { apps: [{ name, script, ... }] }`);
  }
  for (const key of Object.keys(top)) {
    if (key !== 'apps') warnings.push(`${path}: key "${key}" ignored: ${key === 'deploy' ? 'tend does not deploy' : 'it has no tend meaning'}`);
  }
  const apps = (top as { apps: unknown[] }).apps;
  if (apps.length === 0) throw new TendError('TEND_ERR_USAGE', `${path}: "apps" is empty; list at least one app`);
  const services: ServiceSpec[] = [];
  const names = new Set<string>();
  for (const [index, app] of apps.entries()) {
    if (app === null || typeof app !== 'object' || Array.isArray(app)) {
      throw new TendError('TEND_ERR_USAGE', `${path}: apps[${index}] is not an object; write { name, script, ... }`);
    }
    const service = appService(path, index, app as App, warnings, cores);
    if (names.has(service.name)) throw new TendError('TEND_ERR_USAGE', `${path}: two apps are named "${service.name}"; give each its own name`);
    names.add(service.name);
    services.push(service);
  }
  return services;
}

type Setter = (pm2Key: string, key: string, value: RawValue) => void;

function appName(path: string, index: number, app: App, script: string): string {
  const nameValue = app['name'] ?? basename(script, extname(script));
  const label = `apps[${index}] ${JSON.stringify(nameValue)}`;
  if (typeof nameValue !== 'string') throw fail(path, label, 'name', 'must be a string');
  return wrap(path, label, 'name', () => parseServiceName(nameValue, 'name'));
}

function warnIgnored(path: string, name: string, app: App, warnings: string[]): void {
  for (const key of Object.keys(app)) {
    if ((PM2_MAPPED as readonly string[]).includes(key) || key in PM2_ALIASES) continue;
    const reason = PM2_IGNORED[key] ?? (key.startsWith('env_') ? 'tend has no --env switch; merge the variables you want into env' : 'it has no tend meaning');
    warnings.push(`${path}: app "${name}": key "${key}" ignored: ${reason}`);
  }
}

function appService(path: string, index: number, app: App, warnings: string[], cores: number): ServiceSpec {
  const script = app['script'];
  if (typeof script !== 'string' || script === '' || script.includes('\0')) {
    throw new TendError('TEND_ERR_USAGE', `${path}: apps[${index}]: key "script" must be a file or command name; write script: "server.js"`);
  }
  const name = appName(path, index, app, script);
  warnIgnored(path, name, app, warnings);
  const draft = newServiceDraft(name);
  const given = new Set<string>();
  const set: Setter = (pm2Key, key, value) => {
    // Applied as a flag would be, so the error is worded once, with the PM2 key, by wrap().
    wrap(path, `"${name}"`, pm2Key, () => { applyServiceKey(draft, { kind: 'flags' }, key, value, given); });
  };
  draft.commandGiven = appCommand(path, name, app, script);
  draft.cwd = appCwd(path, name, app['cwd']);
  if (app['env'] !== undefined) draft.env = wrap(path, `"${name}"`, 'env', () => parseEnv(envStrings(app['env']), 'env'));
  const workers = appWorkers(path, name, app, cores);
  if (workers !== null) set('instances', 'workers', String(workers));
  stopAndReadiness(path, name, app, set, warnings);
  if (app['autorestart'] === false) {
    set('autorestart', 'restart', 'never');
    for (const key of ['max_restarts', 'min_uptime', 'restart_delay', 'exp_backoff_restart_delay', 'max_memory_restart']) {
      if (app[key] !== undefined) warnings.push(`${path}: app "${name}": key "${key}" ignored: autorestart is false`);
    }
  } else {
    if (app['max_memory_restart'] !== undefined) set('max_memory_restart', 'max-memory', scalar(path, name, 'max_memory_restart', app['max_memory_restart']));
    if (app['max_restarts'] !== undefined) set('max_restarts', 'max-restarts', scalar(path, name, 'max_restarts', app['max_restarts']));
    const uptime = msValue(path, name, 'min_uptime', app['min_uptime']);
    if (uptime !== null) set('min_uptime', 'stable-after', `${uptime}ms`);
    restartDelays(path, name, app, set);
  }
  if (workers !== null && workers > 1) {
    warnings.push(`${path}: app "${name}": if its ${workers} instances serve one port: PM2 shares it through node:cluster, tend only sockets it owns; use a tend.yaml with listen: (docs/configuration.md)`);
  }
  return finishService(draft, { kind: 'file', path, service: name }, given, true);
}

// PM2 stops with kill_signal (SIGINT unless set), then SIGKILL after kill_timeout (1.6 s unless set); wait_ready and
// listen_timeout become readiness.
function stopAndReadiness(path: string, name: string, app: App, set: Setter, warnings: string[]): void {
  const signal = app['kill_signal'] === undefined ? 'SIGINT' : scalar(path, name, 'kill_signal', app['kill_signal']);
  if (parseSignal(signal) === null) throw fail(path, `"${name}"`, 'kill_signal', `"${signal}" is not a signal; use e.g. SIGINT or SIGTERM`);
  set('kill_timeout', 'stop', `${signal}:${msValue(path, name, 'kill_timeout', app['kill_timeout']) ?? PM2_KILL_TIMEOUT_MS}ms`);
  if (app['wait_ready'] === true) {
    set('wait_ready', 'ready', 'notify');
    warnings.push(`${path}: app "${name}": wait_ready means READY=1 here (call ready() from "tend", or sd_notify); process.send('ready') is not seen yet`);
  }
  const timeout = msValue(path, name, 'listen_timeout', app['listen_timeout']);
  if (timeout !== null) set('listen_timeout', 'ready-timeout', `${timeout}ms`);
}

// restart_delay is a fixed delay in PM2 (tend: initial = cap); exp_backoff_restart_delay grows to 15 s (it wins).
function restartDelays(path: string, name: string, app: App, set: Setter): void {
  const exp = msValue(path, name, 'exp_backoff_restart_delay', app['exp_backoff_restart_delay']);
  const fixed = msValue(path, name, 'restart_delay', app['restart_delay']);
  if (exp !== null) {
    set('exp_backoff_restart_delay', 'restart-delay', `${exp}ms`);
    set('exp_backoff_restart_delay', 'restart-max-delay', `${Math.max(exp, PM2_BACKOFF_CAP_MS)}ms`);
  } else if (fixed !== null) {
    set('restart_delay', 'restart-delay', `${fixed}ms`);
    set('restart_delay', 'restart-max-delay', `${Math.max(fixed, 1)}ms`);
  }
}

function appCommand(path: string, name: string, app: App, script: string): string[] {
  const args = words(path, name, 'args', app['args']);
  const interpreter = app['interpreter'] ?? app['exec_interpreter'];
  if (interpreter !== undefined && (typeof interpreter !== 'string' || interpreter === '' || interpreter.includes('\0'))) {
    throw fail(path, `"${name}"`, 'interpreter', 'must be a command name, or "none" to run the script itself');
  }
  const chosen = interpreter ?? BY_EXTENSION[extname(script)] ?? 'none';
  if (chosen === 'none') return [script, ...args];
  const interpreterArgs = words(path, name, 'node_args', app['node_args'] ?? app['interpreter_args']);
  return [chosen, ...interpreterArgs, script, ...args];
}

function appCwd(path: string, name: string, cwd: unknown): string | null {
  if (cwd === undefined) return null;
  if (typeof cwd !== 'string' || cwd === '' || cwd.includes('\0')) throw fail(path, `"${name}"`, 'cwd', 'must be a directory path');
  return isAbsolute(cwd) ? cwd : resolve(path, '..', cwd);
}

// instances: N, 0 or "max" (one per core), -N (cores - N); exec_mode cluster makes a pool even of one.
function appWorkers(path: string, name: string, app: App, cores: number): number | null {
  const mode = app['exec_mode'] === undefined ? undefined : scalar(path, name, 'exec_mode', app['exec_mode']);
  if (mode !== undefined && !['cluster', 'cluster_mode', 'fork', 'fork_mode'].includes(mode)) {
    throw fail(path, `"${name}"`, 'exec_mode', `"${mode}" is not a mode; use cluster or fork`);
  }
  const raw = app['instances'];
  let count: number | null = null;
  if (raw === 'max' || raw === 0 || raw === '0') count = cores;
  else if (typeof raw === 'number' || (typeof raw === 'string' && /^-?\d+$/.test(raw))) {
    const n = Number(raw);
    count = n < 0 ? Math.max(1, cores + n) : n;
  } else if (raw !== undefined) {
    throw fail(path, `"${name}"`, 'instances', `${JSON.stringify(raw)} is not a count; use a number, "max" or -1 (cores - 1)`);
  }
  if (count !== null && (!Number.isInteger(count) || count > 1024)) throw fail(path, `"${name}"`, 'instances', `${String(raw)} is not a count from 1 to 1024`);
  const cluster = mode === 'cluster' || mode === 'cluster_mode';
  if (cluster) return count ?? 1;
  return count !== null && count > 1 ? count : null;
}

// PM2 durations are milliseconds as a number; a string with a unit ("10s") is read as tend reads durations.
function msValue(path: string, name: string, key: string, value: unknown): number | null {
  if (value === undefined) return null;
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 2_147_483_647) return value;
  if (typeof value === 'string' && /^\d+$/.test(value) && Number(value) <= 2_147_483_647) return Number(value);
  if (typeof value === 'string' && /^\d+(\.\d+)?(ms|s|m|h)$/.test(value)) return durationMs(path, name, key, value);
  throw fail(path, `"${name}"`, key, `${JSON.stringify(value)} is not a number of milliseconds`);
}

function durationMs(path: string, name: string, key: string, value: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(value);
  const scale: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  const ms = Math.round(Number(match?.[1]) * (scale[match?.[2] ?? 'ms'] ?? 1));
  if (ms > 2_147_483_647) throw fail(path, `"${name}"`, key, `${value} is too long; use at most 24 days`);
  return ms;
}

function scalar(path: string, name: string, key: string, value: unknown): string {
  if (typeof value === 'string' || typeof value === 'number') return String(value);
  throw fail(path, `"${name}"`, key, `${(JSON.stringify(value) as string | undefined) ?? typeof value} is not a string or a number`);
}

function words(path: string, name: string, key: string, value: unknown): string[] {
  if (value === undefined) return [];
  if (Array.isArray(value) && value.every((v) => typeof v === 'string' || typeof v === 'number')) return value.map(String);
  if (typeof value === 'string') {
    const split = splitCommandLine(value);
    if ('argv' in split) return split.argv;
    if (value.trim() === '') return [];
    throw fail(path, `"${name}"`, key, `${split.problem}; give a list of words instead`);
  }
  throw fail(path, `"${name}"`, key, 'must be a string or a list of strings');
}

function envStrings(value: unknown): Record<string, string> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new TendError('TEND_ERR_USAGE', 'expects a map of NAME: value; write env: { NODE_ENV: "production" }');
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) {
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') env[k] = String(v);
    else throw new TendError('TEND_ERR_USAGE', `env: variable ${JSON.stringify(k)} is not a string, number or boolean; write it as text`);
  }
  return env;
}

function wrap<T>(path: string, app: string, key: string, run: () => T): T {
  try {
    return run();
  } catch (error) {
    if (!(error instanceof TendError) || error.code !== 'TEND_ERR_USAGE' || error.message.startsWith(`${path}:`)) throw error;
    throw fail(path, app, key, error.message);
  }
}
