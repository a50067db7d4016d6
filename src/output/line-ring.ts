// The recent lines of one worker, kept in memory (bounded by count and bytes) for `tend logs` and crash reports,
// and handed live to followers (`tend logs -f`), each with its own bounded queue.
import type { LinePart } from './line-splitter.js';
import type { OutputStream } from './format.js';

/** One kept line (or piece of a cut line), as the worker wrote it, without prefix or marker. */
export interface LogEntry {
  /** Date.now() when tend read it. */
  readonly time: number;
  readonly stream: OutputStream;
  readonly line: Buffer;
  readonly cut: LinePart | null;
}

/** Why a follower stopped: the ring closed (the worker's output ended), it fell behind, or it was closed. */
export type FollowEnd = 'closed' | 'lagged' | 'unsubscribed';

/** Bounds of a ring. */
export interface LineRingLimits {
  /** Most lines kept (default 1000). */
  readonly lines?: number;
  /** Most bytes of line text kept (default 256 KiB); the newest line is always kept. */
  readonly bytes?: number;
}

/** Options of `follow()`. */
export interface FollowOptions {
  /** Start with up to this many kept lines (default 0: only new ones). */
  readonly backlog?: number;
  /** A follower whose unread lines exceed this many bytes is dropped with reason 'lagged' (default 1 MiB). */
  readonly maxQueuedBytes?: number;
}

/** A live reader of a ring: iterate it with `for await`; `ended` says why iteration stopped. */
export interface LineFollower extends AsyncIterable<LogEntry> {
  readonly ended: Promise<FollowEnd>;
  /** Lines queued and not yet read. */
  readonly queuedBytes: number;
  // Stop following (iteration ends after nothing more; `ended` resolves 'unsubscribed').
  close(): void;
}

const DEFAULT_LINES = 1000;
const DEFAULT_BYTES = 256 * 1024;
const DEFAULT_FOLLOWER_BYTES = 1024 * 1024;

interface Slot {
  readonly time: number;
  readonly stream: OutputStream;
  readonly cut: LinePart | null;
  /** Where the line's bytes sit in the arena. */
  readonly offset: number;
  readonly length: number;
}

// The last lines of a worker: their bytes in one fixed arena (used as a circular byte queue), their metadata in a
// circular array. Nothing is allocated per line, so keeping lines costs no garbage at any throughput.
export class LineRing {
  private readonly slots: (Slot | undefined)[];
  private head = 0;
  private count = 0;
  private bytes = 0;
  private readonly arenaSize: number;
  private arena: Buffer | null = null;
  /** Arena offset where the next line's bytes go. */
  private end = 0;
  private readonly followers = new Set<Follower>();
  private isClosed = false;

  constructor(limits: LineRingLimits = {}) {
    const lines = limits.lines ?? DEFAULT_LINES;
    if (!Number.isInteger(lines) || lines < 1) throw new RangeError(`lines must be a positive integer, got ${lines}`);
    const bytes = limits.bytes ?? DEFAULT_BYTES;
    if (!Number.isInteger(bytes) || bytes < 1) throw new RangeError(`bytes must be a positive integer, got ${bytes}`);
    this.slots = new Array<Slot | undefined>(lines);
    this.arenaSize = bytes;
  }

  // Record a line (copied: `line` may be reused by the caller) and hand it to every follower.
  push(stream: OutputStream, line: Buffer, cut: LinePart | null = null, time: number = Date.now()): void {
    if (this.isClosed) return;
    // A line longer than the whole arena keeps its start (with `cut` unchanged: it says what the worker wrote).
    const length = Math.min(line.length, this.arenaSize);
    const offset = this.place(length);
    this.arena ??= Buffer.allocUnsafeSlow(this.arenaSize);
    line.copy(this.arena, offset, 0, length);
    if (this.count === this.slots.length) this.evict();
    const slot: Slot = { time, stream, cut, offset, length };
    this.slots[(this.head + this.count) % this.slots.length] = slot;
    this.count++;
    this.bytes += length;
    this.end = offset + length;
    if (this.followers.size > 0) {
      const entry = this.entryOf(slot);
      for (const follower of this.followers) follower.offer(entry);
    }
  }

  // The last `n` kept entries (all by default), oldest first; their bytes are copies.
  entries(n: number = this.count): LogEntry[] {
    const take = Math.max(0, Math.min(n, this.count));
    const out: LogEntry[] = [];
    for (let i = this.count - take; i < this.count; i++) {
      const slot = this.slots[(this.head + i) % this.slots.length];
      if (slot !== undefined) out.push(this.entryOf(slot));
    }
    return out;
  }

