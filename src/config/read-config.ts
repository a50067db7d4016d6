// Reading a config file without trusting it: only a regular file, at most 1 MiB, and a structure small enough that
// the parsers finish quickly (a FIFO must not hang tend, /dev/zero must not eat its memory, 40,000 YAML keys must not
// take seconds, deep nesting must not overflow the stack).
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { TendError } from '../errors.js';

/** The largest config file tend reads. */
export const MAX_CONFIG_BYTES = 1024 * 1024;
/** The deepest nesting of maps and lists a config may have. */
export const MAX_CONFIG_DEPTH = 32;
/** The most keys, list items and separators a config may have. */
export const MAX_CONFIG_NODES = 10_000;

function configError(path: string, problem: string, fix: string, cause?: unknown): TendError {
  return new TendError('TEND_ERR_CONFIG', `unable to read --config ${JSON.stringify(path)}: ${problem}; ${fix}`, { cause });
}

// Refuse anything but a regular file, checked on the open descriptor (O_NONBLOCK: opening a FIFO never blocks).
export function openRegularFile(path: string): number {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    throw configError(path, code, code === 'EISDIR' ? 'give a file, not a directory' : 'check the path', error);
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) {
      const what = stat.isDirectory() ? 'a directory' : stat.isFIFO() ? 'a FIFO' : stat.isCharacterDevice() ? 'a character device'
        : stat.isSocket() ? 'a socket' : 'not a regular file';
      throw configError(path, `it is ${what}`, 'give a regular file');
    }
    if (stat.size > MAX_CONFIG_BYTES) throw configError(path, `it is ${stat.size} bytes, more than ${MAX_CONFIG_BYTES}`, 'split it or trim it');
    return fd;
  } catch (error) {
    closeSync(fd);
    throw error;
  }
}

// Read a config file as UTF-8 text, refusing non-regular files and files over the size cap.
export function readConfigText(path: string): string {
  const fd = openRegularFile(path);
  try {
    // The size can grow between fstat and read: read at most one byte past the cap to notice.
    const buffer = Buffer.alloc(MAX_CONFIG_BYTES + 1);
    let length = 0;
    for (;;) {
      const n = readSync(fd, buffer, length, buffer.length - length, null);
      if (n === 0) break;
      length += n;
      if (length > MAX_CONFIG_BYTES) throw configError(path, `it is more than ${MAX_CONFIG_BYTES} bytes`, 'split it or trim it');
    }
    return buffer.subarray(0, length).toString('utf8');
  } catch (error) {
    if (error instanceof TendError) throw error;
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    throw configError(path, code, 'check the file', error);
  } finally {
    closeSync(fd);
  }
}

interface Scan {
  readonly path: string;
  depth: number;
  nodes: number;
  quote: string;
  prev: string;
  lineStart: boolean;
  indent: number;
  readonly indents: number[];
}

function countNode(scan: Scan): void {
  if (++scan.nodes > MAX_CONFIG_NODES) throw tooMany(scan.path);
}

// At the first non-blank character of a line: close the block levels indented at least as deep, open this one.
function enterLine(scan: Scan): void {
  const { indents } = scan;
  while (indents.length > 0 && (indents[indents.length - 1] ?? 0) >= scan.indent) indents.pop();
  indents.push(scan.indent);
  if (indents.length > MAX_CONFIG_DEPTH) throw tooDeep(scan.path);
}

// One character outside quotes; returns how many characters to skip (a comment runs to the end of the line).
function scanChar(scan: Scan, text: string, i: number, ch: string): number {
  // A quote or comment starts only where a token starts (YAML allows "it's" and "a#b" inside a plain scalar).
  const atTokenStart = ' \t\n[{,:-'.includes(scan.prev);
  scan.prev = ch;
  if ((ch === '"' || ch === "'") && atTokenStart) scan.quote = ch;
  else if (ch === '[' || ch === '{') { if (++scan.depth > MAX_CONFIG_DEPTH) throw tooDeep(scan.path); }
  else if (ch === ']' || ch === '}') scan.depth = Math.max(0, scan.depth - 1);
  else if (ch === ':' || ch === ',') countNode(scan);
  else if (ch === '\n') { scan.lineStart = true; scan.indent = 0; countNode(scan); }
  else if (ch === '#' && atTokenStart) { const end = text.indexOf('\n', i); return (end < 0 ? text.length : end) - i - 1; }
  return 0;
}

// Bound a JSON or YAML text before parsing it: nesting of brackets and indentation, and the count of separators.
// A bound, not a parser: quoted strings and comments are skipped, so a real config is never near the limits.
export function checkTextBounds(path: string, text: string): void {
  if (text.length > MAX_CONFIG_BYTES) throw configError(path, `it is more than ${MAX_CONFIG_BYTES} bytes`, 'split it or trim it');
  const scan: Scan = { path, depth: 0, nodes: 0, quote: '', prev: '\n', lineStart: true, indent: 0, indents: [] };
  for (let i = 0; i < text.length; i++) {
    const ch = text.charAt(i);
    if (scan.quote !== '') {
      if (ch === '\\' && scan.quote === '"') i++;
      else if (ch === scan.quote) scan.quote = '';
      else if (ch === '\n') countNode(scan);
      scan.prev = ch;
      continue;
    }
    if (scan.lineStart) {
      if (ch === ' ' || ch === '-') { scan.indent++; continue; }
      scan.lineStart = false;
      if (ch !== '\n' && ch !== '#') enterLine(scan);
    }
    i += scanChar(scan, text, i, ch);
  }
}

// Bound an already-parsed value (an ecosystem.config.js export, or what a parser built): depth and node count,
// walked without recursion so a cyclic or deep object cannot overflow the stack.
export function checkValueBounds(path: string, value: unknown): void {
  const stack: { value: unknown; depth: number }[] = [{ value, depth: 0 }];
  let nodes = 0;
  while (stack.length > 0) {
    const item = stack.pop();
    if (item === undefined || item.value === null || typeof item.value !== 'object') continue;
    if (item.depth >= MAX_CONFIG_DEPTH) throw tooDeep(path);
    for (const child of Object.values(item.value)) {
      if (++nodes > MAX_CONFIG_NODES) throw tooMany(path);
      stack.push({ value: child, depth: item.depth + 1 });
    }
  }
}

function tooDeep(path: string): TendError {
  return new TendError('TEND_ERR_CONFIG', `unable to parse --config ${JSON.stringify(path)}: nested more than ${MAX_CONFIG_DEPTH} levels deep; flatten it`);
}

function tooMany(path: string): TendError {
  return new TendError('TEND_ERR_CONFIG', `unable to parse --config ${JSON.stringify(path)}: more than ${MAX_CONFIG_NODES} keys, items or lines; a config this size is not one tend reads`);
}
