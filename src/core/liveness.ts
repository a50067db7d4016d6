// The liveness decision for one service (issue 9): which ready workers to replace after a round of probes, and when
// to replace nobody because the cause is shared (half or more of the ready workers failing at once: a database, a
// disk), as Envoy caps ejection. Restart storms are the top complaint about liveness probes; this is the guard. Pure.

/** One ready worker's consecutive failed probes (a success resets it to 0). */
export interface ProbeTally {
  readonly proc: number;
  readonly failures: number;
}

/** What to do after a round: replace these, and whether the service is (still) degraded. */
export interface LivenessVerdict {
  readonly replace: readonly number[];
  readonly degraded: boolean;
  /** 'degraded' or 'cleared' when the state changed this round (log it once), else null. */
  readonly change: 'degraded' | 'cleared' | null;
}

// Judge a round: workers at `threshold` failures are replaced one by one, unless half or more of the ready ones fail.
export function judgeLiveness(ready: readonly ProbeTally[], threshold: number, wasDegraded: boolean): LivenessVerdict {
  const failing = ready.filter((t) => t.failures >= threshold).map((t) => t.proc);
  const degraded = failing.length > 0 && failing.length * 2 >= ready.length;
  const change = degraded === wasDegraded ? null : degraded ? 'degraded' : 'cleared';
  return { replace: degraded ? [] : failing, degraded, change };
}
