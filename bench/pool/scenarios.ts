// The measurements: reload under load, a bad build, throughput, balance over 4 workers (memory is sampled along the way).
import { writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { cpus } from 'node:os';
import { busyBetween, cpuTicks, cpuTotals, freePort, irqStealBetween, markedCpuTicks, rssKb, sleep, TICKS_PER_SECOND } from './procs.js';
import { startServer, type Kind, type Server } from './servers.js';
import { startWrk, type WrkOptions, type WrkResult } from './wrk.js';

export const CONNECTIONS = 50;
/** The reload and bad-build app's handler delay; throughput uses 0 (answers synchronously, CPU-bound). */
export const HANDLER_MS = 20;

export interface Plan {
  warmupSeconds: number;
  steadySeconds: number;
  reloadSeconds: number;
  reloads: number;
  badBuildSeconds: number;
  throughputSeconds: number;
  closeSeconds: number;
  rounds: number;
  /** Sockets on demand (no --listen), 4 workers next to PM2: steady window before the reloads. */
  onDemandSteadySeconds: number;
  /** Balance (4 workers): bursts of BURST_CONNECTIONS per run, rounds, keep-alive and new-connection wrk windows. */
  bursts: number;
  balanceRounds: number;
  balanceSeconds: number;
  balanceCloseSeconds: number;
}

export const PLAN: Plan = {
  warmupSeconds: 2, steadySeconds: 10, reloadSeconds: 30, reloads: 10, badBuildSeconds: 12,
  throughputSeconds: 5, closeSeconds: 4, rounds: 3,
  onDemandSteadySeconds: 5, bursts: 5, balanceRounds: 2, balanceSeconds: 5, balanceCloseSeconds: 3,
};

/** Workers in the on-demand and balance scenarios (issue 8's "Done means" benchmark and its burst figure). */
export const WIDE_WORKERS = 4;
/** Keep-alive connections opened at once in a balance burst. */
export const BURST_CONNECTIONS = 100;

/** One load window: what wrk saw and what the machine did meanwhile. */
export interface Window {
  wrk: WrkResult;
  /** All CPUs' busy fraction (0..1 of the whole machine). */
  machineBusy: number;
  /** The supervising process's CPU, as a fraction of one CPU. */
  supervisorCpu: number;
  /** Each worker's CPU (workers alive at the start of the window), fraction of one CPU. */
  workerCpu: number[];
  supervisorRssMaxKb: number | null;
  /** CPU (in cores) of processes this run did not start: busy minus irq/softirq, steal, the processes carrying
   *  the run marker (sampled every 250 ms; short-lived ones are missed) and the harness itself. */
  otherCores: number;
  /** irq + softirq (where loopback TCP is mostly processed) and hypervisor steal, in cores. */
  irqCores: number;
  stealCores: number;
  /** With probing on: one GET on a new connection every PROBE_EVERY_MS, alongside wrk. */
  probes: Probe[];
}

/** One availability probe: when (ms after wrk started), whether it got a 200, how long it took. */
export interface Probe {
  atMs: number;
  ok: boolean;
  ms: number;
}

export const PROBE_EVERY_MS = 100;

export interface Context {
  workDir: string;
  buildFile: string;
  log(message: string): void;
}

async function start(ctx: Context, kind: Kind, handlerMs: number, workers = 2): Promise<Server> {
  writeFileSync(ctx.buildFile, 'good\n');
  return startServer({ kind, port: await freePort(), handlerMs, buildFile: ctx.buildFile, workDir: ctx.workDir, workers });
}

const url = (server: Server): string => `http://127.0.0.1:${server.port}/`;

interface MeasureOptions extends Omit<WrkOptions, 'url'> {
  probe?: boolean;
}

// Run wrk against `server` and account for the CPU and memory used meanwhile; `during` runs alongside.
async function measure(server: Server, options: MeasureOptions, during?: (startedAt: number, over: () => boolean, endLoad: () => void) => Promise<void>): Promise<Window> {
  const workers = server.workerPids();
  const ticks0 = { sup: cpuTicks(server.supervisorPid), workers: workers.map(cpuTicks) };
  const marked0 = markedCpuTicks();
  const markedLast = new Map(marked0);
  const harness0 = process.cpuUsage();
  const cpu0 = cpuTotals();
  const t0 = performance.now();
  let rssMax: number | null = null;
  const state = { over: false };
  const sampler = setInterval(() => {
    const kb = rssKb(server.supervisorPid);
    if (kb !== null) rssMax = Math.max(rssMax ?? 0, kb);
    for (const [pid, ticks] of markedCpuTicks()) markedLast.set(pid, ticks);
  }, 250);
  const run = startWrk({ ...options, url: url(server) });
  const probes: Probe[] = [];
  const prober = options.probe === true ? (async (): Promise<void> => {
    while (!state.over) {
      const at = Date.now();
      const ok = await probe(server.port);
      probes.push({ atMs: at - run.startedAt, ok, ms: Date.now() - at });
      const wait = at + PROBE_EVERY_MS - Date.now();
      if (wait > 0) await sleep(wait);
    }
  })() : Promise.resolve();
  const side = during === undefined ? Promise.resolve() : during(run.startedAt, () => state.over, () => { run.stop(); });
  try {
    const wrk = await run.done;
    state.over = true;
    const cpu1 = cpuTotals();
    for (const [pid, ticks] of markedCpuTicks()) markedLast.set(pid, ticks);
    const harness = process.cpuUsage(harness0);
    const seconds = (performance.now() - t0) / 1000;
    const frac = (a: number | null, b: number | null): number => (a === null || b === null ? 0 : (b - a) / TICKS_PER_SECOND / seconds);
    let ours = (harness.user + harness.system) / 1e6 / seconds;
    for (const [pid, ticks] of markedLast) ours += (ticks - (marked0.get(pid) ?? 0)) / TICKS_PER_SECOND / seconds;
    const machineBusy = busyBetween(cpu0, cpu1);
    const { irq, steal } = irqStealBetween(cpu0, cpu1);
    const ncpu = cpus().length;
    await prober;
    const window: Window = {
      wrk,
      machineBusy,
      supervisorCpu: frac(ticks0.sup, cpuTicks(server.supervisorPid)),
      workerCpu: workers.map((pid, i) => frac(ticks0.workers[i] ?? null, cpuTicks(pid))),
      supervisorRssMaxKb: rssMax,
      otherCores: Math.max(0, (machineBusy - irq - steal) * ncpu - ours),
      irqCores: irq * ncpu,
      stealCores: steal * ncpu,
      probes,
    };
    await side;
    return window;
  } finally {
    state.over = true;
    clearInterval(sampler);
  }
}

/** One reload command and its outcome. */
export interface ReloadRecord {
  /** When it started, ms after the load window started. */
  atMs: number;
  ms: number;
  code: number | null;
  timedOut: boolean;
  output: string;
}

export interface ReloadUnderLoad {
  kind: Kind;
  workers: number;
  /** Reloads the plan asked for (a reload starts only after the previous one ended, inside the window). */
  planned: number;
  /** Distinct pids that answered a burst of BURST_CONNECTIONS new connections before the load. */
  servingPids: number;
  idleRssKb: number | null;
  steady: Window;
  reload: Window;
  reloads: ReloadRecord[];
  workersBefore: number[];
  workersAfter: number[];
  supervisorView: unknown;
  /** tend -v lines about reloads, failures and exits (empty for PM2: its log is in its own files). */
  supervisorLog: string[];
  stop: string;
}

const interesting = (log: readonly string[]): string[] =>
  log.filter((l) => /reload|fail|error|warn|exited|gave up|giving up/i.test(l)).slice(-80);

/** How the reload window ends: after plan.reloadSeconds (the reloads that fit), or once all plan.reloads are done. */
export type ReloadWindow = 'fixed' | 'all-reloads';

// 1. Reload under load: steady window, then `plan.reloads` reloads spread over the reload window. With 'all-reloads'
// the window stretches (up to 3× plan.reloadSeconds) until every reload ran, then ends 1.5 s after the last.
export async function reloadUnderLoad(ctx: Context, kind: Kind, plan: Plan, workers = 2, steadySeconds = plan.steadySeconds, window: ReloadWindow = 'fixed'): Promise<ReloadUnderLoad> {
  const server = await start(ctx, kind, HANDLER_MS, workers);
  try {
    await sleep(1000);
    const idleRssKb = rssKb(server.supervisorPid);
    const servingPids = (await connectionBurst(server.port, BURST_CONNECTIONS)).perPid.size;
    await measure(server, { connections: CONNECTIONS, seconds: plan.warmupSeconds });
    const steady = await measure(server, { connections: CONNECTIONS, seconds: steadySeconds, probe: true });
    const workersBefore = server.workerPids();
    const reloads: ReloadRecord[] = [];
    const spacing = (plan.reloadSeconds * 1000 - 2000) / plan.reloads;
    const seconds = window === 'fixed' ? plan.reloadSeconds : plan.reloadSeconds * 3;
    const reload = await measure(server, { connections: CONNECTIONS, seconds, probe: true }, async (startedAt, over, endLoad) => {
      for (let i = 0; i < plan.reloads; i++) {
        const wait = startedAt + 500 + i * spacing - Date.now();
        if (wait > 0) await sleep(wait);
        if (over()) break;
        const atMs = Date.now() - startedAt;
        const r = await server.reload();
        reloads.push({ atMs, ms: r.ms, code: r.code, timedOut: r.timedOut, output: `${r.stdout}${r.stderr}`.trim().split('\n').slice(-3).join('\n') });
        ctx.log(`  ${kind} reload ${i + 1}/${plan.reloads} at ${(atMs / 1000).toFixed(1)} s: exit ${r.code ?? r.signal ?? '?'} in ${r.ms.toFixed(0)} ms`);
      }
      if (window === 'all-reloads' && !over()) {
        await sleep(1500);
        endLoad();
      }
    });
    const workersAfter = server.workerPids();
    const supervisorView = await server.describe();
    const stop = await server.stop();
    return { kind, workers, planned: plan.reloads, servingPids, idleRssKb, steady, reload, reloads, workersBefore, workersAfter, supervisorView, supervisorLog: interesting(server.log), stop };
  } catch (error) {
    await server.stop();
    throw error;
  }
}

export interface BadBuild {
  kind: Kind;
  workers: number;
  reload: ReloadRecord;
  window: Window;
  workersBefore: number[];
  workersAfter: number[];
  /** HTTP probes (one new connection each) answered 200 after the window. */
  probesOk: number;
  probes: number;
  /** The good build back on disk and one more reload: does the pool recover? */
  recovery: ReloadRecord;
  recoveryProbesOk: number;
  supervisorView: unknown;
  supervisorLog: string[];
  stop: string;
}

// 2. Bad build: under load, the build on disk becomes one that crashes at boot, then the pool is reloaded.
export async function badBuild(ctx: Context, kind: Kind, plan: Plan, workers = 2): Promise<BadBuild> {
  const server = await start(ctx, kind, HANDLER_MS, workers);
  try {
    await measure(server, { connections: CONNECTIONS, seconds: plan.warmupSeconds });
    const workersBefore = server.workerPids();
    const done: { record?: ReloadRecord } = {};
    const window = await measure(server, { connections: CONNECTIONS, seconds: plan.badBuildSeconds, probe: true }, async (startedAt) => {
      await sleep(500);
      writeFileSync(ctx.buildFile, 'crash\n');
      const atMs = Date.now() - startedAt;
      const r = await server.reload();
      done.record = { atMs, ms: r.ms, code: r.code, timedOut: r.timedOut, output: `${r.stdout}${r.stderr}`.trim().split('\n').slice(-6).join('\n') };
      ctx.log(`  ${kind} bad-build reload: exit ${r.code ?? r.signal ?? '?'} after ${r.ms.toFixed(0)} ms`);
    });
    const workersAfter = server.workerPids();
    const probes = 10;
    let probesOk = 0;
    for (let i = 0; i < probes; i++) {
      if (await probe(server.port)) probesOk += 1;
      await sleep(100);
    }
    const supervisorView = await server.describe();
    writeFileSync(ctx.buildFile, 'good\n');
    if (done.record === undefined) throw new Error('the bad-build reload did not run');
    const r = await server.reload();
    const recovery: ReloadRecord = { atMs: 0, ms: r.ms, code: r.code, timedOut: r.timedOut, output: `${r.stdout}${r.stderr}`.trim().split('\n').slice(-3).join('\n') };
    await sleep(500);
    let recoveryProbesOk = 0;
    for (let i = 0; i < probes; i++) {
      if (await probe(server.port)) recoveryProbesOk += 1;
      await sleep(100);
    }
    ctx.log(`  ${kind} recovery reload with the good build: exit ${r.code ?? r.signal ?? '?'}; ${recoveryProbesOk}/${probes} probes answered`);
    const stop = await server.stop();
    return {
      kind, workers, reload: done.record, window, workersBefore, workersAfter, probesOk, probes, recovery, recoveryProbesOk, supervisorView,
      supervisorLog: interesting(server.log), stop,
    };
  } catch (error) {
    await server.stop();
    throw error;
  }
}

// One GET on a new connection; true for a 200 within 1 s.
function probe(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/', agent: false, timeout: 1000 }, (res) => {
      res.resume();
      res.on('end', () => { resolve(res.statusCode === 200); });
    });
    req.on('timeout', () => { req.destroy(); });
    req.on('error', () => { resolve(false); });
    req.end();
  });
}

