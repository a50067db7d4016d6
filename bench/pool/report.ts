// Markdown tables for the pool benchmark, plus the summary numbers the JSON keeps next to the raw data.
import { BURST_CONNECTIONS, type Balance, type BadBuild, type Plan, type Probe, type ReloadUnderLoad, type Throughput, type Window } from './scenarios.js';
import type { Kind } from './servers.js';

export interface Results {
  reload: ReloadUnderLoad[];
  badBuild: BadBuild[];
  throughput: Throughput[];
  /** The same reload and bad-build scenarios with 4 workers and no --listen (sockets on demand), next to PM2. */
  onDemandReload: ReloadUnderLoad[];
  onDemandBadBuild: BadBuild[];
  balance: Balance[];
}

export const LABEL: Record<Kind, string> = {
  'tend-shared': 'tend, shared socket',
  'tend-reuseport': 'tend, SO_REUSEPORT',
  'tend-ondemand': 'tend, on demand (no --listen)',
  'node-cluster': 'naive node:cluster',
  pm2: 'PM2 7.0.4 cluster mode',
};

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

const int = (n: number): string => Math.round(n).toLocaleString('en-US');
const f0 = (n: number): string => (Number.isFinite(n) ? n.toFixed(0) : '–');
const f1 = (n: number): string => (Number.isFinite(n) ? n.toFixed(1) : '–');
const f2 = (n: number): string => (Number.isFinite(n) ? n.toFixed(2) : '–');
const fmtS = (n: number | null): string => (n === null ? 'none failed' : n.toFixed(1));
const pct = (n: number): string => `${(n * 100).toFixed(0)} %`;
const mib = (kb: number | null): string => (kb === null || !Number.isFinite(kb) ? '–' : `${(kb / 1024).toFixed(1)} MiB`);

// tend/PM2, with the zero cases spelled out.
export function ratio(tend: number, pm2: number): string {
  if (!Number.isFinite(tend) || !Number.isFinite(pm2)) return '–';
  if (pm2 === 0) return tend === 0 ? 'both 0' : 'PM2 0';
  return f2(tend / pm2);
}

const probeText = (probes: readonly Probe[]): string => `${probes.filter((x) => x.ok).length}/${probes.length}`;

// Seconds from `fromMs` to the first failed probe, and the longest run of failed probes in seconds.
function outage(probes: readonly Probe[], fromMs: number): { firstFailS: number | null; longestS: number } {
  let firstFailS: number | null = null;
  let longest = 0;
  let runStart: number | null = null;
  let last = 0;
  for (const p of probes) {
    last = p.atMs + p.ms;
    if (!p.ok) {
      if (firstFailS === null) firstFailS = (p.atMs - fromMs) / 1000;
      runStart ??= p.atMs;
      longest = Math.max(longest, last - runStart);
    } else {
      runStart = null;
    }
  }
  return { firstFailS, longestS: longest / 1000 };
}

const errs = (w: Window): string => `${w.wrk.errors.connect} / ${w.wrk.errors.read} / ${w.wrk.errors.write} / ${w.wrk.errors.timeout}`;
const replaced = (r: ReloadUnderLoad): number => r.workersBefore.filter((pid) => !r.workersAfter.includes(pid)).length;

