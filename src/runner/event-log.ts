// `--event-log PATH`: the typed event stream as JSON lines, written synchronously so nothing is lost at exit. This is
// what tests and external tools read instead of log text.
import { closeSync, openSync, writeSync } from 'node:fs';
import type { EventSink } from '../core/events.js';
import { TendError } from '../errors.js';

// A sink appending one JSON object per event to `path` (created if missing); the file is closed after `exit`.
export function eventLogSink(path: string): EventSink {
  let fd: number | null;
  try {
    fd = openSync(path, 'a', 0o600);
  } catch (error) {
    throw new TendError('TEND_ERR_USAGE', `--event-log ${JSON.stringify(path)}: ${(error as NodeJS.ErrnoException).code ?? String(error)}; give a writable file path`);
  }
  return (event) => {
    if (fd === null) return;
    try {
      writeSync(fd, `${JSON.stringify({ at: Date.now(), ...event })}\n`);
    } catch {
      // The file went away (disk full, closed): supervision goes on.
    }
    if (event.type === 'exit') {
      closeSync(fd);
      fd = null;
    }
  };
}
