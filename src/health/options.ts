// Parsing of tend's health settings (`--health-listen`), and the start-up check that a stop delay plus the longest
// stop chain fit the orchestrator's budget (`--grace`). Pure.
import { formatDuration } from '../config/duration.js';
import { usageError } from '../errors.js';

/** Where tend's health endpoints listen. */
export interface HealthAddress {
  readonly host: string;
  readonly port: number;
}

// --health-listen [HOST:]PORT: loopback unless a host is named, since the endpoints are for a local prober.
export function parseHealthListen(text: string, flag = '--health-listen'): HealthAddress {
  const fix = `write e.g. ${flag} 127.0.0.1:9000, ${flag} 9000 (loopback) or ${flag} 0.0.0.0:9000`;
  const match = /^(?:(\[[0-9a-fA-F:.]+\]|[^:/[\]\s]+):)?(\d{1,5})$/.exec(text.trim());
  const port = Number(match?.[2]);
  if (match === null || port > 65535) throw usageError(flag, text, 'not a HOST:PORT address', fix);
  return { host: (match[1] ?? '127.0.0.1').replace(/^\[|\]$/g, ''), port };
}

// Refuse a stop that cannot fit the budget: delay + the stop deadline must not exceed --grace (exit 64, numbers named).
export function checkStopBudget(stopDelayMs: number, stopDeadlineMs: number, graceMs: number | null): void {
  if (graceMs === null || stopDelayMs + stopDeadlineMs <= graceMs) return;
  throw usageError('--grace', formatDuration(graceMs),
    `the stop delay (${formatDuration(stopDelayMs)}) plus the longest stop chain (${formatDuration(stopDeadlineMs)}, the stop timeouts, the first one at least the drain spread, plus 1s for KILL) is ${formatDuration(stopDelayMs + stopDeadlineMs)}, more than the budget`,
    'raise --grace (and terminationGracePeriodSeconds), or shorten --stop-delay, --drain-spread or the --stop timeouts');
}
