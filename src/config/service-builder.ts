// Raw settings (from flags, a tend file, a Procfile or an ecosystem file) → one ServiceSpec, through the flag table.
// Errors name where the value came from: the flag, or the file, the service and the key. Pure.
import { DEFAULT_MAX_LINE } from '../output/line-splitter.js';
import { TendError } from '../errors.js';
import { flagByName, type ProcessDraft, type RawValue, type ServiceDraft } from './flags.js';
import { DEFAULT_GUARDS, DEFAULT_LIVENESS, DEFAULT_READY_TIMEOUT_MS, DEFAULT_RESTART, type LivenessPolicy } from './pool-config.js';
import { formatDuration } from './duration.js';
import { DEFAULT_STOP } from './run-config.js';
import { DEFAULT_DRAIN_SPREAD_MS } from '../core/stop-budget.js';
import type { RestartMode, ServiceSpec } from './spec.js';

/** Where settings come from, for error messages and for the defaults that differ between sources. */
export type Origin =
  | { readonly kind: 'flags' }
  | { readonly kind: 'file'; readonly path: string; readonly service: string | null };

// A fresh service with every default; the flag table's setters overwrite what is given.
export function newServiceDraft(name: string): ServiceDraft {
  return {
    name, command: [], env: {}, cwd: null, type: 'simple', pool: false, workers: 1, restart: 'never', canDie: false, dependsOn: [],
    before: [], stop: DEFAULT_STOP, signalScope: 'group', remapExit: new Map(), limits: [], user: null, listen: [],
    socketStrategy: 'shared', ready: { kind: 'auto' }, readyTimeoutMs: DEFAULT_READY_TIMEOUT_MS, backoff: { ...DEFAULT_RESTART },
    reloadSurge: 1, guards: { ...DEFAULT_GUARDS }, preload: true, watchdogMs: null, minReady: 1, liveness: DEFAULT_LIVENESS, metricsWorkers: undefined,
    drainSpreadMs: DEFAULT_DRAIN_SPREAD_MS,
    workersGiven: null, restartGiven: null, commandGiven: null,
  };
}

// tend's own settings with their defaults.
export function newProcessDraft(): ProcessDraft {
  return { subreaper: true, verbose: false, control: null, controlGroup: null, eventLog: null, logPrefix: null, logFormat: 'text', logMaxLine: DEFAULT_MAX_LINE,
    healthListen: null, stopDelayMs: 0, graceMs: null };
}

// How a key is named in a message from this origin: --stop, or tend.yaml: services.web: key "stop".
export function keyLabel(origin: Origin, key: string): string {
  if (origin.kind === 'flags') return `--${key}`;
  const service = origin.service === null ? '' : ` services.${origin.service}:`;
  return `${origin.path}:${service} key "${key}"`;
}

// Run a setter; a usage error it throws is prefixed with the file and service it came from.
export function inOrigin<T>(origin: Origin, key: string, run: () => T): T {
  try {
    return run();
  } catch (error) {
    if (!(error instanceof TendError) || error.code !== 'TEND_ERR_USAGE' || origin.kind === 'flags') throw error;
    throw new TendError('TEND_ERR_USAGE', `${keyLabel(origin, key)}: ${error.message}`, { cause: error });
  }
}

// Apply one per-service key (a flag or a file key) to a draft.
export function applyServiceKey(draft: ServiceDraft, origin: Origin, key: string, value: RawValue, given: Set<string>): void {
  const flag = flagByName(key);
  if (flag?.scope !== 'service') throw new Error(`invariant: not a service key: ${key}`);
  inOrigin(origin, key, () => { flag.apply(draft, value); });
  given.add(key);
}

// Apply one process key to tend's settings.
export function applyProcessKey(draft: ProcessDraft, origin: Origin, key: string, value: RawValue): void {
  const flag = flagByName(key);
  if (flag?.scope !== 'process') throw new Error(`invariant: not a process key: ${key}`);
  if (flag.apply !== null) inOrigin(origin, key, () => { flag.apply?.(draft, value); });
}

/**
 * Close a draft into a ServiceSpec: defaults that depend on other keys, then the checks between keys.
 * `inMap`: the service comes from a services map, Procfile or ecosystem file (long-running services restart by default);
 * otherwise it is the single command of `tend run -- cmd` (restarts only as a pool).
 */
