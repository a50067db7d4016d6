// The three measurements: reload under load, a bad build, throughput (memory is sampled along the way).
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
}

export const PLAN: Plan = {
  warmupSeconds: 2, steadySeconds: 10, reloadSeconds: 30, reloads: 10, badBuildSeconds: 12,
  throughputSeconds: 5, closeSeconds: 4, rounds: 3,
};

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

async function start(ctx: Context, kind: Kind, handlerMs: number): Promise<Server> {
  writeFileSync(ctx.buildFile, 'good\n');
  return startServer({ kind, port: await freePort(), handlerMs, buildFile: ctx.buildFile, workDir: ctx.workDir });
}

const url = (server: Server): string => `http://127.0.0.1:${server.port}/`;

interface MeasureOptions extends Omit<WrkOptions, 'url'> {
  probe?: boolean;
}

// Run wrk against `server` and account for the CPU and memory used meanwhile; `during` runs alongside.
async function measure(server: Server, options: MeasureOptions, during?: (startedAt: number, over: () => boolean) => Promise<void>): Promise<Window> {
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
  const side = during === undefined ? Promise.resolve() : during(run.startedAt, () => state.over);
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

// 1. Reload under load: steady window, then `plan.reloads` reloads spread over the reload window.
export async function reloadUnderLoad(ctx: Context, kind: Kind, plan: Plan): Promise<ReloadUnderLoad> {
  const server = await start(ctx, kind, HANDLER_MS);
  try {
    await sleep(1000);
    const idleRssKb = rssKb(server.supervisorPid);
    await measure(server, { connections: CONNECTIONS, seconds: plan.warmupSeconds });
    const steady = await measure(server, { connections: CONNECTIONS, seconds: plan.steadySeconds, probe: true });
    const workersBefore = server.workerPids();
    const reloads: ReloadRecord[] = [];
    const spacing = (plan.reloadSeconds * 1000 - 2000) / plan.reloads;
    const reload = await measure(server, { connections: CONNECTIONS, seconds: plan.reloadSeconds, probe: true }, async (startedAt, over) => {
      for (let i = 0; i < plan.reloads; i++) {
        const wait = startedAt + 500 + i * spacing - Date.now();
        if (wait > 0) await sleep(wait);
        if (over()) break;
        const atMs = Date.now() - startedAt;
        const r = await server.reload();
        reloads.push({ atMs, ms: r.ms, code: r.code, timedOut: r.timedOut, output: `${r.stdout}${r.stderr}`.trim().split('\n').slice(-3).join('\n') });
        ctx.log(`  ${kind} reload ${i + 1}/${plan.reloads} at ${(atMs / 1000).toFixed(1)} s: exit ${r.code ?? r.signal ?? '?'} in ${r.ms.toFixed(0)} ms`);
      }
    });
    const workersAfter = server.workerPids();
    const supervisorView = await server.describe();
    const stop = await server.stop();
    return { kind, idleRssKb, steady, reload, reloads, workersBefore, workersAfter, supervisorView, supervisorLog: interesting(server.log), stop };
  } catch (error) {
    await server.stop();
    throw error;
  }
}

export interface BadBuild {
  kind: Kind;
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
export async function badBuild(ctx: Context, kind: Kind, plan: Plan): Promise<BadBuild> {
  const server = await start(ctx, kind, HANDLER_MS);
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
      kind, reload: done.record, window, workersBefore, workersAfter, probesOk, probes, recovery, recoveryProbesOk, supervisorView,
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
