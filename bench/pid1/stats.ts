// Small statistics and timing helpers for the PID 1 benchmark.

/** Summary of a sample: count, median, chosen percentiles, min and max. */
export interface Summary {
  n: number;
  median: number;
  p95: number;
  p99: number;
  min: number;
  max: number;
}

// Percentile by linear interpolation between closest ranks (p in 0..100); NaN for an empty sample.
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  const low = sorted[lo]!;
  return low + (sorted[hi]! - low) * (rank - lo);
}

// Median, p95, p99, min and max of a sample.
export function summarize(values: readonly number[]): Summary {
  return {
    n: values.length,
    median: percentile(values, 50),
    p95: percentile(values, 95),
    p99: percentile(values, 99),
    min: values.length > 0 ? Math.min(...values) : Number.NaN,
    max: values.length > 0 ? Math.max(...values) : Number.NaN,
  };
}

// CLOCK_MONOTONIC now, in nanoseconds (the same clock the C fixture prints).
export function nowNs(): bigint {
  return process.hrtime.bigint();
}

// Milliseconds between two CLOCK_MONOTONIC readings in ns, as a float.
export function msBetween(fromNs: bigint, toNs: bigint): number {
  return Number(toNs - fromNs) / 1e6;
}

// Resolve after `ms` milliseconds.
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// Yield to the event loop once (lets stdout data and exit events in) without a timer's 1 ms floor.
export function yieldNow(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

// Round to `digits` decimals (keeps the JSON and the table readable).
export function round(value: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
