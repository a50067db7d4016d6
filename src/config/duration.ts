// Durations always carry a unit: a bare number is ambiguous (ms or s?) and a known source of bugs.

const UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const PATTERN = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/;

/** Why a duration string was rejected, phrased so it can follow the flag name. */
export type DurationProblem = { problem: string; fix: string };

// Parse "250ms", "10s", "1.5m", "2h" into milliseconds; returns the problem instead of throwing so callers can name their flag.
export function parseDuration(text: string): number | DurationProblem {
  const match = PATTERN.exec(text.trim());
  if (match === null) {
    if (/^\d+(\.\d+)?$/.test(text.trim())) {
      return { problem: `duration "${text}" has no unit`, fix: `write ${text}s, ${text}ms or ${text}m (units: ms, s, m, h)` };
    }
    return { problem: `"${text}" is not a duration`, fix: 'write a number with a unit, e.g. 500ms, 10s, 2m or 1h' };
  }
  const [, amount, unit] = match;
  const ms = Math.round(Number(amount) * (UNITS[unit ?? 's'] ?? 1000));
  if (!Number.isSafeInteger(ms) || ms > 2_147_483_647) {
    return { problem: `duration "${text}" is too long`, fix: 'use at most 24 days (timers are 32-bit)' };
  }
  return ms;
}

// Format milliseconds for logs and help: 1500 → "1.5s", 250 → "250ms".
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  return `${ms / 1000}s`;
}
