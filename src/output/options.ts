// Parsers for the log settings (--log-prefix, --log-format, --log-max-line): one-line usage errors that name
// the flag, echo the value and say what to write instead.
import { parseSize } from '../config/pool-config.js';
import { usageError } from '../errors.js';
import type { LogFormat, LogPrefix } from './format.js';

/** Smallest and largest --log-max-line: below 1 KiB most stack frames would be cut; above 16 MiB is no cap. */
export const MAX_LINE_RANGE = { min: 1024, max: 16 * 1024 * 1024 } as const;

// `--log-prefix none|name|slot`.
export function parseLogPrefix(text: string): LogPrefix {
  if (text === 'none' || text === 'name' || text === 'slot') return text;
  throw usageError('--log-prefix', text, 'unknown prefix', 'write none, name (web | ) or slot (web.1 | )');
}

// `--log-format text|json`.
export function parseLogFormat(text: string): LogFormat {
  if (text === 'text' || text === 'json') return text;
  throw usageError('--log-format', text, 'unknown format', 'write text or json');
}

// `--log-max-line SIZE`, e.g. 64K or 1M.
export function parseLogMaxLine(text: string): number {
  const bytes = parseSize('--log-max-line', text);
  if (bytes < MAX_LINE_RANGE.min || bytes > MAX_LINE_RANGE.max) {
    throw usageError('--log-max-line', text, 'out of range', 'write a size from 1K to 16M, e.g. 64K');
  }
  return bytes;
}
