// Bytes from a worker's pipe → whole lines, in linear time, with any line longer than maxLine cut into pieces.
// Pure: no I/O, no clock. The pump feeds it chunks as they are read and gets the lines back through a callback.

/** Where a piece sits in a line that was cut: `part` counts from 1; `more` says another piece of it follows. */
export interface LinePart {
  readonly part: number;
  readonly more: boolean;
}

/** Receives each line (without its '\n'); `cut` is null for a line that was not cut. `line` is only valid during
 * the call (it may be a view of the reader's buffer or of the splitter's own): copy what must be kept. */
export type LineHandler = (line: Buffer, cut: LinePart | null) => void;

/** The default --log-max-line: 64 KiB, Docker's and journald's order of magnitude. */
export const DEFAULT_MAX_LINE = 64 * 1024;

const NEWLINE = 0x0a;

// A UTF-8 continuation byte (10xxxxxx) never starts a character.
const isContinuation = (byte: number): boolean => (byte & 0xc0) === 0x80;

// Splits a byte stream into lines. The unfinished line is copied into one buffer of maxLine bytes owned by the
// splitter (never re-joined per chunk, never allocated per chunk), so every byte is copied at most once: the cost
// is linear and the memory is fixed whatever the worker writes.
export class LineSplitter {
  private partial: Buffer | null = null;
  private pending = 0;
  private piece = 0;

  constructor(private readonly maxLine: number = DEFAULT_MAX_LINE) {
    if (!Number.isInteger(maxLine) || maxLine < 4) throw new RangeError(`maxLine must be an integer >= 4, got ${maxLine}`);
  }

  // Feed one chunk (it may be reused once this returns); calls `onLine` for every line or cut piece, in order.
  push(chunk: Buffer, onLine: LineHandler): void {
    let pos = 0;
    while (pos < chunk.length) {
      const newline = chunk.indexOf(NEWLINE, pos);
      const end = newline < 0 ? chunk.length : newline;
      pos = this.cutLongLine(chunk, pos, end, onLine);
      if (newline < 0) {
        this.keep(chunk, pos, end);
        return;
      }
      onLine(this.take(chunk, pos, end), this.finishPiece());
      pos = newline + 1;
    }
  }

  // At end of input: hand over an unfinished last line (a final line without '\n' is still a line).
  flush(onLine: LineHandler): void {
    if (this.pending === 0 && this.piece === 0) return;
    onLine(this.take(Buffer.alloc(0), 0, 0), this.finishPiece());
  }

  /** Bytes of the unfinished line held now (at most maxLine). */
  get buffered(): number {
    return this.pending;
  }

  // While the unfinished line plus chunk[pos, end) exceeds maxLine, emit a maxLine piece; returns the new pos.
  private cutLongLine(chunk: Buffer, pos: number, end: number, onLine: LineHandler): number {
    let at = pos;
    while (this.pending + (end - at) > this.maxLine) {
      const need = this.maxLine - this.pending;
      const line = this.take(chunk, at, at + need);
      at += need;
      // Never split a UTF-8 character: if the next byte continues one, its first bytes move to the next piece.
      const back = utf8Carry(line, chunk[at] ?? 0);
      this.piece++;
      onLine(line.subarray(0, line.length - back), { part: this.piece, more: true });
      // (line may be a view of `partial` itself: copy() moves overlapping bytes correctly.)
      this.keep(line, line.length - back, line.length);
    }
    return at;
  }

  // Append from[start, end) to the unfinished line.
  private keep(from: Buffer, start: number, end: number): void {
    if (end <= start) return;
    this.partial ??= Buffer.allocUnsafeSlow(this.maxLine);
    from.copy(this.partial, this.pending, start, end);
    this.pending += end - start;
  }

  // The unfinished line followed by chunk[start, end), as one Buffer (a view, valid until the next push).
  private take(chunk: Buffer, start: number, end: number): Buffer {
    if (this.pending === 0 || this.partial === null) return chunk.subarray(start, end);
    chunk.copy(this.partial, this.pending, start, end);
    const line = this.partial.subarray(0, this.pending + end - start);
    this.pending = 0;
    return line;
  }

  // The LinePart of a line's last piece (null if the line was never cut); resets the piece count.
  private finishPiece(): LinePart | null {
    if (this.piece === 0) return null;
    const last = { part: this.piece + 1, more: false };
    this.piece = 0;
    return last;
  }
}

// How many bytes at the end of `line` begin a UTF-8 character that `next` continues (0 if none, or if invalid).
function utf8Carry(line: Buffer, next: number): number {
  if (!isContinuation(next)) return 0;
  for (let back = 1; back <= 3 && back < line.length; back++) {
    const byte = line[line.length - back] ?? 0;
    if ((byte & 0xc0) === 0xc0) return back;
    if (!isContinuation(byte)) return 0;
  }
  return 0;
}
