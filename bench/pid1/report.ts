// Turns raw samples into the summary (for the JSON file) and the markdown tables (stdout, docs/benchmarks.md).
import { delayKey, type Delay, type EarlyTrial, type FloorSamples, type HandlerWindows, type LatencySamples, type MemorySamples, type ReapSamples, type StartupSamples } from './measure.js';
import { percentile, round, summarize, type Summary } from './stats.js';

/** Early-SIGTERM summary of one supervisor. */
export interface EarlySummary {
  trials: number;
  handled: number;
  killed: number;
  lost: number;
  errors: number;
  // delay key ("25" ms after spawn, "exec+0.5" ms after exec) → trials lost at that delay; only delays with a loss
  lostByDelayMs: Record<string, number>;
  // the largest spawn-relative delay with any loss, and with a loss surely after PID 1 had exec'd the supervisor (null: none)
  largestLostDelayMs: number | null;
  largestLostDelayAfterExecMs: number | null;
  // the latest actual send time (ms after spawn) of a lost signal, over all delays
  latestLostSentAtMs: number | null;
  // PID 1's command name when a signal was lost → count (`unshare` = the supervisor had not been exec'd yet)
  lostByComm: Record<string, number>;
  killedByDelayMs: Record<string, number>;
  trialsByDelayMs: Record<string, number>;
  errorDetails: string[];
}

/** Everything summarized per supervisor name. */
export interface Summaries {
  startupPid1Ms: Record<string, Summary>;
  startupPlainMs: Record<string, Summary>;
  noopRunPid1Ms: Record<string, Summary>;
  memoryVmHwmKb: Record<string, Summary>;
  memoryVmRssKb: Record<string, Summary>;
  latencyUs: Record<string, Summary & { lost: number }>;
  reapMs: Record<string, Summary & { maxOrphansSeen: number[] }>;
  reapReparentMs: Record<string, Summary>;
  early: Record<string, EarlySummary>;
}

// Rounds every number of a summary for the JSON file.
function rounded(s: Summary): Summary {
  return { n: s.n, median: round(s.median), p95: round(s.p95), p99: round(s.p99), min: round(s.min), max: round(s.max) };
}

function count<T>(items: readonly T[], key: (item: T) => string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const item of items) out[key(item)] = (out[key(item)] ?? 0) + 1;
  return out;
}

// Summarizes the early-SIGTERM trials of one supervisor.
export function summarizeEarly(trials: readonly EarlyTrial[]): EarlySummary {
  const lost = trials.filter((t) => t.outcome === 'lost');
  const lostTimed = lost.filter((t) => t.delay.from === 'spawn');
  const lostAfterExec = lostTimed.filter((t) => t.phase === 'post-exec');
  const maxOf = (xs: number[]): number | null => (xs.length > 0 ? Math.max(...xs) : null);
  const latest = maxOf(lost.map((t) => t.sentAtMs));
  return {
    trials: trials.length,
    handled: trials.filter((t) => t.outcome === 'handled').length,
    killed: trials.filter((t) => t.outcome === 'killed').length,
    lost: lost.length,
    errors: trials.filter((t) => t.outcome === 'error').length,
    lostByDelayMs: count(lost, (t) => delayKey(t.delay)),
    largestLostDelayMs: maxOf(lostTimed.map((t) => t.delay.ms)),
    largestLostDelayAfterExecMs: maxOf(lostAfterExec.map((t) => t.delay.ms)),
    latestLostSentAtMs: latest === null ? null : round(latest, 2),
    lostByComm: count(lost, (t) => `${t.comm || '(gone)'}${t.phase === 'ambiguous' ? ' (exec raced the kill)' : ''}`),
    killedByDelayMs: count(trials.filter((t) => t.outcome === 'killed'), (t) => delayKey(t.delay)),
    trialsByDelayMs: count(trials, (t) => delayKey(t.delay)),
    errorDetails: trials.filter((t) => t.outcome === 'error' || t.detail !== undefined).map((t) => `${delayKey(t.delay)} ms: ${t.detail ?? ''}`).slice(0, 10),
  };
}

/** Raw samples as measured, per supervisor name. */
export interface Raw {
  startup: Map<string, StartupSamples>;
  memory: Map<string, MemorySamples>;
  latency: Map<string, LatencySamples>;
  reap: Map<string, ReapSamples>;
  early: EarlyTrial[];
}

