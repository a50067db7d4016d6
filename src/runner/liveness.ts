// Liveness probes (--liveness): every --liveness-interval the ready workers of a service are probed together, each
// probe bounded by --liveness-timeout and owned by its worker's lifetime (a worker that stops takes its probe with it),
// and the round goes to the service machine as one `liveness` event, whose pure verdict (core/liveness.ts) decides.
// Probing them together is what makes "half or more fail at once" mean something: a shared cause (a database, a
// disk) shows up in one round instead of trickling in, worker by worker, as one-off failures.
import { chownSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import type { LivenessPolicy, LivenessProbe } from '../config/pool-config.js';
import { UNIX_PATH_MAX } from '../config/pool-config.js';
import contract from '../contract/env.cjs';
import type { ProbeResult } from '../core/service-machine.js';
import { spawnChild } from '../os/child-process.js';
import { tendRuntimeDir } from '../os/notify-channel.js';
import { formatDuration } from '../config/duration.js';
import type { Lifetime } from './lifetime.js';
import type { ServiceRuntime } from './runner.js';
import type { Timers } from './timers.js';

const { ENV } = contract;

/** What a probe needs to know about one ready worker. */
interface Target {
  readonly proc: number;
  readonly slot: number;
  readonly pid: number;
  readonly socket: string | null;
  /** It reported listening on tend's socket, so its private socket exists unless its server closed. */
  readonly listened: boolean;
  readonly lifetime: Lifetime;
}

/** How many bytes of an exec probe's stderr are kept for the failure's detail. */
const EXEC_DETAIL_BYTES = 300;

// Probe `rt`'s ready workers every interval until `lifetime` ends; `report` gets each round, `warn` a problem once.
export function startLiveness(rt: ServiceRuntime, timers: Timers, lifetime: Lifetime, env: Readonly<Record<string, string | undefined>>,
  report: (results: ProbeResult[]) => void, warn: (message: string) => void): void {
  const policy = rt.spec.liveness;
  const probe = policy?.probe;
  if (policy === undefined || probe == null) return;
  const key = `${rt.spec.name}:liveness`;
  const warned = new Set<number>();
  const unreachable = (t: Target): void => {
    if (warned.has(t.slot)) return;
    warned.add(t.slot);
    warn(`${rt.spec.name}.${t.slot} (pid ${t.pid}) has no private probe socket (not a Node program with the preload, or its server does not listen on a socket from tend): ` +
      'its liveness is not checked; use --liveness exec:CMD for it');
  };
  // Workers whose private socket existed once: its path gone later means their server closed, which is a failure (as
  // for a worker that reported listening on tend's socket, whose preload opened it before the report).
  const seen = new Set<number>();
  const round = async (): Promise<void> => {
    const startedAt = Date.now();
    const list = targets(rt);
    for (const id of seen) if (!list.some((t) => t.proc === id)) seen.delete(id);
    const answers = await Promise.all(list.map((t) => probeWorker(rt, policy, probe, t, env, seen, unreachable)));
    const results = answers.filter((a): a is ProbeResult => a !== null);
    if (!lifetime.ended && results.length > 0) report(results);
    timers.arm(key, Math.max(0, startedAt + policy.intervalMs - Date.now()), lifetime, () => { void round(); });
  };
  timers.arm(key, policy.intervalMs, lifetime, () => { void round(); });
}

// The path of a worker's private probe socket (TEND_PROBE_SOCKET; http/tcp probes and --metrics-workers) in a directory of tend's runtime directory that only
// the service's user (and root) can enter; null when the probe needs no socket or the path would be too long.
export function probeSocketPath(rt: ServiceRuntime, serviceIndex: number, proc: number): string | null {
  const probe = rt.spec.liveness?.probe;
  if ((probe == null || probe.kind === 'exec') && rt.spec.metricsWorkers === undefined) return null;
  const dir = join(tendRuntimeDir(), `probe-${serviceIndex}`);
  try {
    if (!existsSync(dir)) {
      mkdirSync(dir, { mode: 0o700 });
      if (rt.credentials !== null) chownSync(dir, rt.credentials.uid, rt.credentials.gid);
    }
  } catch {
    // No private socket: the worker is not probed, and the round says so once (never counted as its failure).
    return null;
  }
  const path = join(dir, `${proc}.sock`);
  return Buffer.byteLength(path) <= UNIX_PATH_MAX ? path : null;
}

// Remove a worker's probe socket once it is gone (a worker that was killed cannot remove its own).
export function removeProbeSocket(path: string | null): void {
  if (path !== null) rmSync(path, { force: true });
}

// The ready process of each slot: probing starts only once a worker is ready, so a slow starter is never judged.
function targets(rt: ServiceRuntime): Target[] {
  const phase = rt.state.phase;
  if (phase !== 'running' && phase !== 'starting' && phase !== 'reloading') return [];
  return rt.state.slots.flatMap((slot) => {
    const id = slot.current;
    const rec = id === null || slot.removed ? undefined : rt.state.procs[id];
    const proc = id === null ? undefined : rt.procs.get(id);
    if (id === null || rec?.state?.kind !== 'ready' || proc?.pid == null) return [];
    return [{ proc: id, slot: slot.index, pid: proc.pid, socket: proc.probeSocket, listened: proc.listened, lifetime: proc.lifetime }];
  });
}

// One probe of one worker: its result, or null when there is nothing to judge (no private socket, or the worker
// stopped during the probe).
async function probeWorker(rt: ServiceRuntime, policy: LivenessPolicy, probe: LivenessProbe, t: Target,
  env: Readonly<Record<string, string | undefined>>, seen: Set<number>, unreachable: (t: Target) => void): Promise<ProbeResult | null> {
  if (t.lifetime.ended) return null;
  let failure: string | null;
  if (probe.kind === 'exec') {
    failure = await probeExec(rt, probe.argv, policy.timeoutMs, t, env);
  } else if (t.socket === null || !existsSync(t.socket)) {
    if (t.socket === null || (!seen.has(t.proc) && !t.listened)) {
      unreachable(t);
      return null;
    }
    failure = 'its server closed its private probe socket (it no longer listens)';
  } else {
    seen.add(t.proc);
    failure = probe.kind === 'http' ? await probeHttp(t.socket, probe.path, policy.timeoutMs, t.lifetime) : await probeConnect(t.socket, policy.timeoutMs, t.lifetime);
  }
  if (isEnded(t.lifetime)) return null;
  return { proc: t.proc, ok: failure === null, detail: failure ?? '' };
}

// GET `path` over the worker's private socket: null when it answers 2xx or 3xx in time, else what went wrong.
function probeHttp(socketPath: string, path: string, timeoutMs: number, lifetime: Lifetime): Promise<string | null> {
  return bounded(timeoutMs, lifetime, (done) => {
    const req = request({ socketPath, path, method: 'GET', agent: false, headers: { host: 'localhost', connection: 'close' } }, (res) => {
      res.resume();
      const status = res.statusCode ?? 0;
      done(status >= 200 && status < 400 ? null : `GET ${path} answered ${status}`);
    });
    req.on('error', (e: NodeJS.ErrnoException) => { done(`GET ${path}: ${e.code ?? e.message}`); });
    req.end();
    return () => { req.destroy(); };
  }, `GET ${path}: no answer within ${formatDuration(timeoutMs)}`);
}

// Connect to the worker's private socket: null when it accepts in time.
function probeConnect(socketPath: string, timeoutMs: number, lifetime: Lifetime): Promise<string | null> {
  return bounded(timeoutMs, lifetime, (done) => {
    const socket = connect({ path: socketPath });
    socket.once('connect', () => { socket.destroy(); done(null); });
    socket.once('error', (e: NodeJS.ErrnoException) => { done(`connect: ${e.code ?? e.message}`); });
    return () => { socket.destroy(); };
  }, `connect: no answer within ${formatDuration(timeoutMs)}`);
}

// Run CMD in its own process group, as the service's user, with the worker's pid and slot in its env: null when it exits 0 in time. The group
// is killed when it ends, times out or its worker stops, so a probe never leaves anything behind.
function probeExec(rt: ServiceRuntime, argv: readonly string[], timeoutMs: number, t: Target, env: Readonly<Record<string, string | undefined>>): Promise<string | null> {
  return bounded(timeoutMs, t.lifetime, (done) => {
    const [file, ...args] = argv;
    const child = spawnChild(file ?? '', args, {
      detached: true,
      // As the service's user (--user), like its workers.
      ...(rt.credentials === null ? {} : { uid: rt.credentials.uid, gid: rt.credentials.gid }),
      stdio: ['ignore', 'ignore', 'pipe'],
      cwd: rt.spec.cwd ?? undefined,
      env: { ...env, ...rt.spec.env, [ENV.probePid]: String(t.pid), [ENV.probeSlot]: String(t.slot), [ENV.probeService]: rt.spec.name },
    });
    let stderr = '';
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => { stderr = (stderr + chunk).slice(-EXEC_DETAIL_BYTES); });
    const last = (): string => {
      const line = stderr.trim().split('\n').at(-1) ?? '';
      return line === '' ? '' : `: ${line}`;
    };
    child.once('error', (e: NodeJS.ErrnoException) => { done(`exec ${file ?? ''}: ${e.code ?? e.message}`); });
    child.once('close', (code, signal) => {
      killGroup(child.pid);
      done(code === 0 ? null : `exec ${file ?? ''} ${signal === null ? `exited ${code ?? '?'}` : `killed by ${signal}`}${last()}`);
    });
    return () => { killGroup(child.pid); };
  }, `exec ${argv[0] ?? ''}: no exit within ${formatDuration(timeoutMs)} (its process group was killed)`);
}

// Read through a call, so the check after an await is not narrowed away by the one before it.
function isEnded(lifetime: Lifetime): boolean {
  return lifetime.ended;
}

function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try { process.kill(-pid, 'SIGKILL'); } catch { /* already gone */ }
}

// Run one probe with a deadline: `run` starts it and returns how to cancel it; the first of its answer, the deadline
// (`late`) or the worker's end (null, which the caller drops) wins, and the probe is cancelled when it did not answer.
function bounded(timeoutMs: number, lifetime: Lifetime, run: (done: (failure: string | null) => void) => () => void, late: string): Promise<string | null> {
  return new Promise((resolve) => {
    let settled = false;
    let cancel: () => void = () => undefined;
    let release: () => void = () => undefined;
    const finish = (failure: string | null, abort: boolean): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      release();
      if (abort) cancel();
      resolve(failure);
    };
    const timer = setTimeout(() => { finish(late, true); }, timeoutMs);
    release = lifetime.onEnd(() => { finish(null, true); });
    cancel = run((failure) => { finish(failure, false); });
  });
}
