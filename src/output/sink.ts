// One of tend's own output streams (stdout or stderr), shared by every worker's pump. Lines are copied into
// pooled blocks and written whole (a write never ends mid-line), so lines never interleave mid-line; the sink
// says when too much is queued, so pumps stop reading.
//
// Why blocks: a Buffer allocated per chunk is freed only when V8 collects it, and V8 lets such external garbage
// reach tens of MiB before it does. Blocks are reused as soon as the stream reports their write done, so tend's
// memory stays flat at any throughput.

/** The part of a Node Writable a sink uses (process.stdout, a net.Socket, a fs.WriteStream…). */
export interface SinkStream {
  write(chunk: Uint8Array, callback: (error?: Error | null) => void): boolean;
  readonly writableLength: number;
  readonly destroyed: boolean;
  on(event: 'drain' | 'close', listener: () => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
}

/** How a sink is written to. */
export interface SinkOptions {
  /** Bytes queued in the stream above which pumps pause their worker's pipe (default 1 MiB). */
  readonly maxQueuedBytes?: number;
  /** Colour prefixes (only for a terminal). */
  readonly colour?: boolean;
  /** The stream is journald's (JOURNAL_STREAM): stderr lines get an error priority. */
  readonly journald?: boolean;
}

/** The default cap on bytes queued per sink before pumps pause. */
export const DEFAULT_SINK_QUEUE = 1024 * 1024;
const BLOCK_SIZE = 256 * 1024;

interface Block {
  readonly bytes: Buffer;
  /** Bytes filled. */
  used: number;
  /** Start of what is filled but not yet written. */
  committed: number;
  /** Writes of this block not yet done. */
  inFlight: number;
  /** No more lines go into it; it returns to the pool once inFlight is 0. */
  retired: boolean;
}

// Wraps a Writable: copies lines into reused blocks, counts what it queues, wakes paused pumps when there is
// room again, and survives a vanished reader (lines then only reach the rings).
export class OutputSink {
  readonly colour: boolean;
  readonly journald: boolean;
  private readonly maxQueued: number;
  private readonly spare: Block[] = [];
  private readonly maxSpare: number;
  private current: Block | null = null;
  private waiters: (() => void)[] = [];
  private flushWaiters: (() => void)[] = [];
  private failure: Error | null = null;

  constructor(private readonly stream: SinkStream, options: SinkOptions = {}) {
    this.maxQueued = options.maxQueuedBytes ?? DEFAULT_SINK_QUEUE;
    this.maxSpare = Math.ceil(this.maxQueued / BLOCK_SIZE) + 2;
    this.colour = options.colour ?? false;
    this.journald = options.journald ?? false;
    stream.on('drain', () => { this.wakeAll(); });
    // EPIPE or a closed stream: nowhere is left to write; paused pumps must go on (lines still reach the rings).
    stream.on('error', (error) => { this.fail(error); });
    stream.on('close', () => { this.fail(new Error('the output stream closed')); });
  }

  // Add one whole line (its parts, '\n' included) to what the next commit() writes.
  appendLine(parts: readonly (Buffer | string)[]): void {
    if (this.failure !== null) return;
    let size = 0;
    for (const part of parts) size += typeof part === 'string' ? Buffer.byteLength(part) : part.length;
    if (size > BLOCK_SIZE / 2) {
      // A long line gets its own buffer: blocks stay for the common case, with little space wasted at their end.
      this.commit();
      const own = Buffer.allocUnsafeSlow(size);
      fill(own, 0, parts);
      this.send(own, null);
      return;
    }
    let block = this.current;
    if (block === null || block.used + size > BLOCK_SIZE) block = this.nextBlock();
    block.used = fill(block.bytes, block.used, parts);
  }

  // Write what appendLine() gathered: call it after the lines of one read, so each write is whole lines.
  commit(): void {
    const block = this.current;
    if (block === null || block.used === block.committed) return;
    const from = block.committed;
    block.committed = block.used;
    this.send(block.bytes.subarray(from, block.used), block);
  }

  /** True while more than the cap is queued: pumps should stop reading until `whenRoom()` resolves. */
  get full(): boolean {
    return this.failure === null && !this.stream.destroyed && this.stream.writableLength > this.maxQueued;
  }

  /** Bytes queued in the stream, not yet taken by the reader. */
  get queuedBytes(): number {
    return this.stream.writableLength;
  }

  /** Why the sink stopped taking lines, or null while it works. */
  get error(): Error | null {
    return this.failure;
  }

  // Resolves once the queue is back under the cap (or the stream failed): the moment to resume reading.
  whenRoom(): Promise<void> {
    if (!this.full) return Promise.resolve();
    return new Promise((resolve) => { this.waiters.push(resolve); });
  }

  // Resolves once everything queued was taken by the reader (or the stream failed), e.g. before tend exits.
  flushed(): Promise<void> {
    this.commit();
    if (this.failure !== null || this.stream.destroyed || this.stream.writableLength === 0) return Promise.resolve();
    return new Promise((resolve) => { this.flushWaiters.push(resolve); });
  }

  private send(bytes: Buffer, block: Block | null): void {
    if (this.failure !== null || this.stream.destroyed) return;
    if (block !== null) block.inFlight++;
    try {
      this.stream.write(bytes, () => { this.written(block); });
    } catch (error) {
      if (block !== null) block.inFlight--;
      this.fail(error instanceof Error ? error : new Error(String(error)));
    }
  }

  // A write is done: the stream no longer needs its bytes.
  private written(block: Block | null): void {
    if (block !== null) {
      block.inFlight--;
      this.recycle(block);
    }
    if (!this.full) this.wakeAll();
    if (this.stream.writableLength === 0) this.wakeFlushed();
  }

  private nextBlock(): Block {
    if (this.current !== null) {
      this.commit();
      this.current.retired = true;
      this.recycle(this.current);
    }
    const block = this.spare.pop() ?? { bytes: Buffer.allocUnsafeSlow(BLOCK_SIZE), used: 0, committed: 0, inFlight: 0, retired: false };
    block.used = 0;
    block.committed = 0;
    block.retired = false;
    this.current = block;
    return block;
  }

  private recycle(block: Block): void {
    if (!block.retired || block.inFlight > 0 || this.spare.includes(block)) return;
    if (this.spare.length < this.maxSpare) this.spare.push(block);
  }

  private fail(error: Error): void {
    this.failure ??= error;
    this.wakeAll();
    this.wakeFlushed();
  }

  private wakeAll(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  private wakeFlushed(): void {
    const waiters = this.flushWaiters;
    this.flushWaiters = [];
    for (const wake of waiters) wake();
  }
}

// Copy parts into `target` from `offset`; returns the end offset.
function fill(target: Buffer, offset: number, parts: readonly (Buffer | string)[]): number {
  let at = offset;
  for (const part of parts) at += typeof part === 'string' ? target.write(part, at) : part.copy(target, at);
  return at;
}
