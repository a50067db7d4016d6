// How a worker's line is written to tend's stdout/stderr: as is, with a `web.1 | ` prefix, or as a JSON object;
// with the journald priority on stderr lines when the sink is the journal. Pure: bytes in, bytes out.
import type { LinePart } from './line-splitter.js';

/** `--log-prefix`: nothing, the service name (`web | `), or service and slot (`web.1 | `). */
export type LogPrefix = 'none' | 'name' | 'slot';
/** `--log-format`: the worker's bytes (`text`), or one JSON object per line (`json`). */
export type LogFormat = 'text' | 'json';
/** Which of the worker's pipes a line came from. */
export type OutputStream = 'stdout' | 'stderr';

/** Who wrote a line. */
export interface OutputLabels {
  readonly service: string;
  readonly slot: number;
  readonly pid: number;
}

/** What the pump needs to know to format a line. */
export interface FormatOptions {
  readonly prefix: LogPrefix;
  readonly format: LogFormat;
  /** ANSI colour on the prefix: only when the sink is a terminal. */
  readonly colour: boolean;
  /** The sink is journald's stream (JOURNAL_STREAM): stderr lines get the `<3>` priority. */
  readonly journald: boolean;
}

/** One output line as parts (strings are UTF-8), its '\n' included; the parts are copied before it returns. */
export type LineOut = (parts: readonly (Buffer | string)[]) => void;
/** Formats one line (or cut piece) and hands it to `out`. */
export type LineFormatter = (line: Buffer, cut: LinePart | null, out: LineOut) => void;

/** Ends every piece of a cut line except the last (text format). */
export const CUT_MARKER = ' [tend:cut]';
/** Starts every piece of a cut line except the first (text format). */
export const CONTINUATION_MARKER = '[tend:cont] ';

// sd-daemon(3) priority prefix for errors; journald strips it and files the line at priority 3 ("err").
const JOURNAL_ERR = '<3>';
// Foreground colours that read on dark and light terminals; red is left out so it keeps meaning "error".
const PALETTE = [36, 33, 32, 35, 34, 96, 93, 92, 95, 94];

// Build the formatter for one worker stream; `now` is the clock for JSON's "time" (injectable for tests).
export function createLineFormatter(options: FormatOptions, labels: OutputLabels, stream: OutputStream, now: () => number = Date.now): LineFormatter {
  const priority = options.journald && stream === 'stderr' ? JOURNAL_ERR : null;
  if (options.format === 'json') return jsonFormatter(labels, stream, priority, options.journald, now);
  const prefix = prefixText(options, labels);
  return (line, cut, out) => {
    const own = options.journald && (cut === null || cut.part === 1) ? journalPriority(line) : null;
    const body = own === null ? line : line.subarray(own.length);
    const lead = own ?? priority;
    if (lead === null && prefix === '' && cut === null) {
      out([body, '\n']);
      return;
    }
    out([lead ?? '', prefix, cut !== null && cut.part > 1 ? CONTINUATION_MARKER : '', body, cut?.more === true ? CUT_MARKER : '', '\n']);
  };
}

// The prefix for a worker ('' for none), coloured by a hash of what it shows, so a slot keeps its colour.
export function prefixText(options: Pick<FormatOptions, 'prefix' | 'colour'>, labels: OutputLabels): string {
  if (options.prefix === 'none') return '';
  const name = options.prefix === 'slot' ? `${labels.service}.${labels.slot}` : labels.service;
  if (!options.colour) return `${name} | `;
  const colour = PALETTE[fnv1a(name) % PALETTE.length] ?? PALETTE[0];
  return `\x1b[${colour}m${name} |\x1b[0m `;
}

function jsonFormatter(labels: OutputLabels, stream: OutputStream, priority: string | null, journald: boolean, now: () => number): LineFormatter {
  const labelFields = { service: JSON.stringify(labels.service), slot: String(labels.slot), pid: String(labels.pid) };
  const wrapHead = `"service":${labelFields.service},"slot":${labelFields.slot},"pid":${labelFields.pid},"stream":"${stream}"`;
  return (line, cut, out) => {
    const own = journald && (cut === null || cut.part === 1) ? journalPriority(line) : null;
    const body = own === null ? line : line.subarray(own.length);
    const lead = own ?? priority ?? '';
    const object = cut === null ? parseJsonObject(body) : null;
    if (object !== null) {
      const [head, rest] = spliceLabels(body.subarray(0, object.end), object.value, labelFields);
      out([lead, head, rest, '\n']);
      return;
    }
    let text = body.toString('utf8');
    if (text.endsWith('\r')) text = text.slice(0, -1);
    const parts = cut === null ? '' : `,"part":${cut.part}${cut.more ? ',"partial":true' : ''}`;
    out([`${lead}{"time":"${new Date(now()).toISOString()}",${wrapHead},"msg":${JSON.stringify(text)}${parts}}\n`]);
  };
}

// If `line` is one JSON object ('{' first, '}' last but for trailing blanks, and it parses): the object and the
// index just past its '}'. Parsing is the only reliable test; it runs once, and only on lines that look like one.
function parseJsonObject(line: Buffer): { end: number; value: Readonly<Record<string, unknown>> } | null {
  if (line[0] !== 0x7b) return null;
  let end = line.length;
  while (end > 0 && isBlank(line[end - 1] ?? 0)) end--;
  if (line[end - 1] !== 0x7d) return null;
  try {
    const value: unknown = JSON.parse(line.toString('utf8', 0, end));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? { end, value: value as Record<string, unknown> } : null;
  } catch {
    return null;
  }
}

// The labels the object lacks, to insert right after its '{' (as [head, rest]); every other byte stays as written.
function spliceLabels(object: Buffer, present: Readonly<Record<string, unknown>>, fields: Readonly<Record<'service' | 'slot' | 'pid', string>>): [string, Buffer] {
  const added = Object.entries(fields).filter(([key]) => !Object.hasOwn(present, key)).map(([key, value]) => `"${key}":${value}`);
  if (added.length === 0) return ['', object];
  let rest = 1;
  while (rest < object.length && isBlank(object[rest] ?? 0)) rest++;
  const separator = object[rest] === 0x7d ? '' : ',';
  return [`{${added.join(',')}${separator}`, object.subarray(1)];
}

// A leading sd-daemon priority the worker wrote itself (`<0>` … `<7>`), kept in front of tend's prefix.
function journalPriority(line: Buffer): string | null {
  if (line.length >= 3 && line[0] === 0x3c && line[2] === 0x3e && (line[1] ?? 0) >= 0x30 && (line[1] ?? 0) <= 0x37) return line.toString('latin1', 0, 3);
  return null;
}

function isBlank(byte: number): boolean {
  return byte === 0x20 || byte === 0x09 || byte === 0x0d;
}

function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return hash;
}
