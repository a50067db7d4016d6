// How long a service's stop may take, counting the drain spread (`--drain-spread`: the preload closes upgraded
// connections over that long, inside the first stop stage) and the app's holds (`hold(name)`: the next stage waits for
// them, bounded here). Pure.
import type { ServiceSpec } from '../config/spec.js';

/** `--drain-spread`'s default: long enough that 1000 WebSocket clients reconnect at ~200/s, short against a 30 s stage. */
export const DEFAULT_DRAIN_SPREAD_MS = 5_000;

/** Extra time past the longest stop chain before everything left is SIGKILLed. */
export const DEADLINE_MARGIN_MS = 1_000;

// The drain spread a service's workers use: only workers with the preload spread anything (a plain single command,
// the one service of a tend that is not a pool, never gets the preload).
export function drainSpreadMs(spec: ServiceSpec, plain = false): number {
  return spec.preload && !plain ? (spec.drainSpreadMs ?? DEFAULT_DRAIN_SPREAD_MS) : 0;
}

// Whether a tend's services are one plain command (no pool): it runs without the preload.
export function isPlain(services: readonly ServiceSpec[]): boolean {
  return services.length === 1 && services[0]?.pool === false;
}

// One service's stop sequence end to end: the first stage lasts at least the drain spread (the preload holds the stop
// while it spreads), then every later stage's timeout.
export function stopChainMs(spec: ServiceSpec, plain = false): number {
  const [first, ...rest] = spec.stop;
  if (first === undefined) return 0;
  return Math.max(first.timeoutMs, drainSpreadMs(spec, plain)) + rest.reduce((sum, stage) => sum + stage.timeoutMs, 0);
}

// How long after a worker's stop began its holds may postpone the next stage: the stop chain, or with --grace all of
// the budget the stop delay and KILL's margin leave.
export function holdLimitMs(spec: ServiceSpec, graceMs: number | null, stopDelayMs: number, plain = false): number {
  const chain = stopChainMs(spec, plain);
  return graceMs === null ? chain : Math.max(chain, graceMs - stopDelayMs - DEADLINE_MARGIN_MS);
}
