// Test helpers: start the real `tend` CLI, read its output as it arrives, wait for events, clean up every process.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, rmSync, watch, type FSWatcher } from 'node:fs';
import { constants, tmpdir } from 'node:os';
import { StringDecoder } from 'node:string_decoder';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TendEvent } from '../../src/core/events.js';

/** The repository root, computed from this file's compiled location (dist/test/helpers). */
export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
/** The CLI as a user runs it. */
export const tendBin = join(repoRoot, 'bin', 'tend');
/** Fixture programs (plain JS, sh and python, not compiled). */
export const fixture = (name: string): string => join(repoRoot, 'test', 'fixtures', name);

/** A running process whose output is collected and can be awaited. */
export interface Proc {
  readonly child: ChildProcess;
  readonly pid: number;
  /** performance.now() just after the spawn call returned. */
  readonly startedAt: number;
  stdout(): string;
  stderr(): string;
  /** Resolve when the combined stdout+stderr matches, reject after timeoutMs with what was seen. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** Resolve with the exit code (or 128+signal), reject after timeoutMs. */
  exited(timeoutMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const started = new Set<number>();

// Start a command with piped output; it is remembered so killAll() can clean it up.
export function start(argv: readonly string[], options: { env?: NodeJS.ProcessEnv; cwd?: string; stdin?: 'pipe' | 'ignore' } = {}): Proc {
  const [file, ...args] = argv;
  if (file === undefined) throw new Error('empty argv');
  const child = spawn(file, args, { stdio: [options.stdin ?? 'ignore', 'pipe', 'pipe'], env: options.env ?? process.env, cwd: options.cwd ?? repoRoot });
  if (child.pid === undefined) throw new Error(`could not start ${file}`);
  started.add(child.pid);
  let out = '';
  let err = '';
  const waiters = new Set<() => void>();
  const notify = (): void => { for (const w of [...waiters]) w(); };
  child.stdout?.on('data', (d: Buffer) => { out += d.toString(); notify(); });
  child.stderr?.on('data', (d: Buffer) => { err += d.toString(); notify(); });
  let exit: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  const exitWaiters = new Set<() => void>();
  child.on('close', (code, signal) => {
    exit = { code, signal };
    if (child.pid !== undefined) started.delete(child.pid);
    for (const w of [...exitWaiters]) w();
    notify();
  });
  const pid = child.pid;
  const startedAt = performance.now();
  return {
    child,
    pid,
    startedAt,
    stdout: () => out,
    stderr: () => err,
    waitFor(pattern, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const check = (): boolean => {
          const m = (out + err).match(pattern);
          if (m !== null) { cleanup(); resolve(m); return true; }
          if (exit !== null) { cleanup(); reject(new Error(`process exited (${JSON.stringify(exit)}) before ${String(pattern)}\nstdout:\n${out}\nstderr:\n${err}`)); return true; }
          return false;
        };
        const timer = setTimeout(() => { cleanup(); reject(new Error(`timed out after ${timeoutMs} ms waiting for ${String(pattern)}\nstdout:\n${out}\nstderr:\n${err}`)); }, timeoutMs);
        const cleanup = (): void => { clearTimeout(timer); waiters.delete(listener); };
        const listener = (): void => { check(); };
        if (!check()) waiters.add(listener);
      });
    },
    exited(timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        if (exit !== null) { resolve(exit); return; }
        const timer = setTimeout(() => { exitWaiters.delete(done); reject(new Error(`timed out after ${timeoutMs} ms waiting for exit\nstdout:\n${out}\nstderr:\n${err}`)); }, timeoutMs);
        const done = (): void => { clearTimeout(timer); exitWaiters.delete(done); if (exit !== null) resolve(exit); };
        exitWaiters.add(done);
      });
    },
  };
}

/** One line of `--event-log`: an event of the core's typed stream and when tend wrote it (ms since the epoch). */
export type LoggedEvent = TendEvent & { readonly at: number };
/** A logged event of one type. */
export type EventOf<K extends TendEvent['type']> = Extract<TendEvent, { readonly type: K }> & { readonly at: number };