export function reloadTable(rows: readonly ReloadUnderLoad[]): string {
  const p = rows.find((r) => r.kind === 'pm2');
  const tends = rows.filter((r) => r.kind !== 'pm2');
  if (p === undefined || tends.length === 0) return '(reload scenario incomplete)';
  const cols = [...tends, p];
  const ok = (r: ReloadUnderLoad): string => `${r.reloads.filter((x) => x.code === 0).length}/${r.reloads.length}${r.reloads.length < r.planned ? ` (of ${r.planned} planned: the window ran out)` : ''}`;
  const meanS = (r: ReloadUnderLoad): number => r.reloads.reduce((a, x) => a + x.ms, 0) / Math.max(1, r.reloads.length) / 1000;
  const line = (name: string, cells: readonly string[], ratios: readonly string[] = tends.map(() => '')): string =>
    `| ${name} | ${cells.join(' | ')} | ${ratios.join(' | ')} |`;
  const n = (name: string, get: (r: ReloadUnderLoad) => number, fmt: (x: number) => string = int): string =>
    line(name, cols.map((r) => fmt(get(r))), tends.map((t) => ratio(get(t), get(p))));
  const p99ratio = (r: ReloadUnderLoad): number => r.reload.wrk.latencyMs.p99 / r.steady.wrk.latencyMs.p99;
  return [
    `| reload under load | ${cols.map((r) => LABEL[r.kind]).join(' | ')} | ${tends.map((t) => `${LABEL[t.kind]} / PM2`).join(' | ')} |`,
    `|---|${cols.map(() => '---:').join('|')}|${tends.map(() => '---:').join('|')}|`,
    line('reload commands that succeeded', cols.map(ok)),
    n('mean reload command time, s', meanS, f2),
    line(`workers replaced (of ${p.workers})`, cols.map((r) => String(replaced(r)))),
    line(`distinct pids answering ${BURST_CONNECTIONS} new connections before the load`, cols.map((r) => String(r.servingPids))),
    n('requests served in the reload window', (r) => r.reload.wrk.requests),
    n('**failed requests** (read + write + timeout + non-2xx)', (r) => r.reload.wrk.failed),
    line('socket errors connect / read / write / timeout', cols.map((r) => errs(r.reload))),
    n('non-2xx responses', (r) => r.reload.wrk.non2xx),
    line('probes (a new connection every 100 ms) answered 200', cols.map((r) => probeText(r.reload.probes))),
    line('steady window / reload window, s', cols.map((r) => `${f0(r.steady.wrk.seconds)} / ${f1(r.reload.wrk.seconds)}`)),
    n('p99 latency, steady state, ms', (r) => r.steady.wrk.latencyMs.p99, f1),
    n('p99 latency, reload window, ms', (r) => r.reload.wrk.latencyMs.p99, f1),
    line('p99 reload window / steady', cols.map((r) => f2(p99ratio(r)))),
    n('max latency, reload window, ms', (r) => r.reload.wrk.latencyMs.max, f1),
    n('req/s steady', (r) => r.steady.wrk.rps),
    n('req/s reload window', (r) => r.reload.wrk.rps),
    n('failed requests in the steady window', (r) => r.steady.wrk.failed),
  ].join('\n');
}

function describeWorkers(b: BadBuild): string {
  const kept = b.workersBefore.filter((pid) => b.workersAfter.includes(pid)).length;
  return `${b.workersAfter.length} alive, ${kept} of them the old ones`;
}

function describeView(b: BadBuild): string {
  const v = b.supervisorView;
  if (Array.isArray(v)) {
    return v.map((x: { pm_id?: number; status?: string; restarts?: number }) => `#${x.pm_id ?? '?'} ${x.status ?? '?'} (${x.restarts ?? '?'} restarts)`).join(', ');
  }
  if (typeof v === 'object' && v !== null && 'generation' in v) {
    const s = v as { phase: string; generation: number; ready: number; desired: number; lastReload: { ok: boolean } | null };
    return `${s.phase}, ${s.ready}/${s.desired} ready, generation ${s.generation}, last reload ${s.lastReload?.ok === true ? 'ok' : 'failed'}`;
  }
  if (typeof v === 'object' && v !== null && 'error' in v) return String(v.error);
  return 'unknown';
}

