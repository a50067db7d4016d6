// Samples every ready worker of a service from /proc once per --guard sample period and hands the pure verdicts of
// core/guards.ts back as `unhealthy` events (memory, CPU, watchdog) or warnings (open files).
import { FRESH_GUARD_HISTORY, judgeSample, judgeWatchdog, type GuardHistory } from '../core/guards.js';
import { CLOCK_TICKS_PER_SECOND, sampleProcess } from '../os/proc-stats.js';
import type { ReplaceReason } from '../core/events.js';
import type { Lifetime } from './lifetime.js';
import type { ServiceRuntime } from './runner.js';

// Start sampling `rt`'s workers until `lifetime` ends.
export function startGuards(rt: ServiceRuntime, lifetime: Lifetime, unhealthy: (proc: number, why: string, reason: ReplaceReason) => void, warn: (message: string) => void): void {
  const { guards, watchdogMs } = rt.spec;
  if (guards.maxRssBytes === null && guards.maxCpuPercent === null && watchdogMs === null && !rt.spec.pool) return;
  const histories = new Map<number, GuardHistory>();
  const timer = setInterval(() => {
    const now = Date.now();
    for (const slot of rt.state.slots) {
      const id = slot.current;
      const rec = id === null ? undefined : rt.state.procs[id];
      const proc = id === null ? undefined : rt.procs.get(id);
      if (id === null || rec?.state?.kind !== 'ready' || proc?.pid == null) continue;
      const silent = judgeWatchdog(watchdogMs, proc.lastPingAt, now);
      if (silent !== null) {
        unhealthy(id, silent, 'watchdog');
        continue;
      }
      const sample = sampleProcess(proc.pid);
      if (sample === null) continue;
      const judged = judgeSample(guards, histories.get(id) ?? FRESH_GUARD_HISTORY, { at: now, ...sample }, CLOCK_TICKS_PER_SECOND);
      histories.set(id, judged.history);
      for (const verdict of judged.verdicts) {
        if (verdict.kind === 'unhealthy') unhealthy(id, verdict.why, verdict.reason);
        else if (verdict.kind === 'fd-warning') warn(`${rt.spec.name}.${slot.index} (pid ${proc.pid}) has ${verdict.message}`);
      }
    }
    for (const id of histories.keys()) if (!rt.procs.has(id)) histories.delete(id);
  }, guards.sampleMs);
  lifetime.onEnd(() => { clearInterval(timer); });
}