// Summaries of all raw samples.
export function summarizeAll(raw: Raw): Summaries {
  const map = <T, R>(m: Map<string, T>, f: (v: T) => R): Record<string, R> => Object.fromEntries([...m].map(([k, v]) => [k, f(v)]));
  const names = [...new Set(raw.early.map((t) => t.supervisor))];
  return {
    startupPid1Ms: map(raw.startup, (s) => rounded(summarize(s.pid1ExecMs))),
    startupPlainMs: map(raw.startup, (s) => rounded(summarize(s.plainExecMs))),
    noopRunPid1Ms: map(raw.startup, (s) => rounded(summarize(s.pid1ExitMs))),
    memoryVmHwmKb: map(raw.memory, (s) => rounded(summarize(s.vmHwmKb))),
    memoryVmRssKb: map(raw.memory, (s) => rounded(summarize(s.vmRssKb))),
    latencyUs: map(raw.latency, (s) => ({ ...rounded(summarize(s.us)), lost: s.lost })),
    reapMs: map(raw.reap, (s) => ({ ...rounded(summarize(s.ms)), maxOrphansSeen: s.maxOrphansSeen })),
    reapReparentMs: map(raw.reap, (s) => rounded(summarize(s.reparentMs))),
    early: Object.fromEntries(names.map((n) => [n, summarizeEarly(raw.early.filter((t) => t.supervisor === n))])),
  };
}

const PEERS = ['tend', 'tini', 'tini -g', 'dumb-init'] as const;

function fmt(value: number | null | undefined, digits: number): string {
  if (value === null || value === undefined || Number.isNaN(value)) return 'n/a';
  return value.toFixed(digits);
}

function ratio(a: number | null | undefined, b: number | null | undefined): string {
  if (a === null || a === undefined || b === null || b === undefined || Number.isNaN(a) || Number.isNaN(b) || b === 0) return 'n/a';
  const r = a / b;
  return `${r >= 10 ? r.toFixed(0) : r.toFixed(2)}×`;
}

// The main markdown table: one row per metric, a column per supervisor, tend/tini and tend/dumb-init ratios.
export function markdownTable(s: Summaries): string {
  // label, value per supervisor name, decimals, whether ratios and the no-supervisor column make sense
  type Row = [label: string, get: (name: string) => number | null | undefined, digits: number, compare: boolean];
  const rows: Row[] = [
    ['Start-up to child exec, PID 1, median (ms)', (n) => s.startupPid1Ms[n]?.median, 2, true],
    ['Start-up to child exec, PID 1, p95 (ms)', (n) => s.startupPid1Ms[n]?.p95, 2, true],
    ['Start-up to child exec, plain process, median (ms)', (n) => s.startupPlainMs[n]?.median, 2, true],
    ['Start-up to child exec, plain process, p95 (ms)', (n) => s.startupPlainMs[n]?.p95, 2, true],
    ['Spawn → exit with a no-op child, PID 1, median (ms)', (n) => s.noopRunPid1Ms[n]?.median, 2, true],
    ['Peak memory of PID 1 (VmHWM), median (kB)', (n) => s.memoryVmHwmKb[n]?.median, 0, true],
    ['Signal forwarding latency, median (µs)', (n) => s.latencyUs[n]?.median, 0, true],
    ['Signal forwarding latency, p99 (µs)', (n) => s.latencyUs[n]?.p99, 0, true],
    ['Reap a 1000-orphan burst, median (ms)', (n) => s.reapMs[n]?.median, 1, true],
    ['… of which the kernel reparenting them, median (ms)', (n) => s.reapReparentMs[n]?.median, 1, false],
  ];
  const lines = [
    '| metric | no supervisor | tend | tini | tini -g | dumb-init | tend/tini | tend/dumb-init |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const [label, get, digits, compare] of rows) {
    const base = compare && label.startsWith('Start-up') ? fmt(get('none'), digits) : '—';
    const cells = PEERS.map((n) => fmt(get(n), digits));
    const r = compare ? [ratio(get('tend'), get('tini')), ratio(get('tend'), get('dumb-init'))] : ['—', '—'];
    lines.push(`| ${label} | ${base} | ${cells.join(' | ')} | ${r.join(' | ')} |`);
  }
  const early: [string, (e: EarlySummary) => string][] = [
    ['Early SIGTERM lost (of trials)', (e) => `${e.lost} / ${e.trials}${e.errors > 0 ? ` (${e.errors} errors)` : ''}`],
    ['Early SIGTERM killed the child before its handler (of trials)', (e) => `${e.killed} / ${e.trials}`],
    ['Early SIGTERM: largest delay with a loss (ms)', (e) => (e.largestLostDelayMs === null ? 'none' : String(e.largestLostDelayMs))],
    ['… with a loss after the supervisor\'s exec (ms)', (e) => (e.largestLostDelayAfterExecMs === null ? 'none' : String(e.largestLostDelayAfterExecMs))],
    ['Early SIGTERM: latest lost signal, actually sent at (ms)', (e) => (e.latestLostSentAtMs === null ? 'none' : e.latestLostSentAtMs.toFixed(1))],
  ];
  for (const [label, cell] of early) {
    const cells = PEERS.map((n) => (s.early[n] ? cell(s.early[n]) : 'n/a'));
    lines.push(`| ${label} | — | ${cells.join(' | ')} | — | — |`);
  }
  return lines.join('\n');
}

