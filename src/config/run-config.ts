// The typed configuration of `tend run`, and the pure parsers that turn flag values into it.
import { usageError } from '../errors.js';
import { formatDuration, parseDuration } from './duration.js';
import { parseSignal, type SignalName } from './signal-names.js';

/** One stage of the stop sequence: send `signal` (or the signal tend received), then wait up to `timeoutMs`. */
export interface StopStage {
  readonly signal: SignalName | 'received';
  readonly timeoutMs: number;
}

/** A resource limit to apply to every process tend starts. Infinity means unlimited. */
export interface LimitSpec {
  readonly name: RlimitName;
  readonly soft: number;
  readonly hard: number;
}

/** --user as written: a name or uid, and an optional group name or gid. */
export interface UserSpec {
  readonly user: string;
  readonly group: string | null;
}

/** Everything `tend run` needs to supervise one command. */
export interface RunConfig {
  readonly command: readonly string[];
  readonly before: readonly (readonly string[])[];
  readonly signalScope: 'group' | 'child';
  readonly subreaper: boolean;
  readonly remapExit: ReadonlyMap<number, number>;
  readonly stop: readonly StopStage[];
  readonly limits: readonly LimitSpec[];
  readonly user: UserSpec | null;
  readonly verbose: boolean;
  /** --event-log: where the typed event stream goes as JSON lines. */
  readonly eventLog: string | null;
}

/** Default time a stop stage waits before escalating: long enough for a Kubernetes-style 30 s grace period. */
export const DEFAULT_STOP_TIMEOUT_MS = 30_000;

/** tini-compatible default: forward the signal received, KILL only after the default timeout. */
export const DEFAULT_STOP: readonly StopStage[] = [{ signal: 'received', timeoutMs: DEFAULT_STOP_TIMEOUT_MS }];

export const RLIMIT_NAMES = [
  'as', 'core', 'cpu', 'data', 'fsize', 'locks', 'memlock', 'msgqueue',
  'nice', 'nofile', 'nproc', 'rss', 'rtprio', 'rttime', 'sigpending', 'stack',
] as const;
export type RlimitName = (typeof RLIMIT_NAMES)[number];

const BYTE_LIMITS: ReadonlySet<RlimitName> = new Set(['as', 'core', 'data', 'fsize', 'memlock', 'msgqueue', 'rss', 'stack']);
const SIZE_SUFFIX: Readonly<Record<string, number>> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

// Parse --stop "TSTP:10s,TERM:25s": each stage's signal and wait; KILL follows the last stage implicitly.
export function parseStopSpec(text: string): StopStage[] {
  const stages: StopStage[] = [];
  const parts = text.split(',').map((p) => p.trim());
  for (const [index, part] of parts.entries()) {
    if (part === '') throw usageError('--stop', text, 'empty stage', 'write stages like TSTP:10s,TERM:25s');
    const [signalText = '', durationText, extra] = part.split(':');
    if (extra !== undefined) throw usageError('--stop', text, `stage "${part}" has more than one ":"`, 'write SIGNAL or SIGNAL:DURATION');
    const signal = parseSignal(signalText);
    if (signal === null) throw usageError('--stop', text, `"${signalText}" is not a signal`, 'use a name like TERM, INT, TSTP or QUIT');
    if (signal === 'SIGKILL') {
      if (index !== parts.length - 1) throw usageError('--stop', text, 'KILL must be the last stage', 'remove the stages after KILL');
      if (durationText !== undefined) throw usageError('--stop', text, 'KILL cannot be waited on', 'write KILL without a duration');
      break;
    }
    if (signal === 'SIGSTOP') throw usageError('--stop', text, 'SIGSTOP would freeze the process instead of stopping it', 'use TSTP for a quiet phase');
    let timeoutMs = DEFAULT_STOP_TIMEOUT_MS;
    if (durationText !== undefined) {
      const parsed = parseDuration(durationText);
      if (typeof parsed !== 'number') throw usageError('--stop', text, parsed.problem, parsed.fix);
      timeoutMs = parsed;
    }
    stages.push({ signal, timeoutMs });
  }
  if (stages.length === 0) throw usageError('--stop', text, 'the sequence has no stage before KILL', 'start with a graceful signal, e.g. TERM:10s');
  return stages;
}

