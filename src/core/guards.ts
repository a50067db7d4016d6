// Resource guards as pure verdicts: given a worker's samples over time, decide whether it has been above
// --max-memory or --max-cpu for the whole --guard-window, whether it stopped its watchdog pings, and whether its open
// files near the limit. The runner samples /proc and turns a verdict into an `unhealthy` event.
import type { GuardPolicy } from '../config/pool-config.js';

/** One reading of a worker (from /proc). */
export interface GuardSample {
  readonly at: number;
  readonly rssBytes: number;
  readonly cpuTicks: number;
  readonly fdCount: number | null;
  readonly nofileSoft: number | null;
}

/** What the guards remember about one worker between samples. */
export interface GuardHistory {
  readonly cpu: readonly { readonly at: number; readonly ticks: number }[];
  readonly rssOverSince: number | null;
  readonly cpuOverSince: number | null;
  readonly fdWarned: boolean;
}

export type GuardVerdict =
  | { readonly kind: 'ok' }
  | { readonly kind: 'unhealthy'; readonly why: string; readonly reason: 'memory' | 'cpu' }
  | { readonly kind: 'fd-warning'; readonly message: string };

export const FRESH_GUARD_HISTORY: GuardHistory = { cpu: [], rssOverSince: null, cpuOverSince: null, fdWarned: false };

const MIB = 1_048_576;

// Judge one sample; `ticksPerSecond` is USER_HZ.
export function judgeSample(policy: GuardPolicy, history: GuardHistory, sample: GuardSample, ticksPerSecond: number): { history: GuardHistory; verdicts: GuardVerdict[] } {
  const verdicts: GuardVerdict[] = [];
  const cpu = trimWindow([...history.cpu, { at: sample.at, ticks: sample.cpuTicks }], policy.windowMs, sample.at);
  const first = cpu[0];
  const cpuPercent = first === undefined || sample.at === first.at ? 0 : ((sample.cpuTicks - first.ticks) / ticksPerSecond) / ((sample.at - first.at) / 1000) * 100;
  const fd = judgeFds(policy, history.fdWarned, sample);
  if (fd.message !== null) verdicts.push({ kind: 'fd-warning', message: fd.message });
  const rssOver = policy.maxRssBytes !== null && sample.rssBytes > policy.maxRssBytes;
  const cpuOver = policy.maxCpuPercent !== null && cpuPercent > policy.maxCpuPercent;
  const next: GuardHistory = {
    cpu,
    rssOverSince: rssOver ? (history.rssOverSince ?? sample.at) : null,
    cpuOverSince: cpuOver ? (history.cpuOverSince ?? sample.at) : null,
    fdWarned: fd.warned,
  };
  if (next.rssOverSince !== null && sample.at - next.rssOverSince >= policy.windowMs) {
    verdicts.push({ kind: 'unhealthy', reason: 'memory', why: `RSS ${Math.round(sample.rssBytes / MIB)} MiB above --max-memory ${Math.round((policy.maxRssBytes ?? 0) / MIB)} MiB for ${policy.windowMs / 1000}s` });
  } else if (next.cpuOverSince !== null && sample.at - next.cpuOverSince >= policy.windowMs) {
    verdicts.push({ kind: 'unhealthy', reason: 'cpu', why: `CPU ${cpuPercent.toFixed(0)}% above --max-cpu ${policy.maxCpuPercent ?? 0}% for ${policy.windowMs / 1000}s` });
  }
  return { history: next, verdicts };
}

// A worker whose watchdog pings stopped: the why-text, or null while it is healthy.
export function judgeWatchdog(watchdogMs: number | null, lastPingAt: number, now: number): string | null {
  if (watchdogMs === null || now - lastPingAt <= watchdogMs) return null;
  return `no WATCHDOG=1 for ${now - lastPingAt} ms (WATCHDOG_USEC=${watchdogMs * 1000}); it stopped pinging`;
}

function trimWindow(cpu: { at: number; ticks: number }[], windowMs: number, now: number): { at: number; ticks: number }[] {
  while (cpu.length > 2 && now - (cpu[1]?.at ?? now) >= windowMs) cpu.shift();
  return cpu;
}

function judgeFds(policy: GuardPolicy, warned: boolean, sample: GuardSample): { warned: boolean; message: string | null } {
  if (sample.fdCount === null || sample.nofileSoft === null || sample.nofileSoft === 0) return { warned, message: null };
  const ratio = sample.fdCount / sample.nofileSoft;
  if (ratio >= policy.fdWarnRatio && !warned) {
    return {
      warned: true,
      message: `${sample.fdCount} open files, ${Math.round(ratio * 100)}% of its limit ${sample.nofileSoft}; at 100% it fails with EMFILE (raise it with --limit nofile=N)`,
    };
  }
  return { warned: ratio < policy.fdWarnRatio * 0.9 ? false : warned, message: null };
}