// Per-delay early-SIGTERM table: lost / killed-before-handler / trials at every delay where any was lost or killed.
export function earlyTable(s: Summaries, delays: readonly Delay[]): string {
  const names = PEERS.filter((n) => s.early[n] !== undefined);
  const interesting = delays.filter((d) => names.some((n) => (s.early[n]!.lostByDelayMs[delayKey(d)] ?? 0) + (s.early[n]!.killedByDelayMs[delayKey(d)] ?? 0) > 0));
  const lines = [
    `| SIGTERM sent at (ms) | ${names.map((n) => `${n}: lost / killed / trials`).join(' | ')} |`,
    `|---:|${names.map(() => '---:').join('|')}|`,
  ];
  for (const d of interesting) {
    const k = delayKey(d);
    const cell = (e: EarlySummary): string => `${e.lostByDelayMs[k] ?? 0} / ${e.killedByDelayMs[k] ?? 0} / ${e.trialsByDelayMs[k] ?? 0}`;
    lines.push(`| ${d.from === 'spawn' ? `spawn + ${d.ms}` : `exec + ${d.ms}`} | ${names.map((n) => cell(s.early[n]!)).join(' | ')} |`);
  }
  if (interesting.length === 0) lines.push(`| (no delay lost a signal) | ${names.map(() => '').join(' | ')} |`);
  return lines.join('\n');
}

/** The comparison with Node's own floor: whole runs per command name, and the handler windows. */
export interface FloorSummaries {
  wallMs: Record<string, Summary>;
  maxRssKb: Record<string, Summary>;
  handlerAfterExecMs: { tend: Summary; node: Summary };
  /** tend's wall time over node -e 0's in the same round, median over rounds (null without both). */
  pairedWallRatio: number | null;
}

// Summaries of the floor measurements.
export function summarizeFloor(floor: Map<string, FloorSamples>, handlers: HandlerWindows): FloorSummaries {
  const map = <R>(f: (v: FloorSamples) => R): Record<string, R> => Object.fromEntries([...floor].map(([k, v]) => [k, f(v)]));
  return {
    wallMs: map((s) => rounded(summarize(s.wallMs))),
    maxRssKb: map((s) => rounded(summarize(s.maxRssKb))),
    handlerAfterExecMs: { tend: rounded(summarize(handlers.tend)), node: rounded(summarize(handlers.node)) },
    pairedWallRatio: pairedRatio(floor.get('tend')?.wallMs ?? [], floor.get('node -e 0')?.wallMs ?? []),
  };
}

// The median of a[i] / b[i]: both sampled in round i, next to each other, so a drift of the machine's speed over
// the run (seen here: a third within minutes) cancels out of each ratio. Null when there are no pairs.
function pairedRatio(a: readonly number[], b: readonly number[]): number | null {
  const ratios = a.slice(0, b.length).map((value, i) => value / b[i]!);
  return ratios.length === 0 ? null : round(percentile(ratios, 50), 3);
}

/** The targets tend is held to against `node -e 0` (issue 11). */
export const FLOOR_TARGETS = { wallRatio: 1.2, memoryRatio: 1.1, handlerExtraMs: 15 } as const;

const FLOOR_PEERS = ['true', 'node -e 0', 'tend', 'tini', 'dumb-init'] as const;

// The floor table: tend run -- true against node -e 0 (tini and dumb-init alongside), with tend/node and the target.
export function floorTable(s: FloorSummaries): string {
  const t = FLOOR_TARGETS;
  type Row = [label: string, get: (name: string) => number | undefined, digits: number, target: string];
  const rows: Row[] = [
    ['Run to the end, fork → reaped, median (ms)', (n) => s.wallMs[n]?.median, 2, `≤ ${t.wallRatio.toFixed(2)}×`],
    ['Run to the end, fork → reaped, min (ms)', (n) => s.wallMs[n]?.min, 2, `≤ ${t.wallRatio.toFixed(2)}×`],
    ['Peak RSS (ru_maxrss = VmHWM at exit), median (kB)', (n) => s.maxRssKb[n]?.median, 0, `≤ ${t.memoryRatio.toFixed(2)}×`],
  ];
  const lines = [
    '| metric | `true` | `node -e 0` | `tend run -- true` | `tini -- true` | `dumb-init true` | tend/node | target |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const [label, get, digits, target] of rows) {
    lines.push(`| ${label} | ${FLOOR_PEERS.map((n) => fmt(get(n), digits)).join(' | ')} | ${ratio(get('tend'), get('node -e 0'))} | ${target} |`);
  }
  lines.push(`| Run to the end, tend/node within each round, median | — | — | — | — | — | ${s.pairedWallRatio === null ? 'n/a' : `${s.pairedWallRatio.toFixed(2)}×`} | — |`);
  const h = s.handlerAfterExecMs;
  const diff = h.tend.median - h.node.median;
  const extra = h.tend.n > 0 && h.node.n > 0 ? `${diff >= 0 ? '+' : '−'}${Math.abs(diff).toFixed(1)} ms` : 'n/a';
  lines.push(`| Signal handlers installed, ms after exec, as PID 1, median | — | ${fmt(h.node.median, 1)} | ${fmt(h.tend.median, 1)} | — | — | ` +
    `${extra} | ≤ +${t.handlerExtraMs} ms |`);
  return lines.join('\n');
}
