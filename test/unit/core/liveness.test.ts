// The liveness decision as a table: (ready workers' failure counts, threshold, degraded before) → verdict. Pure.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { judgeLiveness, type LivenessVerdict, type ProbeTally } from '../../../src/core/liveness.js';

interface Row {
  readonly name: string;
  readonly ready: readonly ProbeTally[];
  readonly wasDegraded: boolean;
  readonly verdict: LivenessVerdict;
}

const tallies = (...failures: number[]): ProbeTally[] => failures.map((f, i) => ({ proc: i + 1, failures: f }));

const rows: readonly Row[] = [
  { name: 'all healthy → nothing', ready: tallies(0, 0, 0, 0), wasDegraded: false, verdict: { replace: [], degraded: false, change: null } },
  { name: 'failures below the threshold → nothing yet', ready: tallies(2, 0, 0, 0), wasDegraded: false, verdict: { replace: [], degraded: false, change: null } },
  { name: 'one of four at the threshold → replace it', ready: tallies(3, 0, 1, 0), wasDegraded: false, verdict: { replace: [1], degraded: false, change: null } },
  { name: 'one of three at the threshold → replace it (a third < half)', ready: tallies(0, 4, 0), wasDegraded: false, verdict: { replace: [2], degraded: false, change: null } },
  { name: 'two of four at once → half: replace nobody, degraded (logged once)', ready: tallies(3, 3, 0, 0), wasDegraded: false, verdict: { replace: [], degraded: true, change: 'degraded' } },
  { name: 'all four at once → degraded', ready: tallies(3, 5, 3, 9), wasDegraded: false, verdict: { replace: [], degraded: true, change: 'degraded' } },
  { name: 'still degraded → no new change to log', ready: tallies(4, 4, 4, 4), wasDegraded: true, verdict: { replace: [], degraded: true, change: null } },
  { name: 'it clears → resume (cleared, logged once)', ready: tallies(0, 0, 0, 0), wasDegraded: true, verdict: { replace: [], degraded: false, change: 'cleared' } },
  { name: 'clears down to one failing of four → cleared, and that one is replaced', ready: tallies(0, 3, 0, 0), wasDegraded: true, verdict: { replace: [2], degraded: false, change: 'cleared' } },
  { name: 'a single ready worker failing is half or more → degraded, not replaced', ready: tallies(3), wasDegraded: false, verdict: { replace: [], degraded: true, change: 'degraded' } },
  { name: 'no ready workers → nothing', ready: [], wasDegraded: false, verdict: { replace: [], degraded: false, change: null } },
];

describe('liveness decision', () => {
  for (const row of rows) {
    it(row.name, () => { assert.deepEqual(judgeLiveness(row.ready, 3, row.wasDegraded), row.verdict); });
  }
});