export function badBuildTable(rows: readonly BadBuild[]): string {
  const t = rows.find((r) => r.kind.startsWith('tend'));
  const p = rows.find((r) => r.kind === 'pm2');
  if (t === undefined || p === undefined) return '(bad-build scenario incomplete)';
  const line = (name: string, a: string, b: string, c = ''): string => `| ${name} | ${a} | ${b} | ${c} |`;
  const n = (name: string, get: (r: BadBuild) => number, fmt: (x: number) => string = int): string =>
    line(name, fmt(get(t)), fmt(get(p)), ratio(get(t), get(p)));
  const code = (r: BadBuild): string => `${r.reload.code ?? 'killed'}${r.reload.timedOut ? ' (timed out)' : ''}`;
  const seconds = (r: BadBuild): number => r.window.wrk.seconds - r.reload.atMs / 1000;
  return [
    `| bad build, reload under load | ${LABEL[t.kind]} | ${LABEL.pm2} | tend/PM2 |`,
    '|---|---:|---:|---:|',
    line('reload command exit code', code(t), code(p)),
    n('reload command time, s', (r) => r.reload.ms / 1000, f2),
    line('load after the reload started, s', f1(seconds(t)), f1(seconds(p))),
    n('**failed requests** (read + write + timeout + non-2xx)', (r) => r.window.wrk.failed),
    line('socket errors connect / read / write / timeout', errs(t.window), errs(p.window)),
    n('requests served', (r) => r.window.wrk.requests),
    line('probes (a new connection every 100 ms) answered 200 during the load', probeText(t.window.probes), probeText(p.window.probes)),
    line('first failed probe, s after the reload started', fmtS(outage(t.window.probes, t.reload.atMs).firstFailS), fmtS(outage(p.window.probes, p.reload.atMs).firstFailS)),
    line('longest run of failed probes (outage), s', f1(outage(t.window.probes, t.reload.atMs).longestS), f1(outage(p.window.probes, p.reload.atMs).longestS)),
    line('probes answered 200 after the load', `${t.probesOk}/${t.probes}`, `${p.probesOk}/${p.probes}`),
    line('workers afterwards', describeWorkers(t), describeWorkers(p)),
    line('supervisor says', describeView(t), describeView(p)),
    line('good build back, reload again: exit code, probes answered', `${t.recovery.code ?? 'killed'}, ${t.recoveryProbesOk}/${t.probes}`, `${p.recovery.code ?? 'killed'}, ${p.recoveryProbesOk}/${p.probes}`),
  ].join('\n');
}

/** Medians per configuration over the rounds. */
export interface ThroughputSummary {
  kind: Kind;
  runs: number;
  keepAliveRps: number;
  keepAliveRpsRuns: number[];
  keepAliveP99Ms: number;
  closeRps: number;
  closeRpsRuns: number[];
  closeP99Ms: number;
  /** The busiest worker's share of all worker CPU (0.5 = balanced), in the most unbalanced run. */
  keepAliveBusiestShare: number;
  closeBusiestShare: number;
  keepAliveSupervisorCpu: number;
  closeSupervisorCpu: number;
  machineBusy: number;
  wrkCpu: number;
  /** The largest CPU use by other processes in any of this configuration's windows, in cores. */
  otherCoresMax: number;
  irqCores: number;
  /** Connections on the busiest worker when CONNECTIONS keep-alive connections open at once: median and worst. */
  spreadMedian: number;
  spreadWorst: number;
}

const busiest = (w: Window): number => {
  const sum = w.workerCpu.reduce((a, b) => a + b, 0);
  return sum > 0 ? Math.max(...w.workerCpu) / sum : Number.NaN;
};

