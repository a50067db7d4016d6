// The status a control client sees: the runner's snapshot plus, per worker, what the operator asks about first —
// restarts and why, the last exit, memory, CPU and open files — and with -v (owner only) its last output lines.
// Never an environment value or an argument beyond the command's name.
import { CLOCK_TICKS_PER_SECOND, sampleProcess } from '../os/proc-stats.js';
import type { TendHandle } from '../runner/runner.js';
import type { ServiceStatus, TendStatus, WorkerStatus } from '../runner/status.js';
import type { History } from './history.js';

/** One worker as `tend status` shows it (docs/status.md). */
export interface RichWorker extends WorkerStatus {
  readonly restarts: number;
  readonly lastRestartReason: string | null;
  readonly lastExit: string | null;
  readonly rssBytes: number | null;
  readonly cpuPercent: number | null;
  readonly fds: number | null;
  readonly fdLimit: number | null;
  readonly lastLines?: readonly string[];
}

/** One service as `tend status` shows it. */
export interface RichService extends Omit<ServiceStatus, 'workers'> {
  readonly workers: readonly RichWorker[];
}

/** The whole answer of `tend status --json`. */
export interface RichStatus extends Omit<TendStatus, 'services' | 'workers'> {
  readonly pid: number;
  readonly services: readonly RichService[];
  /** The first service's workers, for older clients (as `generation`, `ready`, `desired`). */
  readonly workers: readonly RichWorker[];
}

/** Lines of each worker's output `tend status -v` shows. */
const VERBOSE_LINES = 5;
/** The previous CPU sample per pid, so CPU % is over the time since the last status (or the process's life). */
const lastCpu = new Map<number, { ticks: number; at: number }>();

// Build the rich snapshot; `verbose` adds each worker's last lines.
export function richStatus(tend: TendHandle, history: History, verbose: boolean): RichStatus {
  const base = tend.status();
  const now = Date.now();
  const seen = new Set<number>();
  const services = base.services.map((s) => ({
    ...s,
    workers: s.workers.map((w) => {
      const h = history.slot(s.name, w.slot);
      const sample = w.pid === null ? null : sampleProcess(w.pid);
      let cpuPercent: number | null = null;
      if (sample !== null && w.pid !== null) {
        seen.add(w.pid);
        const previous = lastCpu.get(w.pid);
        const sinceMs = previous === undefined ? w.uptimeMs : now - previous.at;
        const ticks = previous === undefined ? sample.cpuTicks : sample.cpuTicks - previous.ticks;
        cpuPercent = sinceMs > 0 ? Math.round((ticks / CLOCK_TICKS_PER_SECOND) * 1000 / sinceMs * 1000) / 10 : 0;
        lastCpu.set(w.pid, { ticks: sample.cpuTicks, at: now });
      }
      const lines = verbose ? tend.rings(s.name, w.slot).filter((r) => r.pid === w.pid).flatMap((r) => r.ring.snapshot(VERBOSE_LINES)) : undefined;
      return {
        ...w,
        restarts: h.restarts,
        lastRestartReason: h.lastReason,
        lastExit: h.lastExit,
        rssBytes: sample?.rssBytes ?? null,
        cpuPercent,
        fds: sample?.fdCount ?? null,
        fdLimit: sample?.nofileSoft ?? null,
        ...(lines === undefined ? {} : { lastLines: lines }),
      };
    }),
  }));
  for (const pid of lastCpu.keys()) if (!seen.has(pid)) lastCpu.delete(pid);
  return { phase: base.phase, pid: process.pid, generation: base.generation, ready: base.ready, desired: base.desired, lastReload: base.lastReload, services, workers: services[0]?.workers ?? [] };
}
