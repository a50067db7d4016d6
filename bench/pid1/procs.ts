// Process plumbing for the PID 1 benchmark: start a supervisor (optionally as PID 1 of a new PID namespace),
// read its child's stdout line by line with arrival times, find the namespace's PID 1 on the host, and kill
// everything that was started, even on errors (every session is registered until it has exited).
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { msBetween, nowNs, sleep, yieldNow } from './stats.js';
import { childrenOf, signalQuietly, statusKb, withTimeout } from '../common/procfs.js';

export { childrenOf, signalQuietly, statusKb };

/** One line of the session's stdout and when the harness read it. */
export interface Line {
  text: string;
  atNs: bigint;
}

/** How the session's top process (unshare, or the supervisor in plain mode) ended. */
export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
  atNs: bigint;
}

/** The prefix that makes a command PID 1 of a new PID namespace (killed with everything in it if unshare dies). */
export const UNSHARE = ['unshare', '--pid', '--fork', '--mount-proc', '--kill-child', '--'] as const;

const live = new Set<Session>();

/** A started process tree: `unshare … <supervisor> <child>` or, in plain mode, `<supervisor> <child>`. */
export class Session {
  readonly pid: number;
  readonly spawnedAtNs: bigint;
  readonly lines: Line[] = [];
  readonly exited: Promise<ExitInfo>;
  exit: ExitInfo | null = null;
  stderr = '';
  private readonly proc: ChildProcess;
  private partial = '';
  private readonly wakers = new Set<() => void>();

  // Spawn `argv` in its own process group; `inNamespace` means argv starts with UNSHARE.
  constructor(argv: readonly string[], readonly inNamespace: boolean) {
    const [file, ...args] = argv;
    if (file === undefined) throw new Error('empty argv');
    this.spawnedAtNs = nowNs();
    this.proc = spawn(file, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    if (this.proc.pid === undefined) throw new Error(`cannot spawn ${file}`);
    this.pid = this.proc.pid;
    live.add(this);
    this.proc.stdout?.setEncoding('utf8').on('data', (chunk: string) => { this.onData(chunk); });
    this.proc.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      this.stderr = (this.stderr + chunk).slice(-4000);
    });
    this.exited = new Promise((resolve) => {
      this.proc.on('exit', (code, signal) => {
        this.exit = { code, signal, atNs: nowNs() };
        live.delete(this);
        this.wake();
        resolve(this.exit);
      });
    });
    this.proc.on('error', (error) => { this.stderr += `\nspawn error: ${error.message}`; });
  }

  // The first line matching `match` (already read or still to come); null on timeout or if the session exits first.
  async waitFor(match: (text: string) => boolean, timeoutMs: number): Promise<Line | null> {
    const deadline = nowNs() + BigInt(Math.round(timeoutMs * 1e6));
    let seen = 0;
    for (;;) {
      for (; seen < this.lines.length; seen++) {
        const line = this.lines[seen]!;
        if (match(line.text)) return line;
      }
      if (this.exit !== null) {
        // stdout may still hold data after 'exit'; give it one turn of the event loop.
        await sleep(5);
        const late = this.lines.slice(seen).find((l) => match(l.text));
        return late ?? null;
      }
      const left = msBetween(nowNs(), deadline);
      if (left <= 0) return null;
      await this.nextEvent(left);
    }
  }

  // The line at `index` once it has arrived; null on timeout or exit.
  async lineAt(index: number, timeoutMs: number): Promise<Line | null> {
    const deadline = nowNs() + BigInt(Math.round(timeoutMs * 1e6));
    while (this.lines.length <= index) {
      const left = msBetween(nowNs(), deadline);
      if (left <= 0 || this.exit !== null) return this.lines[index] ?? null;
      await this.nextEvent(left);
    }
    return this.lines[index]!;
  }

  // Wait (bounded) for the top process to exit; null on timeout.
  async waitExit(timeoutMs: number): Promise<ExitInfo | null> {
    if (this.exit !== null) return this.exit;
    return withTimeout(this.exited, timeoutMs);
  }

  // Host pid of the supervisor: the child of unshare (PID 1 in the namespace), or the top process in plain mode.
  hostPid1(): number | null {
    if (!this.inNamespace) return this.pid;
    return childrenOf(this.pid)[0] ?? null;
  }

  // Poll for the namespace's PID 1 (busy: every event-loop turn, else every ms); null after `timeoutMs`.
  async findPid1(timeoutMs: number, busy = false): Promise<number | null> {
    const deadline = nowNs() + BigInt(Math.round(timeoutMs * 1e6));
    for (;;) {
      const pid = this.hostPid1();
      if (pid !== null || this.exit !== null || nowNs() > deadline) return pid;
      await (busy ? yieldNow() : sleep(1));
    }
  }

  // SIGKILL the whole tree (namespace PID 1 takes its namespace with it), then wait for exit (bounded).
  async close(): Promise<void> {
    killTree(this);
    if ((await this.waitExit(3000)) === null) {
      process.stderr.write(`pid1 bench: session ${this.pid} did not exit after SIGKILL\n`);
      live.delete(this);
    }
  }

  private onData(chunk: string): void {
    const atNs = nowNs();
    const parts = (this.partial + chunk).split('\n');
    this.partial = parts.pop() ?? '';
    for (const text of parts) this.lines.push({ text, atNs });
    this.wake();
  }

  private wake(): void {
    for (const waker of this.wakers) waker();
    this.wakers.clear();
  }

  private nextEvent(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, Math.max(1, Math.ceil(timeoutMs)));
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wakers.add(done);
    });
  }
}


// Every descendant of `pid` (breadth first, bounded so a fork bomb cannot hang the cleanup).
export function descendantsOf(pid: number): number[] {
  const out: number[] = [];
  const queue = [pid];
  while (queue.length > 0 && out.length < 100_000) {
    for (const child of childrenOf(queue.shift()!)) {
      out.push(child);
      queue.push(child);
    }
  }
  return out;
}


// The process's command name (/proc/PID/comm), or '' if it is gone.
export function commOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '';
  }
}


// SIGKILL a session synchronously: its descendants (collected first), its process group and itself.
function killTree(session: Session): void {
  if (session.exit !== null && !session.inNamespace) {
    // plain mode: the supervisor is gone, but an orphaned child could still be around; nothing to find it by.
    return;
  }
  const pids = descendantsOf(session.pid);
  signalQuietly(-session.pid, 'SIGKILL');
  signalQuietly(session.pid, 'SIGKILL');
  for (const pid of pids) signalQuietly(pid, 'SIGKILL');
}

// SIGKILL every session still alive (used on errors, ^C and process exit; synchronous).
export function killAllSessions(): void {
  for (const session of live) killTree(session);
}

// Fraction (0..1) of all CPUs' time spent busy over the next `sampleMs`, from /proc/stat: other load on the machine.
export async function cpuBusyFraction(sampleMs: number): Promise<number> {
  const read = (): { busy: number; total: number } => {
    const fields = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/).slice(1).map(Number);
    const total = fields.slice(0, 8).reduce((a, b) => a + b, 0);
    const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
    return { busy: total - idle, total };
  };
  const a = read();
  await sleep(sampleMs);
  const b = read();
  return b.total > a.total ? (b.busy - a.busy) / (b.total - a.total) : 0;
}
