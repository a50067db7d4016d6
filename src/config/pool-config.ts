// The typed configuration of a worker pool (`tend run --workers N`), and the pure parsers for its flag values.
import { availableParallelism } from 'node:os';
import { usageError } from '../errors.js';
import { splitCommandLine } from './command-line.js';
import { parseDuration } from './duration.js';

/** A listening socket tend owns and hands to every worker (systemd socket-activation convention). */
export type ListenSpec =
  | { readonly kind: 'tcp'; readonly host: string; readonly port: number; readonly name: string }
  | {
      readonly kind: 'unix';
      readonly path: string;
      readonly mode: number | null;
      readonly owner: string | null;
      readonly group: string | null;
      readonly name: string;
    };

/** How tend decides that a worker is ready to take work. */
export type ReadyMode =
  | { readonly kind: 'auto' }
  | { readonly kind: 'notify' }
  | { readonly kind: 'listen' }
  | { readonly kind: 'delay'; readonly ms: number }
  | { readonly kind: 'http'; readonly url: string }
  | { readonly kind: 'tcp'; readonly host: string; readonly port: number };

/** Crash restarts: exponential backoff with jitter and a cap, reset after a stable run; crash-loop give-up. */
export interface RestartPolicy {
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
  readonly stableAfterMs: number;
  /** Consecutive failed starts (each shorter than stableAfterMs) before the pool counts as crash-looping. */
  readonly maxRestarts: number;
  /** Give up (stop everything, exit 75) or keep trying at the cap. */
  readonly onCrashLoop: 'exit' | 'retry';
}

/** Per-worker resource guards, judged over a window of samples. */
export interface GuardPolicy {
  readonly maxRssBytes: number | null;
  readonly maxCpuPercent: number | null;
  readonly windowMs: number;
  readonly sampleMs: number;
  /** Warn when a worker uses this fraction of its open-files limit. */
  readonly fdWarnRatio: number;
}

/** How a ready worker's liveness is checked (`--liveness`): GET PATH or a connect over its private probe socket, or a command. */
export type LivenessProbe =
  | { readonly kind: 'http'; readonly path: string }
  | { readonly kind: 'tcp' }
  | { readonly kind: 'exec'; readonly argv: readonly string[] };

/** `--liveness*`: the probe (null: none), how often, how long one may take, and the failures in a row that replace a worker. */
export interface LivenessPolicy {
  readonly probe: LivenessProbe | null;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly failures: number;
}

export const DEFAULT_LIVENESS: LivenessPolicy = { probe: null, intervalMs: 10_000, timeoutMs: 2_000, failures: 3 };

/** Everything specific to pools; `tend run` without --workers has none of it. */
export interface PoolConfig {
  readonly workers: number;
  readonly listen: readonly ListenSpec[];
  readonly socketStrategy: 'shared' | 'reuseport';
  readonly ready: ReadyMode;
  readonly readyTimeoutMs: number;
  readonly restart: RestartPolicy;
  readonly reloadSurge: number;
  readonly guards: GuardPolicy;
  readonly preload: boolean;
  readonly control: string | null;
  /** Per-worker watchdog: WATCHDOG_USEC for children; a worker whose pings stop is replaced. */
  readonly watchdogMs: number | null;
}

export const DEFAULT_RESTART: RestartPolicy = {
  initialDelayMs: 100,
  maxDelayMs: 30_000,
  stableAfterMs: 10_000,
  maxRestarts: 10,
  onCrashLoop: 'exit',
};

export const DEFAULT_GUARDS: GuardPolicy = { maxRssBytes: null, maxCpuPercent: null, windowMs: 30_000, sampleMs: 1_000, fdWarnRatio: 0.8 };

export const DEFAULT_READY_TIMEOUT_MS = 60_000;

// --workers N|max|auto: max = the number of cores, auto = cores - 1 (at least 1).
export function parseWorkers(text: string, cores = availableParallelism()): number {
  if (text === 'max') return cores;
  if (text === 'auto') return Math.max(1, cores - 1);
  if (/^\d+$/.test(text) && Number(text) >= 1 && Number(text) <= 1024) return Number(text);
  throw usageError('--workers', text, 'expected a count from 1 to 1024, "max" (one per core) or "auto" (cores - 1)', 'write e.g. --workers 4');
}

