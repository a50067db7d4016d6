// Test helpers: start the real `tend` CLI, read its output as it arrives, wait for events, clean up every process.
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { constants } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

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

// Start `tend` with the given arguments.
export function startTend(args: readonly string[], options: { env?: NodeJS.ProcessEnv; cwd?: string; stdin?: 'pipe' | 'ignore' } = {}): Proc {
  return start([tendBin, ...args], options);
}

// Start `tend` as PID 1 of a new PID namespace (unshare -p -f --mount-proc), as in a container.
export function startTendAsPid1(args: readonly string[], options: { env?: NodeJS.ProcessEnv } = {}): Proc {
  return start(['unshare', '-p', '-f', '--mount-proc', '--kill-child', tendBin, ...args], options);
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
