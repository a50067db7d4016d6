// How long a service's stop may take, counting the drain spread (`--drain-spread`: the preload closes upgraded
// connections over that long, inside the first stop stage) and the app's holds (`hold(name)`: the next stage waits for
// them, bounded here). Pure.
import type { ServiceSpec } from '../config/spec.js';

/** `--drain-spread`'s default: long enough that 1000 WebSocket clients reconnect at ~200/s, short against a 30 s stage. */
export const DEFAULT_DRAIN_SPREAD_MS = 5_000;

/** Extra time past the longest stop chain before everything left is SIGKILLed. */
export const DEADLINE_MARGIN_MS = 1_000;

// The drain spread a service's workers use: only workers with the preload spread anything.
export function drainSpreadMs(spec: ServiceSpec): number {
  return spec.preload ? (spec.drainSpreadMs ?? DEFAULT_DRAIN_SPREAD_MS) : 0;
}

// One service's stop sequence end to end: the first stage lasts at least the drain spread (the preload holds the stop
// while it spreads), then every later stage's timeout.
export function stopChainMs(spec: ServiceSpec): number {
  const [first, ...rest] = spec.stop;
  if (first === undefined) return 0;
  return Math.max(first.timeoutMs, drainSpreadMs(spec)) + rest.reduce((sum, stage) => sum + stage.timeoutMs, 0);
}

// How long after a worker's stop began its holds may postpone the next stage: the stop chain, or with --grace all of
// the budget the stop delay and KILL's margin leave.
export function holdLimitMs(spec: ServiceSpec, graceMs: number | null, stopDelayMs: number): number {
  const chain = stopChainMs(spec);
  return graceMs === null ? chain : Math.max(chain, graceMs - stopDelayMs - DEADLINE_MARGIN_MS);
}
