// Worker output: a pump per worker stream reads the pipe tend owns, splits it into lines (cutting overlong ones),
// formats them and writes whole lines to a shared sink (tend's stdout or stderr). When the sink has more than its
// cap queued, the pump stops reading, so the pipe fills and the worker blocks on its own write: nothing is dropped
// and tend's memory stays bounded whatever the reader of tend's output does.
import { fstatSync } from 'node:fs';
import { Socket, type SocketConstructorOpts } from 'node:net';
import { createLineFormatter, type LogFormat, type LogPrefix, type OutputLabels, type OutputStream } from '../output/format.js';
import { LineRing } from '../output/line-ring.js';
import { DEFAULT_MAX_LINE, LineSplitter, type LinePart } from '../output/line-splitter.js';
import { OutputSink, type SinkOptions } from '../output/sink.js';

/** `--log-prefix` and `--log-format` together. */
export interface OutputFormatSettings {
  readonly prefix: LogPrefix;
  readonly format: LogFormat;
}

/** What one pump reads, and where its lines go. */
export interface PumpOptions {
  /** The read end of the worker's pipe; the pump takes it over and closes it at EOF. */
  readonly fd: number;
  readonly stream: OutputStream;
  readonly sink: OutputSink;
  readonly format: OutputFormatSettings;
  readonly labels: OutputLabels;
  /** `--log-max-line`: longer lines are cut into pieces (default 64 KiB). */
  readonly maxLine?: number;
  /** Where the worker's recent lines are kept (shared by its stdout and stderr pumps), or null. */
  readonly ring?: LineRing | null;
  /** Clock for JSON "time" and ring entries (tests). */
  readonly now?: () => number;
}

/** Counters of one pump, for status and tests. */
export interface PumpStats {
  readonly bytesRead: number;
  readonly lines: number;
  /** Pieces written for lines longer than maxLine. */
  readonly cutPieces: number;
  /** How often the pump stopped reading because the sink was full. */
  readonly pauses: number;
  /** Not reading now, waiting for the sink. */
  readonly paused: boolean;
}

/** A running pump. */
export interface OutputPump {
  /** Resolves at EOF (or a read error) once the last line was handed to the sink. */
  readonly done: Promise<void>;
  stats(): PumpStats;
}

/** Bytes read from a pipe at a time, into one buffer per pump reused for every read. */
const READ_SIZE = 64 * 1024;

// Start copying a worker's pipe to a sink, line by line, with back-pressure; the one way worker output flows.
export function pumpOutput(options: PumpOptions): OutputPump {
  const { sink, stream, ring = null } = options;
  const now = options.now ?? Date.now;
  const splitter = new LineSplitter(options.maxLine ?? DEFAULT_MAX_LINE);
  const format = createLineFormatter({ ...options.format, colour: sink.colour, journald: sink.journald }, options.labels, stream, now);
  const stats = { bytesRead: 0, lines: 0, cutPieces: 0, pauses: 0, paused: false };
  const write = (parts: readonly (Buffer | string)[]): void => { sink.appendLine(parts); };
  const onLine = (line: Buffer, cut: LinePart | null): void => {
    stats.lines++;
    if (cut !== null) stats.cutPieces++;
    format(line, cut, write);
    ring?.push(stream, line, cut, now());
  };
  let socket: Socket | null = null;
  // Every read lands in the same buffer (net's `onread`): no allocation per read, so no garbage to wait for.
  const onRead = (bytes: number, buffer: Buffer): boolean => {
    stats.bytesRead += bytes;
    splitter.push(buffer.subarray(0, bytes), onLine);
    sink.commit();
    if (!sink.full) return true;
    // Back-pressure: stop reading; the kernel pipe fills and the worker's own write() blocks.
    stats.paused = true;
    stats.pauses++;
    void sink.whenRoom().then(() => {
      stats.paused = false;
      socket?.resume();
    });
    return false;
  };
  // `onread` is a documented net.Socket option that @types/node 20 lacks; returning false pauses reading.
  const socketOptions: SocketConstructorOpts & { onread: { buffer: Buffer; callback: typeof onRead } } = {
    fd: options.fd, readable: true, writable: false, onread: { buffer: Buffer.allocUnsafeSlow(READ_SIZE), callback: onRead },
  };
  socket = new Socket(socketOptions);
  const reader = socket;
  const done = new Promise<void>((resolve) => {
    let finished = false;
    const finish = (): void => {
      if (finished) return;
      finished = true;
      splitter.flush(onLine);
      sink.commit();
      reader.destroy();
      resolve();
    };
    reader.on('end', finish);
    // EIO and the like end the stream as EOF would: what was read is still written out.
    reader.on('error', finish);
    reader.on('close', finish);
  });
  return { done, stats: () => ({ ...stats }) };
}

const stdioSinks = new Map<OutputStream, OutputSink>();

// The one sink for tend's stdout or stderr (shared by every pump, so lines never interleave mid-line).
export function stdioSink(which: OutputStream, options: Pick<SinkOptions, 'maxQueuedBytes'> = {}): OutputSink {
  let sink = stdioSinks.get(which);
  if (sink === undefined) {
    const stream = which === 'stdout' ? process.stdout : process.stderr;
    sink = new OutputSink(stream, {
      ...options,
      colour: stream.isTTY && !process.env['NO_COLOR'] && process.env['TERM'] !== 'dumb',
      journald: isJournalStream(which === 'stdout' ? 1 : 2),
    });
    stdioSinks.set(which, sink);
  }
  return sink;
}

// Wait until every stdio sink that exists has written what it holds (at exit); creates none.
export function flushStdioSinks(): Promise<void> {
  return Promise.all([...stdioSinks.values()].map((sink) => sink.flushed())).then(() => undefined);
}

// True when `fd` is the stream systemd connected to journald: JOURNAL_STREAM ("dev:ino") names its device and inode.
export function isJournalStream(fd: number, journalStream: string | undefined = process.env['JOURNAL_STREAM']): boolean {
  const match = /^(\d+):(\d+)$/.exec(journalStream ?? '');
  if (match === null) return false;
  try {
    const stat = fstatSync(fd, { bigint: true });
    return stat.dev === BigInt(match[1] ?? '') && stat.ino === BigInt(match[2] ?? '');
  } catch {
    return false;
  }
}

/** The last lines a worker wrote (the pool's crash reports): a LineRing whose snapshot shortens long lines. */
export class OutputTail extends LineRing {
  constructor(keep: number) {
    super({ lines: keep });
  }

  // The kept lines, oldest first, each cut to 500 characters.
  override snapshot(n?: number): string[] {
    return super.snapshot(n).map((line) => (line.length > 500 ? `${line.slice(0, 500)}…` : line));
  }
}

// The pool's current wiring: copy `fd` to tend's stdout or stderr as is, with back-pressure; resolves at EOF.
export function pipeOutput(fd: number, sink: NodeJS.WritableStream, tail: OutputTail): Promise<void> {
  const stream: OutputStream = sink === process.stderr ? 'stderr' : 'stdout';
  return pumpOutput({
    fd, stream, sink: stdioSink(stream), ring: tail,
    format: { prefix: 'none', format: 'text' },
    labels: { service: 'worker', slot: 0, pid: 0 },
  }).done;
}
