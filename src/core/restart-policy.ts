// When to restart a crashed worker: exponential backoff with jitter and a cap, reset after a stable run, and a
// crash-loop verdict. Pure: the caller passes the uptime and a random number.
import type { RestartPolicy } from '../config/pool-config.js';

/** Consecutive failed starts of one slot (each shorter than the stable uptime). */
export interface SlotHistory {
  readonly consecutiveFailures: number;
}

export type RestartDecision =
  | { readonly kind: 'restart'; readonly delayMs: number; readonly history: SlotHistory; readonly crashLooping: boolean }
  | { readonly kind: 'give-up'; readonly reason: string; readonly history: SlotHistory };

export const FRESH_HISTORY: SlotHistory = { consecutiveFailures: 0 };

// Decide what to do after a worker that ran for `uptimeMs` exited unexpectedly. `random` is in [0, 1).
export function nextRestart(policy: RestartPolicy, history: SlotHistory, uptimeMs: number, random: number): RestartDecision {
  if (uptimeMs >= policy.stableAfterMs) {
    // It ran long enough to count as healthy: start over with the shortest delay.
    return { kind: 'restart', delayMs: jitter(policy.initialDelayMs, random), history: { consecutiveFailures: 1 }, crashLooping: false };
  }
  const failures = history.consecutiveFailures + 1;
  const next = { consecutiveFailures: failures };
  const crashLooping = failures > policy.maxRestarts;
  if (crashLooping && policy.onCrashLoop === 'exit') {
    return { kind: 'give-up', reason: `${failures} consecutive starts failed within ${policy.stableAfterMs} ms each`, history: next };
  }
  const exponential = policy.initialDelayMs * 2 ** Math.min(failures - 1, 30);
  return { kind: 'restart', delayMs: jitter(Math.min(policy.maxDelayMs, exponential), random), history: next, crashLooping };
}

// "Equal jitter": half the delay is fixed, half random, so restarts of many slots spread out but never bunch at 0.
function jitter(delayMs: number, random: number): number {
  return Math.round(delayMs / 2 + (delayMs / 2) * random);
}

// Forget failures once a worker has been up for the stable period.
export function markStable(policy: RestartPolicy, history: SlotHistory, uptimeMs: number): SlotHistory {
  return uptimeMs >= policy.stableAfterMs ? FRESH_HISTORY : history;
}