export function summarizeThroughput(runs: readonly Throughput[]): ThroughputSummary[] {
  const kinds = [...new Set(runs.map((r) => r.kind))];
  return kinds.map((kind) => {
    const mine = runs.filter((r) => r.kind === kind);
    const m = (get: (r: Throughput) => number): number => median(mine.map(get));
    return {
      kind,
      runs: mine.length,
      keepAliveRps: m((r) => r.keepAlive.wrk.rps),
      keepAliveRpsRuns: mine.map((r) => Math.round(r.keepAlive.wrk.rps)),
      keepAliveP99Ms: m((r) => r.keepAlive.wrk.latencyMs.p99),
      closeRps: m((r) => r.close.wrk.rps),
      closeRpsRuns: mine.map((r) => Math.round(r.close.wrk.rps)),
      closeP99Ms: m((r) => r.close.wrk.latencyMs.p99),
      keepAliveBusiestShare: Math.max(...mine.map((r) => busiest(r.keepAlive))),
      closeBusiestShare: Math.max(...mine.map((r) => busiest(r.close))),
      keepAliveSupervisorCpu: m((r) => r.keepAlive.supervisorCpu),
      closeSupervisorCpu: m((r) => r.close.supervisorCpu),
      machineBusy: m((r) => (r.keepAlive.machineBusy + r.close.machineBusy) / 2),
      wrkCpu: m((r) => (r.keepAlive.wrk.wrkCpu + r.close.wrk.wrkCpu) / 2),
      otherCoresMax: Math.max(...mine.flatMap((r) => [r.keepAlive.otherCores, r.close.otherCores])),
      irqCores: m((r) => (r.keepAlive.irqCores + r.close.irqCores) / 2),
      spreadMedian: median(mine.flatMap((r) => r.spread)),
      spreadWorst: Math.max(...mine.flatMap((r) => r.spread)),
    };
  });
}

export function throughputTable(s: readonly ThroughputSummary[]): string {
  const pm2 = s.find((x) => x.kind === 'pm2');
  const rows = s.map((x) => {
    const vs = pm2 === undefined ? '–' : `${ratio(x.keepAliveRps, pm2.keepAliveRps)} / ${ratio(x.closeRps, pm2.closeRps)}`;
    return `| ${LABEL[x.kind]} | ${int(x.keepAliveRps)} (${x.keepAliveRpsRuns.map(int).join(', ')}) | ${f1(x.keepAliveP99Ms)} | ` +
      `${int(x.closeRps)} (${x.closeRpsRuns.map(int).join(', ')}) | ${f1(x.closeP99Ms)} | ${vs} | ` +
      `${pct(x.keepAliveBusiestShare)} / ${pct(x.closeBusiestShare)} | ${int(x.spreadMedian)} / ${int(x.spreadWorst)} | ` +
      `${pct(x.keepAliveSupervisorCpu)} / ${pct(x.closeSupervisorCpu)} |`;
  });
  return [
    '| 2 workers, 50 connections | keep-alive req/s, median (runs) | p99 ms | new connection per request: req/s, median (runs) | p99 ms | req/s vs PM2 (keep-alive / new conn.) | busiest worker\'s share of worker CPU, most unbalanced run (keep-alive / new conn.) | 50 keep-alive connections opened at once: on the busiest worker, median / worst | supervisor process CPU, % of one core (keep-alive / new conn.) |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows,
  ].join('\n');
}

// Which tend strategy was faster, in words.
export function strategyVerdict(s: readonly ThroughputSummary[]): string {
  const sh = s.find((x) => x.kind === 'tend-shared');
  const rp = s.find((x) => x.kind === 'tend-reuseport');
  if (sh === undefined || rp === undefined) return '';
  const cmp = (a: number, b: number, what: string): string => {
    const d = (a / b - 1) * 100;
    return `${what}: ${d >= 0 ? 'SO_REUSEPORT' : 'shared'} faster by ${Math.abs(d).toFixed(1)} % (reuseport ${int(a)} vs shared ${int(b)} req/s)`;
  };
  return `${cmp(rp.keepAliveRps, sh.keepAliveRps, 'keep-alive')}; ${cmp(rp.closeRps, sh.closeRps, 'new connection per request')}.`;
}

/** Supervisor RSS per configuration. */
export interface MemorySummary {
  kind: Kind;
  idleKb: number;
  loadedMaxKb: number;
  samples: number;
}