  // The last `n` kept lines as text, oldest first (what crash reports show).
  snapshot(n: number = this.count): string[] {
    return this.entries(n).map((e) => e.line.toString('utf8'));
  }

  /** Lines and bytes kept now. */
  get size(): { lines: number; bytes: number } {
    return { lines: this.count, bytes: this.bytes };
  }

  // Follow new lines as they arrive (optionally starting with the last `backlog` kept ones).
  follow(options: FollowOptions = {}): LineFollower {
    const follower = new Follower(options.maxQueuedBytes ?? DEFAULT_FOLLOWER_BYTES, (f) => this.followers.delete(f));
    for (const entry of this.entries(options.backlog ?? 0)) follower.offer(entry);
    if (this.isClosed) follower.end('closed');
    else this.followers.add(follower);
    return follower;
  }

  // The worker's output has ended: followers finish what is queued, then end with 'closed'. Kept lines stay.
  close(): void {
    this.isClosed = true;
    for (const follower of [...this.followers]) follower.end('closed');
  }

  // Find `length` contiguous free arena bytes after the newest line (wrapping to 0), evicting the oldest lines.
  private place(length: number): number {
    for (;;) {
      const oldest = this.slots[this.head];
      if (this.count === 0 || oldest === undefined) {
        this.end = 0;
        return 0;
      }
      if (this.end > oldest.offset || (this.end === oldest.offset && this.bytes === 0)) {
        // Used bytes run from oldest.offset to end: free space is after end, then before oldest.offset.
        if (this.arenaSize - this.end >= length) return this.end;
        if (oldest.offset >= length) return 0;
      } else if (oldest.offset - this.end >= length) {
        // Wrapped: free space is between end and the oldest line.
        return this.end;
      }
      this.evict();
    }
  }

  private entryOf(slot: Slot): LogEntry {
    const arena = this.arena ?? Buffer.alloc(0);
    return { time: slot.time, stream: slot.stream, cut: slot.cut, line: Buffer.from(arena.subarray(slot.offset, slot.offset + slot.length)) };
  }

  private evict(): void {
    const slot = this.slots[this.head];
    this.slots[this.head] = undefined;
    this.head = (this.head + 1) % this.slots.length;
    this.count--;
    this.bytes -= slot?.length ?? 0;
  }
}

class Follower implements LineFollower {
  private queue: (LogEntry | undefined)[] = [];
  private queueHead = 0;
  private bytes = 0;
  private reason: FollowEnd | null = null;
  private wake: (() => void) | null = null;
  private resolveEnded: (reason: FollowEnd) => void = () => undefined;
  readonly ended = new Promise<FollowEnd>((resolve) => { this.resolveEnded = resolve; });

  constructor(private readonly maxBytes: number, private readonly detach: (f: Follower) => void) {}

  get queuedBytes(): number {
    return this.bytes;
  }

  offer(entry: LogEntry): void {
    if (this.reason !== null) return;
    this.queue.push(entry);
    this.bytes += entry.line.length;
    // A slow reader is dropped rather than buffered for without limit; what it missed is told by 'lagged'.
    if (this.bytes > this.maxBytes) {
      this.queue = [];
      this.queueHead = 0;
      this.bytes = 0;
      this.end('lagged');
    }
    this.wakeUp();
  }

  end(reason: FollowEnd): void {
    if (this.reason !== null) return;
    this.reason = reason;
    this.detach(this);
    // 'closed' lets the reader finish the queue first; the others end iteration now.
    if (reason !== 'closed') this.resolveEnded(reason);
    this.wakeUp();
  }

  close(): void {
    this.queue = [];
    this.queueHead = 0;
    this.bytes = 0;
    this.end('unsubscribed');
  }

  async *[Symbol.asyncIterator](): AsyncIterator<LogEntry> {
    for (;;) {
      const entry = this.queue[this.queueHead];
      if (entry !== undefined) {
        this.queue[this.queueHead++] = undefined;
        if (this.queueHead > 1024 && this.queueHead * 2 > this.queue.length) {
          this.queue = this.queue.slice(this.queueHead);
          this.queueHead = 0;
        }
        this.bytes -= entry.line.length;
        yield entry;
        continue;
      }
      if (this.reason !== null) {
        this.resolveEnded(this.reason);
        return;
      }
      await new Promise<void>((resolve) => { this.wake = resolve; });
    }
  }

  private wakeUp(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }
}