export interface Throughput {
  kind: Kind;
  round: number;
  idleRssKb: number | null;
  keepAlive: Window;
  close: Window;
  /** Per burst of CONNECTIONS keep-alive connections opened at once: how many the busiest worker accepted. */
  spread: number[];
  stop: string;
}

export const SPREAD_BURSTS = 5;

// Open CONNECTIONS keep-alive connections at once, one request each; how many did the busiest worker answer?
async function connectionSpread(port: number): Promise<number> {
  const agent = new Agent({ keepAlive: true, maxSockets: CONNECTIONS });
  try {
    const pids = await Promise.all(Array.from({ length: CONNECTIONS }, () => new Promise<number>((resolve) => {
      const req = request({ host: '127.0.0.1', port, path: '/', agent, timeout: 2000 }, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (d: string) => { body += d; }).on('end', () => {
          try {
            resolve((JSON.parse(body) as { pid: number }).pid);
          } catch {
            resolve(0);
          }
        });
      });
      req.on('timeout', () => { req.destroy(); });
      req.on('error', () => { resolve(0); });
      req.end();
    })));
    const counts = new Map<number, number>();
    for (const pid of pids) if (pid !== 0) counts.set(pid, (counts.get(pid) ?? 0) + 1);
    return Math.max(0, ...counts.values());
  } finally {
    agent.destroy();
  }
}