export function summarizeMemory(r: Results): MemorySummary[] {
  const byKind = new Map<Kind, { idle: number[]; loaded: number[] }>();
  const add = (kind: Kind, idle: number | null, windows: readonly Window[]): void => {
    const e = byKind.get(kind) ?? { idle: [], loaded: [] };
    if (idle !== null) e.idle.push(idle);
    for (const w of windows) if (w.supervisorRssMaxKb !== null) e.loaded.push(w.supervisorRssMaxKb);
    byKind.set(kind, e);
  };
  for (const x of r.throughput) add(x.kind, x.idleRssKb, [x.keepAlive, x.close]);
  for (const x of r.reload) add(x.kind, x.idleRssKb, [x.steady, x.reload]);
  return [...byKind].map(([kind, e]) => ({ kind, idleKb: median(e.idle), loadedMaxKb: e.loaded.length > 0 ? Math.max(...e.loaded) : Number.NaN, samples: e.idle.length }));
}

export function memoryTable(m: readonly MemorySummary[]): string {
  const pm2 = m.find((x) => x.kind === 'pm2');
  const what: Record<Kind, string> = {
    'tend-shared': 'tend process', 'tend-reuseport': 'tend process', 'tend-ondemand': 'tend process', pm2: 'PM2 God daemon', 'node-cluster': 'cluster primary (reference)',
  };
  return [
    '| supervisor RSS (VmRSS), 2 workers running | process | idle, median | peak under load | tend/PM2 (idle / peak) |',
    '|---|---|---:|---:|---:|',
    ...m.map((x) => `| ${LABEL[x.kind]} | ${what[x.kind]} | ${mib(x.idleKb)} | ${mib(x.loadedMaxKb)} | ` +
      `${pm2 === undefined || x.kind === 'pm2' || x.kind === 'node-cluster' ? '' : `${ratio(x.idleKb, pm2.idleKb)} / ${ratio(x.loadedMaxKb, pm2.loadedMaxKb)}`} |`),
  ].join('\n');
}

export function contentionLine(r: Results, s: readonly ThroughputSummary[]): string {
  const windows = [...r.reload.flatMap((x) => [x.steady, x.reload]), ...r.badBuild.map((x) => x.window)];
  const busy = windows.map((w) => w.machineBusy);
  const wrk = windows.map((w) => w.wrk.wrkCpu);
  if (windows.length === 0) return '';
  const other = Math.max(...windows.map((w) => w.otherCores));
  const tp = s.map((x) => `${LABEL[x.kind]}: ${pct(x.machineBusy)} busy, wrk ${pct(x.wrkCpu)}, irq/softirq ${f2(x.irqCores)} cores, other processes up to ${f2(x.otherCoresMax)} cores`).join('; ');
  return `CPU contention (2 CPUs; wrk runs on the same machine with one thread): in the 20 ms-handler windows (reload, bad build) ` +
    `the machine was ${pct(Math.min(...busy))}–${pct(Math.max(...busy))} busy, wrk used ${pct(Math.min(...wrk))}–${pct(Math.max(...wrk))} of one core, ` +
    `and processes not started by this run used up to ${f2(other)} cores; ` +
    `in the CPU-bound throughput runs (medians; busy = % of both CPUs, wrk = % of one core): ${tp}.`;
}

export function planLine(p: Plan): string {
  return `Plan: ${p.reloads} reloads in a ${p.reloadSeconds} s window after a ${p.steadySeconds} s steady window (${p.warmupSeconds} s warm-up); ` +
    `bad build: ${p.badBuildSeconds} s of load, reload 0.5 s in; throughput: ${p.rounds} rounds in alternating order, ` +
    `${p.throughputSeconds} s keep-alive + ${p.closeSeconds} s new-connection-per-request after a ${p.warmupSeconds} s warm-up.`;
}