export function finishService(draft: ServiceDraft, originOf: Origin | ((key: string) => Origin), given: ReadonlySet<string>, inMap: boolean): ServiceSpec {
  const usage = (key: string, problem: string, flagFix: string, fileFix: string): TendError => {
    const origin = typeof originOf === 'function' ? originOf(key) : originOf;
    return new TendError('TEND_ERR_USAGE', `${keyLabel(origin, key)}: ${problem}; ${origin.kind === 'flags' ? flagFix : fileFix}`);
  };
  const pool = draft.workersGiven !== null && draft.type === 'simple';
  const workers = draft.workersGiven ?? 1;
  if (draft.type === 'oneshot' && workers > 1) {
    throw usage('workers', `a oneshot runs once, not as ${workers} workers`, 'remove --workers', 'remove workers: or make it type: simple');
  }
  const restart: RestartMode = draft.restartGiven ?? (inMap ? (draft.type === 'oneshot' ? 'never' : 'always') : (pool ? 'always' : 'never'));
  if (draft.type === 'oneshot' && restart === 'always') {
    throw usage('restart', 'a oneshot is done when it exits 0, so it cannot restart always', '', 'use restart: on-failure or never');
  }
  for (const key of given) {
    const needs = flagByName(key)?.needs;
    if (needs === 'pool' && !pool) {
      throw usage(key, 'only applies to a worker pool', 'add --workers N (or remove it)', 'add workers: N (or remove it)');
    }
    if (needs === 'restarts' && restart === 'never') {
      throw usage(key, 'only applies to a service that restarts', 'add --restart on-failure or always, or --workers N (or remove it)',
        'set restart: on-failure or always (or remove it)');
    }
  }
  if (draft.backoff.maxDelayMs < draft.backoff.initialDelayMs) {
    throw usage('restart-max-delay', 'is shorter than restart-delay', 'make the cap at least the initial delay', 'make the cap at least the initial delay');
  }
  if (draft.reloadSurge > workers) {
    throw usage('reload-surge', `is more than the ${workers} workers`, `use at most --reload-surge ${workers}`, `use at most reload-surge: ${workers}`);
  }
  const probes = checkProbes(draft, given, usage);
  const { workersGiven: _w, restartGiven: _r, commandGiven, minReady, liveness: _l, metricsWorkers: _m, drainSpreadMs, ...spec } = draft;
  return { ...spec, command: commandGiven ?? draft.command, pool, workers, restart, ...presentOnly({ minReady, drainSpreadMs }), ...probes };
}

type Usage = (key: string, problem: string, flagFix: string, fileFix: string) => TendError;

// --liveness and --metrics-workers, checked: what goes through a worker's private socket needs the preload that opens it.
function checkProbes(draft: ServiceDraft, given: ReadonlySet<string>, usage: Usage): { liveness?: LivenessPolicy; metricsWorkers?: string } {
  const m = draft.metricsWorkers;
  if (m !== undefined && !draft.preload) {
    throw usage('metrics-workers', 'scrapes each worker through the private socket the Node preload opens, which no-preload turns off',
      'remove --no-preload (or --metrics-workers)', 'remove preload: false (or metrics-workers)');
  }
  return { ...checkLiveness(draft, given, usage), ...(m === undefined ? {} : { metricsWorkers: m }) };
}

// The --liveness settings fit together: the others need a probe, a probe ends before the next one, and a probe that
// goes through the worker's private socket needs the preload that opens it.
function checkLiveness(draft: ServiceDraft, given: ReadonlySet<string>, usage: Usage): { liveness?: LivenessPolicy } {
  const asked = draft.liveness;
  if (asked?.probe == null) {
    const extra = ['liveness-interval', 'liveness-timeout', 'liveness-failures'].find((k) => given.has(k));
    if (extra !== undefined) throw usage(extra, 'only applies with a liveness probe', 'add --liveness http:/healthz, tcp or exec:CMD (or remove it)', 'add liveness: http:/healthz, tcp or exec:CMD (or remove it)');
    return {};
  }
  // The default timeout (2 s) follows a shorter interval the user chose; a timeout they gave themselves is checked.
  const l = asked.timeoutMs > asked.intervalMs && !given.has('liveness-timeout') ? { ...asked, timeoutMs: asked.intervalMs } : asked;
  if (l.timeoutMs > l.intervalMs) {
    throw usage('liveness-timeout', `${formatDuration(l.timeoutMs)} is longer than the liveness interval ${formatDuration(l.intervalMs)}`,
      'make --liveness-timeout at most --liveness-interval', 'make liveness-timeout at most liveness-interval');
  }
  if (asked.probe.kind !== 'exec' && !draft.preload) {
    throw usage('liveness', `${asked.probe.kind === 'http' ? 'http:' : 'tcp'} reaches each worker through the private socket the Node preload opens, which no-preload turns off`,
      'remove --no-preload, or use --liveness exec:CMD', 'remove preload: false, or use liveness: exec:CMD');
  }
  return { liveness: l };
}

// Optional keys whose value is given; with exactOptionalPropertyTypes an absent key may not be undefined.
function presentOnly<T extends object>(values: T): Partial<T> {
  return Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined)) as Partial<T>;
}