// --listen tcp://HOST:PORT or unix:/path?mode=0660&owner=app&group=www (name=NAME sets LISTEN_FDNAMES).
export function parseListen(text: string): ListenSpec {
  const fix = 'write tcp://0.0.0.0:3000, tcp://[::]:3000 or unix:/run/app.sock?mode=0660&owner=app&group=www';
  const [base = '', query = ''] = text.split('?', 2);
  const params = new URLSearchParams(query);
  for (const key of params.keys()) {
    if (!['mode', 'owner', 'group', 'name'].includes(key)) throw usageError('--listen', text, `unknown option "${key}"`, 'use mode, owner, group or name');
  }
  if (base.startsWith('tcp://')) {
    const match = /^tcp:\/\/(\[[0-9a-fA-F:.]+\]|[^:/[\]]+):(\d{1,5})$/.exec(base);
    const port = Number(match?.[2]);
    if (match === null || port > 65535) throw usageError('--listen', text, 'not a TCP address', fix);
    if (params.has('mode') || params.has('owner') || params.has('group')) {
      throw usageError('--listen', text, 'mode, owner and group apply to unix sockets only', 'remove them from the tcp address');
    }
    const host = (match[1] ?? '').replace(/^\[|\]$/g, '');
    return { kind: 'tcp', host, port, name: params.get('name') ?? 'tcp' };
  }
  if (base.startsWith('unix:')) return parseUnixListen(text, base.slice('unix:'.length), params, fix);
  throw usageError('--listen', text, 'unknown socket type', fix);
}

function parseUnixListen(text: string, path: string, params: URLSearchParams, fix: string): ListenSpec {
  if (!path.startsWith('/') && !path.startsWith('@')) throw usageError('--listen', text, 'the unix socket path must be absolute (or @abstract)', fix);
  if (path === '@' || path === '/') throw usageError('--listen', text, 'the socket has no name', 'write a path such as unix:/run/app.sock or an abstract name such as unix:@app');
  if (Buffer.byteLength(path) > UNIX_PATH_MAX) throw usageError('--listen', text, `the path is longer than ${UNIX_PATH_MAX} bytes (the kernel's limit for a unix socket)`, 'use a shorter path');
  if (path.includes('\0')) throw usageError('--listen', text, 'the path contains a NUL byte', 'remove it');
  const modeText = params.get('mode');
  if (modeText !== null && !/^0?[0-7]{3}$/.test(modeText)) throw usageError('--listen', text, `mode "${modeText}" is not octal`, 'write e.g. mode=0660');
  return {
    kind: 'unix',
    path,
    mode: modeText === null ? null : parseInt(modeText, 8),
    owner: params.get('owner'),
    group: params.get('group'),
    name: params.get('name') ?? 'unix',
  };
}

/** The longest unix socket path the kernel accepts (sun_path is 108 bytes with its terminating NUL). */
export const UNIX_PATH_MAX = 107;

// --ready auto|notify|listen|delay:DURATION|http://HOST:PORT/PATH|tcp://HOST:PORT
export function parseReady(text: string): ReadyMode {
  const fix = 'use auto, notify, listen, delay:2s, http://127.0.0.1:3000/health or tcp://127.0.0.1:3000';
  if (text === 'auto' || text === 'notify' || text === 'listen') return { kind: text };
  if (text.startsWith('delay:')) {
    const ms = parseDuration(text.slice('delay:'.length));
    if (typeof ms !== 'number') throw usageError('--ready', text, ms.problem, ms.fix);
    return { kind: 'delay', ms };
  }
  if (text.startsWith('http://')) {
    try {
      new URL(text);
    } catch {
      throw usageError('--ready', text, 'not a valid URL', fix);
    }
    return { kind: 'http', url: text };
  }
  if (text.startsWith('tcp://')) {
    const match = /^tcp:\/\/(\[[0-9a-fA-F:.]+\]|[^:/[\]]+):(\d{1,5})$/.exec(text);
    if (match === null || Number(match[2]) > 65535) throw usageError('--ready', text, 'not a TCP address', fix);
    return { kind: 'tcp', host: (match[1] ?? '').replace(/^\[|\]$/g, ''), port: Number(match[2]) };
  }
  throw usageError('--ready', text, 'unknown readiness mode', fix);
}

