// Process plumbing for the pool benchmark: every process the harness starts carries a run marker in its
// environment (TEND_BENCH_RUN) and is started in its own process group; a final sweep kills whatever still
// carries the marker, so nothing outlives the run, even after an error or ^C. All waits are bounded.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { childrenOf, signalQuietly, statusKb, withTimeout } from '../common/procfs.js';

export { childrenOf, signalQuietly };

// /proc/PID/status VmRSS in kB, or null if the process is gone.
export function rssKb(pid: number): number | null {
  return statusKb(pid, 'VmRSS');
}

/** The marker every started process inherits (PM2's daemon and its workers included: they copy the env). */
export const RUN_ID = `${process.pid}-${Date.now().toString(36)}`;
const MARKER = `TEND_BENCH_RUN=${RUN_ID}`;

// The environment for anything the harness starts: ours, without NODE_OPTIONS (no preload unless tend adds
// one), plus the run marker and `extra`.
export function benchEnv(extra: Readonly<Record<string, string>> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
  delete env['NODE_OPTIONS'];
  delete env['PM2_HOME'];
  return { ...env, TEND_BENCH_RUN: RUN_ID, ...extra };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** How a started process ended. */
export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A long-running process (a supervisor) in its own process group, with its output kept line by line. */
export class Proc {
  readonly pid: number;
  readonly stdout: string[] = [];
  readonly stderr: string[] = [];
  readonly exited: Promise<ExitInfo>;
  exit: ExitInfo | null = null;
  private readonly child: ChildProcess;
  private readonly partial = { out: '', err: '' };
  private readonly watchers = new Set<() => void>();

  constructor(readonly argv: readonly string[], env: Record<string, string>, readonly echo: ((line: string) => void) | null = null) {
    const [file, ...args] = argv;
    if (file === undefined) throw new Error('empty argv');
    this.child = spawn(file, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'], env });
    if (this.child.pid === undefined) throw new Error(`cannot spawn ${file}`);
    this.pid = this.child.pid;
    this.child.stdout?.setEncoding('utf8').on('data', (chunk: string) => { this.onData('out', chunk); });
    this.child.stderr?.setEncoding('utf8').on('data', (chunk: string) => { this.onData('err', chunk); });
    this.exited = new Promise((resolve) => {
      this.child.on('exit', (code, signal) => {
        this.exit = { code, signal };
        this.wake();
        resolve(this.exit);
      });
    });
    this.child.on('error', (error) => { this.stderr.push(`spawn error: ${error.message}`); });
  }

  // The first line (stdout or stderr, already seen or still to come) matching `re`; null on timeout or exit.
  async waitFor(re: RegExp, timeoutMs: number, from: { out: number; err: number } = { out: 0, err: 0 }): Promise<string | null> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.stdout.slice(from.out).find((l) => re.test(l)) ?? this.stderr.slice(from.err).find((l) => re.test(l));
      if (hit !== undefined) return hit;
      if (this.exit !== null || Date.now() >= deadline) return null;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, Math.max(1, deadline - Date.now()));
        const watchers = this.watchers;
        function done(): void {
          clearTimeout(timer);
          watchers.delete(done);
          resolve();
        }
        watchers.add(done);
      });
    }
  }

  mark(): { out: number; err: number } {
    return { out: this.stdout.length, err: this.stderr.length };
  }

  async waitExit(timeoutMs: number): Promise<ExitInfo | null> {
    if (this.exit !== null) return this.exit;
    return withTimeout(this.exited, timeoutMs);
  }

  tail(n = 15): string {
    return [...this.stderr.slice(-n), ...this.stdout.slice(-n)].join('\n');
  }

  private onData(which: 'out' | 'err', chunk: string): void {
    const parts = (this.partial[which] + chunk).split('\n');
    this.partial[which] = parts.pop() ?? '';
    const lines = which === 'out' ? this.stdout : this.stderr;
    for (const line of parts) {
      lines.push(line);
      this.echo?.(line);
    }
    if (lines.length > 20_000) lines.splice(0, lines.length - 20_000);
    this.wake();
  }

  private wake(): void {
    for (const w of [...this.watchers]) w();
  }
}

