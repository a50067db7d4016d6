// The pools under test, each started in the same way with the same app: tend (--listen with a shared socket or
// SO_REUSEPORT, or no --listen: the socket opened on demand when the app listens on $PORT), PM2 in cluster mode, and
// a naive node:cluster primary. Every one has `workers` workers (2 unless a scenario says otherwise) on PORT.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { alive, benchEnv, childrenOf, Proc, runCommand, signalQuietly, sleep, type CommandResult } from './procs.js';

export type Kind = 'tend-shared' | 'tend-reuseport' | 'tend-ondemand' | 'node-cluster' | 'pm2';

export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
export const TEND_BIN = join(repoRoot, 'bin', 'tend');
export const PM2_BIN = join(repoRoot, 'bench', 'node_modules', 'pm2', 'bin', 'pm2');
export const APP = join(repoRoot, 'bench', 'pool', 'apps', 'http-app.cjs');
export const CLUSTER_PRIMARY = join(repoRoot, 'bench', 'pool', 'apps', 'cluster-primary.cjs');

export interface ServerOptions {
  kind: Kind;
  port: number;
  handlerMs: number;
  buildFile: string;
  workDir: string;
  workers: number;
}

/** A running pool. */
export interface Server {
  readonly kind: Kind;
  readonly port: number;
  readonly workers: number;
  /** The supervising process: tend's own node process, PM2's God daemon, the cluster primary. */
  readonly supervisorPid: number;
  workerPids(): number[];
  /** Reload the pool the documented way and wait for the command's outcome. */
  reload(): Promise<CommandResult>;
  /** The supervisor's own view of its workers, for the report. */
  describe(): Promise<unknown>;
  /** Stop everything (bounded); returns how it went. */
  stop(): Promise<string>;
  /** The supervisor's own log lines (tend -v), when it writes them to us. */
  readonly log: readonly string[];
}

const READY_TIMEOUT_MS = 30_000;

export async function startServer(o: ServerOptions): Promise<Server> {
  switch (o.kind) {
    case 'tend-shared':
      return startTend(o, 'shared');
    case 'tend-reuseport':
      return startTend(o, 'reuseport');
    case 'tend-ondemand':
      return startTend(o, 'ondemand');
    case 'pm2':
      return startPm2(o);
    case 'node-cluster':
      return startCluster(o);
  }
}

function appEnv(o: ServerOptions, extra: Record<string, string> = {}): Record<string, string> {
  const env = benchEnv({ HANDLER_MS: String(o.handlerMs), BUILD_FILE: o.buildFile, ...extra });
  if (extra['PORT'] === undefined) delete env['PORT'];
  return env;
}

