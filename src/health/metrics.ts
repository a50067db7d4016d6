// Prometheus metrics for /metrics, in the text exposition format: per service and slot (never a pid or a generation as
// a label, so the series stay bounded however often workers restart), counters owned by tend that never decrease while
// it lives, and tend's own process_* metrics. A subscriber of the event stream plus the status snapshot.
import type { TendEvent } from '../core/events.js';
import { CLOCK_TICKS_PER_SECOND, sampleProcess } from '../os/proc-stats.js';
import type { StatusView, WorkerView } from './checks.js';

/** Why a slot's process was replaced; every slot seen has a series for each. */
export const RESTART_REASONS = ['crash', 'memory', 'cpu', 'watchdog', 'liveness', 'reload', 'scale'] as const;
export type RestartReason = (typeof RESTART_REASONS)[number];

/** The Content-Type of the text format. */
export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** The counters tend keeps from the event stream. */
export class MetricsCounters {
  private readonly restarts = new Map<string, number>();
  private readonly reloads = new Map<string, number>();
  private readonly giveUps = new Map<string, number>();
  private readonly reloadStarted = new Map<string, number>();
  private readonly lastReloadSeconds = new Map<string, number>();
  /** --metrics-workers: scrapes of each slot's worker that got no answer in time, and whether the last one did. */
  private readonly scrapeFailures = new Map<string, number>();
  private readonly scrapeUp = new Map<string, number>();

  // Count one scrape of a worker's own metrics.
  workerScrape(service: string, slot: number, ok: boolean): void {
    const key = labels({ service, slot: String(slot) });
    this.scrapeUp.set(key, ok ? 1 : 0);
    this.scrapeFailures.set(key, (this.scrapeFailures.get(key) ?? 0) + (ok ? 0 : 1));
  }

  // The --metrics-workers families about the scrapes themselves.
  renderScrapes(out: string[]): void {
    family(out, 'tend_worker_metrics_up', 'gauge', "1 when the slot's worker answered the last scrape of its own metrics in time.", [...this.scrapeUp]);
    family(out, 'tend_worker_metrics_scrape_failures_total', 'counter', "Scrapes of the slot's worker's own metrics it did not answer in time (skipped).", [...this.scrapeFailures]);
  }

  // Count one event; `now` in ms.
  observe(event: TendEvent, now: number): void {
    if (event.type === 'spawned' && event.role === 'worker') this.touchSlot(event.service, event.slot);
    else if (event.type === 'restart-scheduled') this.addRestart(event.service, event.slot, 'crash');
    else if (event.type === 'replacing') this.addRestart(event.service, event.slot, event.reason);
    else if (event.type === 'exited' && event.role === 'worker' && (event.reason === 'reload' || event.reason === 'scale')) this.addRestart(event.service, event.slot, event.reason);
    else if (event.type === 'reload-started') this.reloadStarted.set(event.service, now);
    else if (event.type === 'reload-finished') this.reloadFinished(event.service, event.ok, now);
    else if (event.type === 'gave-up') this.giveUps.set(event.service, (this.giveUps.get(event.service) ?? 0) + 1);
  }

  private reloadFinished(service: string, ok: boolean, now: number): void {
    const key = labels({ service, result: ok ? 'ok' : 'failed' });
    this.reloads.set(key, (this.reloads.get(key) ?? 0) + 1);
    const started = this.reloadStarted.get(service);
    if (started !== undefined) this.lastReloadSeconds.set(service, (now - started) / 1000);
    this.reloadStarted.delete(service);
  }

  // The counter families, rendered.
  render(out: string[], services: readonly string[]): void {
    family(out, 'tend_worker_restarts_total', 'counter', "Times tend replaced a slot's process, by reason.", [...this.restarts]);
    const reloads: [string, number][] = [];
    for (const s of services) {
      for (const result of ['ok', 'failed']) {
        const key = labels({ service: s, result });
        reloads.push([key, this.reloads.get(key) ?? 0]);
      }
    }
    family(out, 'tend_reloads_total', 'counter', 'Rolling reloads finished, by result.', reloads);
    family(out, 'tend_reload_last_duration_seconds', 'gauge', 'How long the last finished reload took.',
      [...this.lastReloadSeconds].map(([s, v]) => [labels({ service: s }), v]));
    family(out, 'tend_give_ups_total', 'counter', 'Times tend gave up on a crash-looping slot.', services.map((s) => [labels({ service: s }), this.giveUps.get(s) ?? 0]));
  }

  // Every slot has a series for each reason from its first appearance, at 0 until it counts.
  touchSlot(service: string, slot: number): void {
    for (const reason of RESTART_REASONS) {
      const key = labels({ service, slot: String(slot), reason });
      if (!this.restarts.has(key)) this.restarts.set(key, 0);
    }
  }

