// One of tend's own output streams (stdout or stderr), shared by every worker's pump. Writes are whole lines
// only, so lines never interleave mid-line; the sink says when too much is queued, so pumps stop reading.

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

// Wraps a Writable: counts what it queues, wakes paused pumps when it drains, and survives a vanished reader.
export class OutputSink {
  readonly colour: boolean;
  readonly journald: boolean;
  private readonly maxQueued: number;
  private waiters: (() => void)[] = [];
  private flushWaiters: (() => void)[] = [];
  private readonly afterWrite = (): void => {
    if (!this.full) this.wakeAll();
    if (this.stream.writableLength === 0) this.wakeFlushed();
  };
  private failure: Error | null = null;

  constructor(private readonly stream: SinkStream, options: SinkOptions = {}) {
    this.maxQueued = options.maxQueuedBytes ?? DEFAULT_SINK_QUEUE;
    this.colour = options.colour ?? false;
    this.journald = options.journald ?? false;
    stream.on('drain', () => { this.wakeAll(); });
    // EPIPE or a closed stream: nowhere is left to write; paused pumps must go on (lines still reach the rings).
    stream.on('error', (error) => { this.fail(error); });
    stream.on('close', () => { this.fail(new Error('the output stream closed')); });
  }

  // Queue whole lines (one call = one or more complete lines, kept together).
  write(lines: Buffer): void {
    if (this.failure !== null || this.stream.destroyed) return;
    try {
      this.stream.write(lines, this.afterWrite);
    } catch (error) {
      this.fail(error instanceof Error ? error : new Error(String(error)));
    }
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
    if (this.failure !== null || this.stream.destroyed || this.stream.writableLength === 0) return Promise.resolve();
    return new Promise((resolve) => { this.flushWaiters.push(resolve); });
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