// Kill a process group and every pid given, SIGTERM first, SIGKILL after `graceMs`.
async function killAll(pids: readonly number[], graceMs: number): Promise<void> {
  const live = pids.filter(alive);
  for (const pid of live) signalQuietly(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (live.some(alive) && Date.now() < deadline) await sleep(50);
  for (const pid of live.filter(alive)) {
    signalQuietly(-pid, 'SIGKILL');
    signalQuietly(pid, 'SIGKILL');
  }
}

// ---- tend ----

// 'ondemand': no --listen; the app's listen($PORT) gets a socket tend opens for the whole pool (one, shared).
async function startTend(o: ServerOptions, strategy: 'shared' | 'reuseport' | 'ondemand'): Promise<Server> {
  const control = join(o.workDir, `tend-${o.port}.ctl`);
  const env = strategy === 'ondemand' ? appEnv(o, { PORT: String(o.port) }) : appEnv(o);
  const sockets = strategy === 'ondemand' ? [] : ['--listen', `tcp://127.0.0.1:${o.port}`, '--socket-strategy', strategy];
  const proc = new Proc([
    TEND_BIN, 'run', '-v', '--workers', String(o.workers), ...sockets, '--control', control, '--', process.execPath, APP,
  ], env);
  const ready = await proc.waitFor(/pool ready:/, READY_TIMEOUT_MS);
  if (ready === null) {
    signalQuietly(-proc.pid, 'SIGKILL');
    await killAll(startedPids(proc), 0);
    throw new Error(`tend (${strategy}) not ready within ${READY_TIMEOUT_MS} ms:\n${proc.tail()}`);
  }
  const cmdline = readFileSync(`/proc/${proc.pid}/cmdline`, 'utf8');
  if (!/entry\.c?js/.test(cmdline)) throw new Error(`pid ${proc.pid} is not tend's node process: ${cmdline}`);
  return {
    kind: o.kind,
    port: o.port,
    workers: o.workers,
    supervisorPid: proc.pid,
    workerPids: () => childrenOf(proc.pid),
    reload: () => runCommand([TEND_BIN, 'reload', '--control', control], env, 120_000),
    describe: async () => {
      const r = await runCommand([TEND_BIN, 'status', '--control', control], env, 10_000);
      try {
        return JSON.parse(r.stdout) as unknown;
      } catch {
        return { exit: r.code, stdout: r.stdout, stderr: r.stderr };
      }
    },
    stop: async () => {
      signalQuietly(proc.pid, 'SIGTERM');
      const exit = await proc.waitExit(15_000);
      await killAll([proc.pid, ...startedPids(proc)], 0);
      await proc.waitExit(3_000);
      return exit === null ? 'tend did not exit within 15 s of SIGTERM; killed' : `tend exited with ${exit.code ?? exit.signal ?? '?'}`;
    },
    log: proc.stderr,
  };
}

// Every worker pid tend reported starting (tend puts each in its own process group).
function startedPids(proc: Proc): number[] {
  const pids: number[] = [];
  for (const line of proc.stderr) {
    const m = /started as pid (\d+)/.exec(line);
    if (m !== null) pids.push(Number(m[1]));
  }
  return pids;
}

// ---- PM2 ----

/** PM2 daemons started and not yet killed: PM2_HOME → the env to run `pm2 kill` with. */
const livePm2 = new Map<string, Record<string, string>>();

// `pm2 kill` every daemon still running (synchronous, bounded; for ^C and errors: the sweep kills the rest).
export function killPm2Sync(): void {
  for (const [home, env] of livePm2) {
    try {
      execFileSync(process.execPath, [PM2_BIN, 'kill'], { env, stdio: 'ignore', timeout: 15_000 });
    } catch {
      // the sweep that follows SIGKILLs whatever is left
    }
    livePm2.delete(home);
  }
}

async function startPm2(o: ServerOptions): Promise<Server> {
  const home = join(o.workDir, `pm2-${o.port}`);
  mkdirSync(home, { recursive: true });
  const env = appEnv(o, { PM2_HOME: home, PORT: String(o.port) });
  const pm2 = (args: string[], timeoutMs: number): Promise<CommandResult> => runCommand([process.execPath, PM2_BIN, ...args], env, timeoutMs);
  const godPid = (): number | null => {
    try {
      return Number(readFileSync(join(home, 'pm2.pid'), 'utf8').trim()) || null;
    } catch {
      return null;
    }
  };
  const kill = async (): Promise<string> => {
    const god = godPid();
    const workers = god === null ? [] : childrenOf(god);
    const r = await pm2(['kill'], 30_000);
    livePm2.delete(home);
    await killAll([...(god === null ? [] : [god]), ...workers], 2_000);
    return `pm2 kill exited ${r.code ?? r.signal ?? '?'}${r.timedOut ? ' (timed out)' : ''}`;
  };
  livePm2.set(home, env);
  const started = await pm2(['start', APP, '-i', String(o.workers), '--name', 'app'], 60_000);
  const god = godPid();
  if (started.code !== 0 || god === null) {
    await kill();
    throw new Error(`pm2 start failed (${started.code ?? started.signal ?? '?'}):\n${started.stdout}\n${started.stderr}`);
  }
  // Ready when every worker logged that it listens (PM2 itself returns once they are forked).
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (countListening(join(home, 'logs')) < o.workers) {
    if (Date.now() > deadline) {
      await kill();
      throw new Error(`pm2 workers not listening within ${READY_TIMEOUT_MS} ms`);
    }
    await sleep(50);
  }
  return {
    kind: o.kind,
    port: o.port,
    workers: o.workers,
    supervisorPid: god,
    workerPids: () => childrenOf(god),
    reload: () => pm2(['reload', 'app'], 120_000),
    describe: async () => {
      const r = await pm2(['jlist'], 15_000);
      try {
        const list = JSON.parse(r.stdout) as { pid: number; pm_id: number; pm2_env: { status: string; restart_time: number; unstable_restarts: number } }[];
        return list.map((p) => ({ pm_id: p.pm_id, pid: p.pid, status: p.pm2_env.status, restarts: p.pm2_env.restart_time, unstable_restarts: p.pm2_env.unstable_restarts }));
      } catch {
        // Never the output itself: `pm2 jlist` prints every app's environment.
        return { error: `pm2 jlist exited ${r.code} without a JSON list (${r.stdout.length} bytes on stdout)` };
      }
    },
    stop: kill,
    get log(): string[] {
      try {
        return readFileSync(join(home, 'pm2.log'), 'utf8').split('\n');
      } catch {
        return [];
      }
    },
  };
}

function countListening(logDir: string): number {
  if (!existsSync(logDir)) return 0;
  let n = 0;
  for (const f of readdirSync(logDir)) {
    if (!f.includes('-out')) continue;
    try {
      n += readFileSync(join(logDir, f), 'utf8').split('\n').filter((l) => / listening$/.test(l)).length;
    } catch {
      // rotated or gone
    }
  }
  return n;
}

// ---- naive node:cluster ----

async function startCluster(o: ServerOptions): Promise<Server> {
  const proc = new Proc([process.execPath, CLUSTER_PRIMARY], appEnv(o, { PORT: String(o.port), WORKERS: String(o.workers) }));
  const stop = async (): Promise<string> => {
    const workers = childrenOf(proc.pid);
    signalQuietly(proc.pid, 'SIGTERM');
    const exit = await proc.waitExit(10_000);
    await killAll([proc.pid, ...workers], 0);
    signalQuietly(-proc.pid, 'SIGKILL');
    return exit === null ? 'primary did not exit within 10 s; killed' : `primary exited with ${exit.code ?? exit.signal ?? '?'}`;
  };
  if ((await proc.waitFor(/workers listening/, READY_TIMEOUT_MS)) === null) {
    await stop();
    throw new Error(`node:cluster primary not ready:\n${proc.tail()}`);
  }
  return {
    kind: o.kind,
    port: o.port,
    workers: o.workers,
    supervisorPid: proc.pid,
    workerPids: () => childrenOf(proc.pid),
    reload: () => Promise.reject(new Error('the naive primary has no reload')),
    describe: () => Promise.resolve({ workers: childrenOf(proc.pid) }),
    stop,
    log: proc.stdout,
  };
}