  private addRestart(service: string, slot: number, reason: RestartReason): void {
    this.touchSlot(service, slot);
    const key = labels({ service, slot: String(slot), reason });
    this.restarts.set(key, (this.restarts.get(key) ?? 0) + 1);
  }
}

// The whole /metrics body: per-slot gauges from the snapshot and /proc, tend's counters, tend's own process_*.
export function renderMetrics(status: StatusView, counters: MetricsCounters, now: number): string {
  const out: string[] = [];
  const up: [string, number][] = [];
  const ready: [string, number][] = [];
  const start: [string, number][] = [];
  const rss: [string, number][] = [];
  const cpu: [string, number][] = [];
  const fds: [string, number][] = [];
  const maxFds: [string, number][] = [];
  for (const s of status.services) {
    for (const [slot, procs] of bySlot(s.workers)) {
      counters.touchSlot(s.name, slot);
      const key = labels({ service: s.name, slot: String(slot) });
      const live = procs.filter((w) => w.pid !== null);
      up.push([key, live.length > 0 ? 1 : 0]);
      ready.push([key, procs.some((w) => w.state === 'ready') ? 1 : 0]);
      // The newest process of the slot (a replacement during a roll) speaks for it.
      const newest = live.reduce<WorkerView | null>((a, w) => (a === null || w.uptimeMs < a.uptimeMs ? w : a), null);
      if (newest === null || newest.pid === null) continue;
      start.push([key, (now - newest.uptimeMs) / 1000]);
      const sample = sampleProcess(newest.pid);
      if (sample === null) continue;
      rss.push([key, sample.rssBytes]);
      cpu.push([key, sample.cpuTicks / CLOCK_TICKS_PER_SECOND]);
      if (sample.fdCount !== null) fds.push([key, sample.fdCount]);
      if (sample.nofileSoft !== null) maxFds.push([key, sample.nofileSoft]);
    }
  }
  family(out, 'tend_worker_up', 'gauge', "1 while the slot has a running process.", up);
  family(out, 'tend_worker_ready', 'gauge', "1 while the slot's process is ready.", ready);
  family(out, 'tend_worker_start_time_seconds', 'gauge', "Start time of the slot's process since the epoch.", start);
  family(out, 'tend_worker_resident_memory_bytes', 'gauge', "Resident memory of the slot's process.", rss);
  family(out, 'tend_worker_cpu_seconds_total', 'counter', "User and system CPU time of the slot's current process.", cpu);
  family(out, 'tend_worker_open_fds', 'gauge', "Open file descriptors of the slot's process.", fds);
  family(out, 'tend_worker_max_fds', 'gauge', "The slot's process's open-files limit.", maxFds);
  counters.render(out, status.services.map((s) => s.name));
  renderOwn(out, now);
  return `${out.join('\n')}\n`;
}

function renderOwn(out: string[], now: number): void {
  const self = sampleProcess(process.pid);
  family(out, 'process_start_time_seconds', 'gauge', 'Start time of the process since unix epoch in seconds.', [['', Math.round(now / 1000 - process.uptime())]]);
  if (self === null) return;
  family(out, 'process_cpu_seconds_total', 'counter', 'Total user and system CPU time spent in seconds.', [['', self.cpuTicks / CLOCK_TICKS_PER_SECOND]]);
  family(out, 'process_resident_memory_bytes', 'gauge', 'Resident memory size in bytes.', [['', self.rssBytes]]);
  if (self.fdCount !== null) family(out, 'process_open_fds', 'gauge', 'Number of open file descriptors.', [['', self.fdCount]]);
  if (self.nofileSoft !== null) family(out, 'process_max_fds', 'gauge', 'Maximum number of open file descriptors.', [['', self.nofileSoft]]);
}

function bySlot(workers: readonly WorkerView[]): Map<number, WorkerView[]> {
  const map = new Map<number, WorkerView[]>();
  for (const w of workers) if (w.role === 'worker') map.set(w.slot, [...(map.get(w.slot) ?? []), w]);
  return new Map([...map].sort((a, b) => a[0] - b[0]));
}

function family(out: string[], name: string, type: 'gauge' | 'counter', help: string, samples: readonly (readonly [string, number])[]): void {
  out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
  for (const [key, value] of samples) out.push(`${name}${key === '' ? '' : `{${key}}`} ${Number.isFinite(value) ? String(value) : 'NaN'}`);
}

function labels(pairs: Readonly<Record<string, string>>): string {
  return Object.entries(pairs).map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`).join(',');
}
