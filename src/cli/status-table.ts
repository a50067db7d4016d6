// `tend status` on a terminal: a header line per service, then one row per worker; and `--check`'s verdict.
import type { RichService, RichStatus, RichWorker } from '../control/status-view.js';

const COLUMNS = ['SLOT', 'PID', 'STATE', 'GEN', 'UPTIME', 'RESTARTS', 'LAST EXIT', 'RSS', 'CPU%', 'FDS', 'STATUS'] as const;

// The table as text (bold headers when `terminal`).
export function renderStatus(status: RichStatus, terminal: boolean): string {
  const out: string[] = [];
  for (const service of status.services) {
    out.push(header(service, terminal));
    const rows = service.workers.map((w) => row(w, service.liveness?.threshold ?? 0));
    const widths = COLUMNS.map((c, i) => Math.max(c.length, ...rows.map((r) => (r[i] ?? '').length)));
    out.push(COLUMNS.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd());
    service.workers.forEach((worker, i) => {
      out.push((rows[i] ?? []).map((cell, j) => cell.padEnd(widths[j] ?? 0)).join('  ').trimEnd());
      for (const line of worker.lastLines ?? []) out.push(`    | ${line}`);
    });
    out.push('');
  }
  return out.join('\n');
}

// 0 when every service is ready at its desired size, 1 when one is not.
export function checkStatus(status: RichStatus): number {
  return status.services.every((s) => s.ready >= s.desired && (s.phase === 'running' || s.phase === 'done')) ? 0 : 1;
}

function header(s: RichService, terminal: boolean): string {
  const reload = s.lastReload === null ? '' : `, last reload ${s.lastReload.ok ? 'ok' : 'failed'} at ${s.lastReload.at}`;
  const live = s.liveness === null ? '' : s.liveness.degraded ? ', liveness DEGRADED (replacing none)' : ', liveness ok';
  const text = `${s.name} (${s.command}): ${s.phase}, ${s.ready}/${s.desired} ready, generation ${s.generation}${live}${reload}`;
  return terminal ? `\u001b[1m${text}\u001b[0m` : text;
}

function row(w: RichWorker, threshold: number): string[] {
  return [
    String(w.slot),
    w.pid === null ? '-' : String(w.pid),
    w.probeFailures === null || w.probeFailures === 0 ? w.state : `${w.state} (${w.probeFailures}/${threshold} probes failed)`,
    String(w.generation),
    duration(w.uptimeMs),
    w.restarts === 0 ? '0' : `${w.restarts} (${w.lastRestartReason ?? '?'})`,
    w.lastExit ?? '-',
    w.rssBytes === null ? '-' : `${(w.rssBytes / 1048576).toFixed(1)}M`,
    w.cpuPercent === null ? '-' : w.cpuPercent.toFixed(1),
    w.fds === null ? '-' : `${w.fds}/${w.fdLimit ?? '∞'}`,
    [w.status ?? '', ...w.holds.map((h) => `[hold ${h.name}${h.count > 1 ? ` ×${h.count}` : ''} ${duration(Date.now() - Date.parse(h.since))}]`)].join(' ').trim(),
  ];
}

function duration(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${s % 60}s`;
  return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m`;
}