// 3. Throughput: a CPU-bound app (handler answers at once); keep-alive, then a new connection per request.
export async function throughput(ctx: Context, kind: Kind, round: number, plan: Plan): Promise<Throughput> {
  const server = await start(ctx, kind, 0);
  try {
    await sleep(1000);
    const idleRssKb = rssKb(server.supervisorPid);
    await measure(server, { connections: CONNECTIONS, seconds: plan.warmupSeconds });
    const keepAlive = await measure(server, { connections: CONNECTIONS, seconds: plan.throughputSeconds });
    const close = await measure(server, { connections: CONNECTIONS, seconds: plan.closeSeconds, headers: ['Connection: close'] });
    const spread: number[] = [];
    for (let i = 0; i < SPREAD_BURSTS; i++) {
      spread.push(await connectionSpread(server.port));
      await sleep(50);
    }
    return { kind, round, idleRssKb, keepAlive, close, spread, stop: await server.stop() };
  } catch (error) {
    await server.stop();
    throw error;
  }
}

/** One burst: BURST_CONNECTIONS keep-alive connections opened at once, one request each. */
export interface Burst {
  /** Distinct connections (client ports) each worker pid answered on. */
  perPid: Map<number, number>;
  failed: number;
}

// Open `n` keep-alive connections at once (one request each, all held open until every answer is in) and count,
// per worker pid that answered, the distinct connections it served.
export async function connectionBurst(port: number, n: number): Promise<Burst> {
  const agent = new Agent({ keepAlive: true, maxSockets: n });
  try {
    const answers = await Promise.all(Array.from({ length: n }, () => new Promise<{ pid: number; local: number } | null>((resolve) => {
      const req = request({ host: '127.0.0.1', port, path: '/', agent, timeout: 5000 }, (res) => {
        const local = res.socket.localPort ?? 0;
        let body = '';
        res.setEncoding('utf8').on('data', (d: string) => { body += d; }).on('end', () => {
          try {
            resolve({ pid: (JSON.parse(body) as { pid: number }).pid, local });
          } catch {
            resolve(null);
          }
        });
      });
      req.on('timeout', () => { req.destroy(); });
      req.on('error', () => { resolve(null); });
      req.end();
    })));
    const ports = new Map<number, Set<number>>();
    for (const a of answers) if (a !== null) ports.set(a.pid, (ports.get(a.pid) ?? new Set()).add(a.local));
    return { perPid: new Map([...ports].map(([pid, set]) => [pid, set.size])), failed: answers.filter((a) => a === null).length };
  } finally {
    agent.destroy();
  }
}