// --liveness http:PATH | tcp | exec:CMD (CMD split as --before is: sh-style quoting, no shell).
export function parseLiveness(text: string, flag = '--liveness'): LivenessProbe {
  const fix = "use http:/healthz (GET over the worker's private socket), tcp, or exec:CMD (e.g. exec:\"./check.sh\")";
  if (text === 'tcp') return { kind: 'tcp' };
  if (text.startsWith('http://')) throw usageError(flag, text, "a liveness probe goes to each worker's private socket, not to an address", 'write only the path, e.g. http:/healthz');
  if (text.startsWith('http:')) {
    const path = text.slice('http:'.length);
    if (!path.startsWith('/') || /[\s\0]/.test(path)) throw usageError(flag, text, 'the path must start with / and contain no spaces', 'write e.g. http:/healthz');
    return { kind: 'http', path };
  }
  if (text.startsWith('exec:')) {
    const split = splitCommandLine(text.slice('exec:'.length));
    if ('problem' in split) throw usageError(flag, text, split.problem, split.fix.replace('--before "', `${flag} "exec:`));
    if (split.argv.length === 0 || split.argv[0] === '') throw usageError(flag, text, 'the command is empty', 'write e.g. exec:./check.sh');
    return { kind: 'exec', argv: split.argv };
  }
  throw usageError(flag, text, 'unknown liveness probe', fix);
}

// A duration flag value, with the flag named in the error.
export function parseDurationFlag(flag: string, text: string): number {
  const ms = parseDuration(text);
  if (typeof ms !== 'number') throw usageError(flag, text, ms.problem, ms.fix);
  return ms;
}

// A positive duration (a zero timeout or watchdog would fire at once), with the flag named in the error.
export function parsePositiveDurationFlag(flag: string, text: string): number {
  const ms = parseDurationFlag(flag, text);
  if (ms <= 0) throw usageError(flag, text, 'must be longer than zero', `write e.g. ${flag} 10s`);
  return ms;
}

// A byte size such as 512M or 2G (1024-based); zero and sizes beyond 2^53 bytes are refused.
export function parseSize(flag: string, text: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?$/i.exec(text.trim());
  const scale: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };
  if (match === null) throw usageError(flag, text, 'not a size', 'write e.g. 512M or 2G');
  const bytes = Math.round(Number(match[1]) * (scale[(match[2] ?? '').toLowerCase()] ?? 1));
  if (bytes <= 0) throw usageError(flag, text, 'must be more than zero bytes', 'write e.g. 512M or 2G');
  if (!Number.isSafeInteger(bytes)) throw usageError(flag, text, 'is too large', 'write at most 8192T');
  return bytes;
}

// A path tend creates or opens (--control, --event-log): not empty, no NUL byte; a socket path fits sun_path.
export function parsePath(flag: string, text: string, kind: 'socket' | 'file'): string {
  if (text === '') throw usageError(flag, text, 'the path is empty', `give a path, e.g. ${flag} ${kind === 'socket' ? '/run/app.ctl' : '/run/tend-events.jsonl'}`);
  if (text.includes('\0')) throw usageError(flag, text, 'the path contains a NUL byte', 'remove it');
  if (kind === 'socket' && Buffer.byteLength(text) > UNIX_PATH_MAX) {
    throw usageError(flag, text, `the path is longer than ${UNIX_PATH_MAX} bytes (the kernel's limit for a unix socket)`, 'use a shorter path');
  }
  return text;
}

// A percentage such as 90 or 150% (CPU can exceed 100% on several cores).
export function parsePercent(flag: string, text: string): number {
  const match = /^(\d+(?:\.\d+)?)%?$/.exec(text.trim());
  if (match === null || Number(match[1]) <= 0) throw usageError(flag, text, 'not a positive percentage', 'write e.g. 90 or 150%');
  return Number(match[1]);
}

// A positive whole number with a range.
export function parseCount(flag: string, text: string, min: number, max: number): number {
  if (!/^\d+$/.test(text.trim()) || Number(text) < min || Number(text) > max) {
    throw usageError(flag, text, `expected a whole number from ${min} to ${max}`, `write e.g. ${flag} ${min}`);
  }
  return Number(text);
}