/** A tend's typed event stream (`--event-log` file), read as it grows. */
export interface EventLog {
  /** The file tend writes its events to. */
  readonly eventLog: string;
  /** Every event tend has written so far, in order. */
  readonly events: () => LoggedEvent[];
  /** The events of one type written so far. */
  readonly eventsOf: <K extends TendEvent['type']>(type: K) => EventOf<K>[];
  /**
   * Resolve with the first event (at index `from` or later) that matches; reject after timeoutMs, or as soon as tend
   * has exited without writing one, with the events seen.
   */
  readonly waitEvent: {
    <E extends LoggedEvent>(match: (e: LoggedEvent) => e is E, timeoutMs?: number, from?: number): Promise<E>;
    (match: (e: LoggedEvent) => boolean, timeoutMs?: number, from?: number): Promise<LoggedEvent>;
  };
  /** Like waitEvent, for the first `count` matching events. */
  readonly waitEvents: {
    <E extends LoggedEvent>(match: (e: LoggedEvent) => e is E, count: number, timeoutMs?: number, from?: number): Promise<E[]>;
    (match: (e: LoggedEvent) => boolean, count: number, timeoutMs?: number, from?: number): Promise<LoggedEvent[]>;
  };
}

/** A running tend whose event stream can be read and awaited. */
export interface TendProc extends Proc, EventLog {}

// A type guard for `waitEvent` and filters: events of `type` for which `where` holds.
export function is<K extends TendEvent['type']>(type: K, where: (e: EventOf<K>) => boolean = () => true): (e: LoggedEvent) => e is EventOf<K> {
  return (e): e is EventOf<K> => e.type === type && where(e as EventOf<K>);
}

let eventDir: string | null = null;
let eventFiles = 0;
process.on('exit', () => { if (eventDir !== null) rmSync(eventDir, { recursive: true, force: true }); });

// Every event in an event-log file written so far (an empty list when there is none yet).
export function readEventLog(path: string): LoggedEvent[] {
  try {
    return readFileSync(path, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as LoggedEvent);
  } catch {
    return [];
  }
}

// A fresh path for one tend's event log, in a directory removed when the test process exits.
export function eventLogPath(): string {
  eventDir ??= mkdtempSync(join(tmpdir(), 'tend-events-'));
  return join(eventDir, `${eventFiles++}.jsonl`);
}

// Put `--event-log PATH` into a `tend run` argv (right after `run`, so before `--`); other commands are left alone.
// A test that gives its own --event-log later in the argv wins (the last value of an option counts).
function withEventLog(args: readonly string[], path: string): string[] {
  if (args[0] !== 'run') return [...args];
  return ['run', '--event-log', path, ...args.slice(1)];
}

/** How often the reader looks at the file when no inotify event arrives (a fallback, e.g. on overlay filesystems). */
const EVENT_POLL_MS = 25;

// Read `path` as JSON lines as tend appends them: each read() takes only what is new, and only whole lines; finish()
// reads the rest and closes the file (call it once tend has exited: the file is then complete).
function eventReader(path: string): { readonly read: () => LoggedEvent[]; readonly finish: () => void } {
  const events: LoggedEvent[] = [];
  let fd: number | null = null;
  let finished = false;
  let partial = '';
  const chunk = Buffer.alloc(64 * 1024);
  // A read can end inside a multi-byte character: the decoder keeps its first bytes for the next read.
  const decoder = new StringDecoder('utf8');
  const read = (): LoggedEvent[] => {
    if (finished) return events;
    if (fd === null) {
      try { fd = openSync(path, 'r'); } catch { return events; }
    }
    for (let n = readSync(fd, chunk); n > 0; n = readSync(fd, chunk)) partial += decoder.write(chunk.subarray(0, n));
    const end = partial.lastIndexOf('\n');
    if (end >= 0) {
      for (const line of partial.slice(0, end).split('\n')) if (line !== '') events.push(JSON.parse(line) as LoggedEvent);
      partial = partial.slice(end + 1);
    }
    return events;
  };
  return {
    read,
    finish: () => {
      read();
      finished = true;
      if (fd !== null) closeSync(fd);
      fd = null;
    },
  };
}