// Render a stop sequence for logs and --help, e.g. "TSTP 10s → TERM 25s → KILL".
export function describeStop(stages: readonly StopStage[]): string {
  const shown = stages.map((s) => `${s.signal === 'received' ? 'the signal received' : s.signal.slice(3)} ${formatDuration(s.timeoutMs)}`);
  return [...shown, 'KILL'].join(' → ');
}

// Parse --limit "nofile=65536:65536": one value sets soft and hard alike, as prlimit and systemd do.
export function parseLimit(text: string): LimitSpec {
  const eq = text.indexOf('=');
  const fix = 'write NAME=SOFT[:HARD], e.g. nofile=65536 or core=unlimited';
  if (eq < 0) throw usageError('--limit', text, 'missing "="', fix);
  const name = text.slice(0, eq).trim().toLowerCase().replace(/^rlimit_/, '');
  if (!(RLIMIT_NAMES as readonly string[]).includes(name)) {
    throw usageError('--limit', text, `"${name}" is not a resource limit`, `use one of ${RLIMIT_NAMES.join(', ')}`);
  }
  const resource = name as RlimitName;
  const values = text.slice(eq + 1).split(':');
  if (values.length > 2) throw usageError('--limit', text, 'too many ":"', fix);
  const soft = parseLimitValue(values[0] ?? '', resource, text);
  const hard = values[1] === undefined ? soft : parseLimitValue(values[1], resource, text);
  if (soft > hard) throw usageError('--limit', text, `soft limit ${soft} is above hard limit ${hard}`, 'make SOFT <= HARD');
  return { name: resource, soft, hard };
}

function parseLimitValue(raw: string, resource: RlimitName, text: string): number {
  const value = raw.trim().toLowerCase();
  if (value === 'unlimited' || value === 'infinity') return Infinity;
  const match = /^(\d+)([kmgt]?)$/.exec(value);
  if (match === null || (match[2] !== '' && !BYTE_LIMITS.has(resource))) {
    const sizes = BYTE_LIMITS.has(resource) ? ' (K, M, G and T suffixes are allowed for sizes)' : '';
    throw usageError('--limit', text, `"${raw}" is not a valid value for ${resource}`, `use a whole number or "unlimited"${sizes}`);
  }
  const n = Number(match[1]) * (SIZE_SUFFIX[match[2] ?? ''] ?? 1);
  if (!Number.isSafeInteger(n)) throw usageError('--limit', text, `"${raw}" is too large`, 'use "unlimited" instead');
  return n;
}

// Parse --remap-exit "143:0"; both sides must be exit codes 0-255.
export function parseRemap(text: string): [number, number] {
  const match = /^(\d{1,3}):(\d{1,3})$/.exec(text.trim());
  const from = Number(match?.[1]);
  const to = Number(match?.[2]);
  if (match === null || from > 255 || to > 255) {
    throw usageError('--remap-exit', text, 'expected FROM:TO with exit codes 0-255', 'write e.g. --remap-exit 143:0');
  }
  return [from, to];
}

// Parse --user "app", "app:staff" or "1000:1000".
export function parseUserSpec(text: string): UserSpec {
  const [user = '', group, extra] = text.split(':');
  if (user === '' || extra !== undefined || group === '') {
    throw usageError('--user', text, 'expected USER or USER:GROUP (names or numeric ids)', 'write e.g. --user app, --user app:staff or --user 1000:1000');
  }
  return { user, group: group ?? null };
}

// Parse --signal-scope.
export function parseSignalScope(text: string): 'group' | 'child' {
  if (text === 'group' || text === 'child') return text;
  throw usageError('--signal-scope', text, 'unknown scope', 'use "group" (the child\'s whole process group, the default) or "child"');
}