/** Balance over WIDE_WORKERS workers: connection bursts and per-worker CPU under wrk. */
export interface Balance {
  kind: Kind;
  round: number;
  workers: number;
  /** Per burst: connections per worker, busiest first (workers that got none count as 0). */
  bursts: { counts: number[]; failed: number }[];
  keepAlive: Window;
  close: Window;
  stop: string;
}

// 4. Balance: a CPU-bound app on WIDE_WORKERS workers; bursts of BURST_CONNECTIONS, then wrk with keep-alive and with
// a new connection per request, reading each worker's CPU from /proc/<pid>/stat.
export async function balance(ctx: Context, kind: Kind, round: number, plan: Plan): Promise<Balance> {
  const server = await start(ctx, kind, 0, WIDE_WORKERS);
  try {
    await sleep(500);
    await measure(server, { connections: CONNECTIONS, seconds: 1 });
    const bursts: Balance['bursts'] = [];
    for (let i = 0; i < plan.bursts; i++) {
      const b = await connectionBurst(server.port, BURST_CONNECTIONS);
      const counts = [...b.perPid.values()];
      while (counts.length < WIDE_WORKERS) counts.push(0);
      bursts.push({ counts: counts.sort((x, y) => y - x), failed: b.failed });
      await sleep(100);
    }
    const keepAlive = await measure(server, { connections: CONNECTIONS, seconds: plan.balanceSeconds });
    const close = await measure(server, { connections: CONNECTIONS, seconds: plan.balanceCloseSeconds, headers: ['Connection: close'] });
    return { kind, round, workers: WIDE_WORKERS, bursts, keepAlive, close, stop: await server.stop() };
  } catch (error) {
    await server.stop();
    throw error;
  }
}