// Read the event log at `path` as tend writes it (inotify, with a poll as a fallback). `ended` says whether the
// writer is known to be gone; `context` adds what else to show when a wait fails. For a tend the test did not start
// itself (one inside a systemd box writing to a shared directory); startTend() wires this to its process.
export function watchEventLog(path: string, ended: () => boolean = () => false, context: () => string = () => ''): EventLog & { readonly finish: () => void } {
  const reader = eventReader(path);
  const read = reader.read;
  const describe = (): string => `events:\n${read().map((e) => JSON.stringify(e)).join('\n')}${context()}`;
  function waitEvents(match: (e: LoggedEvent) => boolean, count: number, timeoutMs = 10_000, from = 0): Promise<LoggedEvent[]> {
    return new Promise((resolve, reject) => {
      let watcher: FSWatcher | null = null;
      const check = (): void => {
        const found = read().slice(from).filter(match);
        if (found.length >= count) { finish(); resolve(found.slice(0, count)); return; }
        // tend writes its last event before it exits, and the file is complete once the process is gone.
        if (ended()) { finish(); reject(new Error(`tend exited with ${found.length} of the ${count} event(s) awaited\n${describe()}`)); }
      };
      const poll = setInterval(check, EVENT_POLL_MS);
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${count} event(s)\n${describe()}`));
      }, timeoutMs);
      const finish = (): void => { clearInterval(poll); clearTimeout(timer); watcher?.close(); };
      try { watcher = watch(dirname(path), check); } catch { watcher = null; }
      check();
    });
  }
  return {
    eventLog: path,
    events: () => [...read()],
    eventsOf: <K extends TendEvent['type']>(type: K) => read().filter(is(type)),
    waitEvent: (async (match: (e: LoggedEvent) => boolean, timeoutMs?: number, from?: number) => (await waitEvents(match, 1, timeoutMs, from))[0]) as EventLog['waitEvent'],
    waitEvents,
    finish: reader.finish,
  };
}

// Give a started tend the event-log methods; a wait ends as soon as the process has exited without the event.
function withEvents(proc: Proc, path: string): TendProc {
  let closed = false;
  const log = watchEventLog(path, () => closed, () => `\nstderr:\n${proc.stderr()}`);
  proc.child.once('close', () => { closed = true; log.finish(); });
  const { eventLog, events, eventsOf, waitEvent, waitEvents } = log;
  return { ...proc, eventLog, events, eventsOf, waitEvent, waitEvents };
}

// Start `tend` with the given arguments; `tend run` also writes its event stream to a file of its own.
export function startTend(args: readonly string[], options: { env?: NodeJS.ProcessEnv; cwd?: string; stdin?: 'pipe' | 'ignore' } = {}): TendProc {
  const path = eventLogPath();
  return withEvents(start([tendBin, ...withEventLog(args, path)], options), path);
}

// Start `tend` as PID 1 of a new PID namespace (unshare -p -f --mount-proc), as in a container.
export function startTendAsPid1(args: readonly string[], options: { env?: NodeJS.ProcessEnv } = {}): TendProc {
  const path = eventLogPath();
  return withEvents(start(['unshare', '-p', '-f', '--mount-proc', '--kill-child', tendBin, ...withEventLog(args, path)], options), path);
}

/** Exit code the way a shell reports it. */
export function shellCode(exit: { code: number | null; signal: NodeJS.Signals | null }): number {
  if (exit.code !== null) return exit.code;
  return 128 + (exit.signal === null ? 0 : signalNumber(exit.signal));
}

function signalNumber(signal: NodeJS.Signals): number {
  return constants.signals[signal];
}

/** Parsed fields of /proc/PID/stat that tests look at. */
export interface ProcStat { pid: number; state: string; ppid: number; pgrp: number; tpgid: number }

// Read /proc/PID/stat; null if the process is gone.
export function procStat(pid: number): ProcStat | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { pid, state: f[0] ?? '?', ppid: Number(f[1]), pgrp: Number(f[2]), tpgid: Number(f[5]) };
  } catch {
    return null;
  }
}

// Every live descendant of `root` (by parent pid), found by scanning /proc.
export function descendants(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const st = procStat(Number(name));
    if (st === null) continue;
    const list = children.get(st.ppid) ?? [];
    list.push(st.pid);
    children.set(st.ppid, list);
  }
  const out: number[] = [];
  const stack = [root];
  while (stack.length > 0) {
    const pid = stack.pop()!;
    for (const c of children.get(pid) ?? []) { out.push(c); stack.push(c); }
  }
  return out;
}

const tempDirs: string[] = [];

/** A fresh directory under $TMPDIR for one test (`prefix` names the suite); removeTempDirs() deletes it. */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}

/** Deletes every directory tempDir() made; call it after each test, with killAll(). */
export function removeTempDirs(): void {
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

// SIGKILL every process a test started and all their descendants (call from afterEach).
export function killAll(): void {
  for (const pid of started) {
    const tree = [pid, ...descendants(pid)];
    for (const p of tree) { try { process.kill(p, 'SIGSTOP'); } catch { /* gone */ } }
    for (const p of tree) { try { process.kill(p, 'SIGKILL'); } catch { /* gone */ } }
  }
  started.clear();
}

// Resolve when `predicate` holds, polling every 20 ms (for facts only the kernel knows, such as a process state).
export async function until(predicate: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
