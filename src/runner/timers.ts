// Keyed timers, each owned by a lifetime (lifetime.ts: a process, a service, or tend itself): arming a key replaces
// its timer, and ending the owner clears every timer it owns. Every duration is clamped to what Node's timers
// can hold, so a huge EXTEND_TIMEOUT_USEC can never overflow into a 1 ms timer.
import type { Lifetime } from './lifetime.js';

/** Node's timers are 32-bit signed milliseconds; anything longer fires after 1 ms. */
export const MAX_TIMER_MS = 2_147_483_647;

// Clamp a duration to [0, MAX_TIMER_MS] (NaN becomes 0).
export function clampTimerMs(ms: number): number {
  if (!Number.isFinite(ms)) return ms > 0 ? MAX_TIMER_MS : 0;
  return Math.min(MAX_TIMER_MS, Math.max(0, Math.round(ms)));
}

/** A set of named timers. */
export class Timers {
  private readonly active = new Map<string, { readonly timer: NodeJS.Timeout; readonly release: () => void }>();

  // Arm `key` to run `fire` after `ms`, replacing an armed timer of the same key; `owner` ending clears it.
  arm(key: string, ms: number, owner: Lifetime, fire: () => void): void {
    this.cancel(key);
    if (owner.ended) return;
    // The owner's cleanup goes with the timer: a long-lived owner (a service re-arming its restart timer in a crash
    // loop) must not collect one cleanup per timer it ever had.
    let release: () => void = () => undefined;
    const timer = setTimeout(() => {
      this.active.delete(key);
      release();
      fire();
    }, clampTimerMs(ms));
    release = owner.onEnd(() => { this.cancelIf(key, timer); });
    this.active.set(key, { timer, release });
  }

  // Clear `key` if it is armed.
  cancel(key: string): void {
    const armed = this.active.get(key);
    if (armed === undefined) return;
    clearTimeout(armed.timer);
    armed.release();
    this.active.delete(key);
  }

  private cancelIf(key: string, timer: NodeJS.Timeout): void {
    if (this.active.get(key)?.timer === timer) this.cancel(key);
  }
}
