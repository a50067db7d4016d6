// Keyed timers, each owned by a lifetime (lifetime.ts: a process, a service, or tend itself): arming a key replaces
// its timer, and ending the owner clears every timer it owns. Every duration is clamped to what a Node timer holds
// (kept as the contract, though the native timer takes more), so a huge EXTEND_TIMEOUT_USEC never wraps around.
// All of them run on one native timer (os/native.ts `timer`), armed for the earliest deadline: no Node timer, whose
// first use costs Node 20 ~0.6 ms of every start compiling its timer internals.
import { native, type NativeTimer } from '../os/native.js';
import type { Lifetime } from './lifetime.js';

/** The longest timer: a Node timer's limit (32-bit signed milliseconds, ~24.8 days), kept so durations mean the same
 * wherever they are used. */
export const MAX_TIMER_MS = 2_147_483_647;

// Clamp a duration to [0, MAX_TIMER_MS] (NaN becomes 0).
export function clampTimerMs(ms: number): number {
  if (!Number.isFinite(ms)) return ms > 0 ? MAX_TIMER_MS : 0;
  return Math.min(MAX_TIMER_MS, Math.max(0, Math.round(ms)));
}

/** One armed key. */
interface Armed {
  /** When it is due, by the native timer's clock. */
  readonly deadline: number;
  /** Arming order: ties between deadlines go to the earlier arm. */
  readonly seq: number;
  readonly fire: () => void;
  /** Removes its cleanup from the owner. */
  release: () => void;
}

/** A set of named timers. */
export class Timers {
  private readonly active = new Map<string, Armed>();
  /** Created on the first arm. */
  private clock: NativeTimer | null = null;
  /** The deadline the native timer is started for, or null while it is stopped. */
  private wakeAt: number | null = null;
  private seq = 0;
  /** While due timers run, arms and cancels leave the native timer to the re-arm that follows them. */
  private firing = false;

  // `createTimer` is the native timer's constructor; tests pass a fake clock.
  constructor(private readonly createTimer: (onFire: () => void) => NativeTimer = native.timer) {}

  // Arm `key` to run `fire` after `ms`, replacing an armed timer of the same key; `owner` ending clears it.
  arm(key: string, ms: number, owner: Lifetime, fire: () => void): void {
    this.remove(key);
    if (owner.ended) {
      if (this.active.size === 0) this.sleep();
      return;
    }
    const clamped = clampTimerMs(ms);
    const clock = this.clock ??= this.createTimer(() => { this.onFire(); });
    const entry: Armed = { deadline: clock.now() + clamped, seq: this.seq++, fire, release: noop };
    // The owner's cleanup goes with the timer: a long-lived owner (a service re-arming its restart timer in a crash
    // loop) must not collect one cleanup per timer it ever had.
    entry.release = owner.onEnd(() => { if (this.active.get(key) === entry) this.cancel(key); });
    this.active.set(key, entry);
    if (!this.firing && (this.wakeAt === null || entry.deadline < this.wakeAt)) {
      this.wakeAt = entry.deadline;
      clock.start(clamped);
    }
  }

  // Clear `key` if it is armed.
  cancel(key: string): void {
    if (this.remove(key) && this.active.size === 0) this.sleep();
  }

  // Drop `key` and its owner's cleanup; whether it was armed. The native timer may stay armed for it: it then wakes
  // early, finds nothing due and re-arms (no scan of every key on each cancel).
  private remove(key: string): boolean {
    const entry = this.active.get(key);
    if (entry === undefined) return false;
    this.active.delete(key);
    entry.release();
    return true;
  }

  // The native timer fired: run every due timer armed before now, in deadline order (ties in arming order), each
  // removed before its fire runs (a fire may arm or cancel any key, its own too); then wait for the next one.
  private onFire(): void {
    const clock = this.clock;
    if (clock === null) return;
    this.wakeAt = null; // fired, so no longer started
    const now = clock.now();
    const before = this.seq; // what a fire arms now waits for the next wake, even at 0 ms: no fire loops forever
    const due = [...this.active].filter(([, e]) => e.deadline <= now && e.seq < before);
    due.sort(([, a], [, b]) => a.deadline - b.deadline || a.seq - b.seq);
    this.firing = true;
    try {
      for (const [key, entry] of due) {
        if (this.active.get(key) !== entry) continue; // cancelled or replaced by an earlier fire
        this.active.delete(key);
        entry.release();
        entry.fire();
      }
    } finally {
      this.firing = false;
      this.schedule(clock);
    }
  }

  // Start the native timer for the earliest deadline, or stop it when nothing is armed (it then keeps nothing alive).
  private schedule(clock: NativeTimer): void {
    let next = Number.POSITIVE_INFINITY;
    for (const entry of this.active.values()) if (entry.deadline < next) next = entry.deadline;
    if (next === Number.POSITIVE_INFINITY) {
      this.sleep();
      return;
    }
    this.wakeAt = next;
    clock.start(Math.max(0, next - clock.now()));
  }

  private sleep(): void {
    if (this.wakeAt === null) return;
    this.wakeAt = null;
    this.clock?.stop();
  }
}

function noop(): void {
  // Replaced by the owner's release as soon as the entry is registered.
}
