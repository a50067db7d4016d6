// Worker output: read from a pipe, passed on to tend's own stdout/stderr whole lines at a time (so lines from
// different workers never interleave mid-line), with the last lines kept for crash reports.
import { Socket } from 'node:net';

/** The last lines a worker wrote, newest last. */
export class OutputTail {
  private readonly lines: string[] = [];
  constructor(private readonly keep: number) {}

  // Remember one line, dropping the oldest beyond `keep`.
  push(line: string): void {
    this.lines.push(line.length > 500 ? `${line.slice(0, 500)}…` : line);
    if (this.lines.length > this.keep) this.lines.shift();
  }

  // The kept lines, oldest first.
  snapshot(): readonly string[] {
    return [...this.lines];
  }
}

// Start copying `fd` (a pipe's read end, which this takes over) to `sink`, line by line; resolves at EOF.
export function pipeOutput(fd: number, sink: NodeJS.WritableStream, tail: OutputTail): Promise<void> {
  return new Promise((resolve) => {
    const socket = new Socket({ fd, readable: true, writable: false });
    let partial = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      const text = partial + chunk;
      const end = text.lastIndexOf('\n');
      if (end < 0) {
        partial = text;
        return;
      }
      const complete = text.slice(0, end + 1);
      partial = text.slice(end + 1);
      write(sink, complete);
      for (const line of complete.slice(0, -1).split('\n')) tail.push(line);
    });
    const finish = (): void => {
      if (partial !== '') {
        write(sink, `${partial}\n`);
        tail.push(partial);
        partial = '';
      }
      resolve();
    };
    socket.on('end', finish);
    socket.on('error', finish);
  });
}

function write(sink: NodeJS.WritableStream, text: string): void {
  try {
    sink.write(text);
  } catch {
    // tend's own output is gone; the worker keeps running.
  }
}
