// Keyed timers, each owned by a lifetime (a process, a service, or tend itself): arming a key replaces its timer,
// and aborting the owner's AbortSignal clears every timer it owns. Every duration is clamped to what Node's timers
// can hold, so a huge EXTEND_TIMEOUT_USEC can never overflow into a 1 ms timer.

/** Node's timers are 32-bit signed milliseconds; anything longer fires after 1 ms. */
export const MAX_TIMER_MS = 2_147_483_647;

// Clamp a duration to [0, MAX_TIMER_MS] (NaN becomes 0).
export function clampTimerMs(ms: number): number {
  if (!Number.isFinite(ms)) return ms > 0 ? MAX_TIMER_MS : 0;
  return Math.min(MAX_TIMER_MS, Math.max(0, Math.round(ms)));
}

/** A set of named timers. */
export class Timers {
  private readonly active = new Map<string, NodeJS.Timeout>();

  // Arm `key` to run `fire` after `ms`, replacing an armed timer of the same key; `owner` aborting clears it.
  arm(key: string, ms: number, owner: AbortSignal, fire: () => void): void {
    this.cancel(key);
    if (owner.aborted) return;
    const timer = setTimeout(() => {
      this.active.delete(key);
      fire();
    }, clampTimerMs(ms));
    this.active.set(key, timer);
    owner.addEventListener('abort', () => { this.cancelIf(key, timer); }, { once: true });
  }

  // Clear `key` if it is armed.
  cancel(key: string): void {
    const timer = this.active.get(key);
    if (timer === undefined) return;
    clearTimeout(timer);
    this.active.delete(key);
  }

  private cancelIf(key: string, timer: NodeJS.Timeout): void {
    if (this.active.get(key) === timer) this.cancel(key);
  }
}