/** Balance per configuration (4 workers): bursts and wrk windows, over all rounds. */
export interface BalanceSummary {
  kind: Kind;
  runs: number;
  workers: number;
  /** Connections on the busiest worker per burst of BURST_CONNECTIONS, and the same as max/mean. */
  burstMax: number[];
  burstMaxOverMeanMedian: number;
  burstMaxOverMeanWorst: number;
  burstFailed: number;
  /** The busiest worker's share of all worker CPU in each run's wrk window (1/workers = even), and as max/mean. */
  keepAliveShares: number[];
  closeShares: number[];
  keepAliveMaxOverMean: number;
  closeMaxOverMean: number;
  keepAliveRps: number;
  keepAliveRpsRuns: number[];
  closeRps: number;
  closeRpsRuns: number[];
  closeP99Ms: number;
}

export function summarizeBalance(runs: readonly Balance[]): BalanceSummary[] {
  const kinds = [...new Set(runs.map((r) => r.kind))];
  return kinds.map((kind) => {
    const mine = runs.filter((r) => r.kind === kind);
    const workers = mine[0]?.workers ?? 4;
    const mean = BURST_CONNECTIONS / workers;
    const burstMax = mine.flatMap((r) => r.bursts.map((b) => b.counts[0] ?? 0));
    const keepAliveShares = mine.map((r) => busiest(r.keepAlive));
    const closeShares = mine.map((r) => busiest(r.close));
    return {
      kind,
      runs: mine.length,
      workers,
      burstMax,
      burstMaxOverMeanMedian: median(burstMax) / mean,
      burstMaxOverMeanWorst: Math.max(...burstMax) / mean,
      burstFailed: mine.reduce((a, r) => a + r.bursts.reduce((x, b) => x + b.failed, 0), 0),
      keepAliveShares,
      closeShares,
      keepAliveMaxOverMean: median(keepAliveShares) * workers,
      closeMaxOverMean: median(closeShares) * workers,
      keepAliveRps: median(mine.map((r) => r.keepAlive.wrk.rps)),
      keepAliveRpsRuns: mine.map((r) => Math.round(r.keepAlive.wrk.rps)),
      closeRps: median(mine.map((r) => r.close.wrk.rps)),
      closeRpsRuns: mine.map((r) => Math.round(r.close.wrk.rps)),
      closeP99Ms: median(mine.map((r) => r.close.wrk.latencyMs.p99)),
    };
  });
}

export function balanceTable(s: readonly BalanceSummary[]): string {
  const workers = s[0]?.workers ?? 4;
  const rows = s.map((x) => `| ${LABEL[x.kind]} | ${int(median(x.burstMax))} / ${int(Math.max(...x.burstMax))} (${x.burstMax.join(', ')}) | ` +
    `${f2(x.burstMaxOverMeanMedian)} / ${f2(x.burstMaxOverMeanWorst)} | ` +
    `${x.keepAliveShares.map(pct).join(', ')} (${f2(x.keepAliveMaxOverMean)}) | ${int(x.keepAliveRps)} (${x.keepAliveRpsRuns.map(int).join(', ')}) | ` +
    `${x.closeShares.map(pct).join(', ')} (${f2(x.closeMaxOverMean)}) | ${int(x.closeRps)} (${x.closeRpsRuns.map(int).join(', ')}) | ${f1(x.closeP99Ms)} |`);
  return [
    `| ${workers} workers | ${BURST_CONNECTIONS} keep-alive connections opened at once: on the busiest worker, median / worst (every burst) | ` +
      'same as max/mean, median / worst | keep-alive wrk: busiest worker\'s share of worker CPU, per run (max/mean, median) | keep-alive req/s, median (runs) | ' +
      'new connection per request: busiest worker\'s CPU share, per run (max/mean) | new connection per request: req/s, median (runs) | p99 ms |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
    ...rows,
  ].join('\n');
}