/** A short command's outcome. */
export interface CommandResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
  timedOut: boolean;
}

// Run a short command to completion, killed (its whole group) after `timeoutMs`.
export function runCommand(argv: readonly string[], env: Record<string, string>, timeoutMs: number): Promise<CommandResult> {
  const [file, ...args] = argv;
  if (file === undefined) return Promise.reject(new Error('empty argv'));
  const started = performance.now();
  return new Promise((resolve) => {
    const child = spawn(file, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'], env });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (c: string) => { stdout = (stdout + c).slice(-20_000); });
    child.stderr.setEncoding('utf8').on('data', (c: string) => { stderr = (stderr + c).slice(-20_000); });
    const timer = setTimeout(() => {
      timedOut = true;
      if (child.pid !== undefined) signalQuietly(-child.pid, 'SIGKILL');
    }, timeoutMs);
    child.on('error', (error) => { stderr += `spawn error: ${error.message}`; });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: performance.now() - started, timedOut });
    });
  });
}


export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    const state = /^State:\s+(\S)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}


// utime + stime of a process in clock ticks (1/100 s), or null if it is gone.
export function cpuTicks(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return null;
  }
}

export const TICKS_PER_SECOND = 100;


/** Jiffies of all CPUs from /proc/stat: busy (everything but idle and iowait), the part spent in irq/softirq
 *  (loopback TCP is mostly processed there) and stolen by the hypervisor, and the total. */
export interface CpuTotals {
  busy: number;
  irq: number;
  steal: number;
  total: number;
}

export function cpuTotals(): CpuTotals {
  const f = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/).slice(1).map(Number);
  const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
  const idle = (f[3] ?? 0) + (f[4] ?? 0);
  return { busy: total - idle, irq: (f[5] ?? 0) + (f[6] ?? 0), steal: f[7] ?? 0, total };
}

// Fraction (0..1) of all CPUs busy between two readings.
export function busyBetween(a: CpuTotals, b: CpuTotals): number {
  return b.total > a.total ? (b.busy - a.busy) / (b.total - a.total) : 0;
}

// Fraction (0..1) of all CPUs in irq/softirq, and stolen, between two readings.
export function irqStealBetween(a: CpuTotals, b: CpuTotals): { irq: number; steal: number } {
  const t = b.total - a.total;
  return t > 0 ? { irq: (b.irq - a.irq) / t, steal: (b.steal - a.steal) / t } : { irq: 0, steal: 0 };
}

// A TCP port on 127.0.0.1 that was free a moment ago.
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => { resolve(port); });
    });
  });
}

// Every live process whose environment carries this run's marker (ours, not the harness itself).
export function markedProcesses(): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    if (pid === process.pid) continue;
    try {
      const env = readFileSync(`/proc/${name}/environ`, 'latin1');
      if (env.split('\0').includes(MARKER)) out.push(pid);
    } catch {
      // gone, or not ours to read
    }
  }
  return out;
}

// utime + stime (ticks) of every live process carrying the marker.
export function markedCpuTicks(): Map<number, number> {
  const out = new Map<number, number>();
  for (const pid of markedProcesses()) {
    const t = cpuTicks(pid);
    if (t !== null) out.set(pid, t);
  }
  return out;
}

// SIGKILL every process (and its group) that still carries the marker; returns how many there were. Synchronous,
// so it also runs from 'exit' and signal handlers.
export function sweep(): number {
  const pids = markedProcesses();
  for (const pid of pids) {
    signalQuietly(-pid, 'SIGKILL');
    signalQuietly(pid, 'SIGKILL');
  }
  return pids.length;
}
