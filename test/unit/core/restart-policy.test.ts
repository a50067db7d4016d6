// Backoff, jitter, cap, reset after a stable run, and the crash-loop verdict.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RestartPolicy } from '../../../src/config/pool-config.js';
import { FRESH_HISTORY, nextRestart, type SlotHistory } from '../../../src/core/restart-policy.js';

const policy: RestartPolicy = { initialDelayMs: 100, maxDelayMs: 1000, stableAfterMs: 10_000, maxRestarts: 5, onCrashLoop: 'exit' };

describe('restart policy', () => {
  it('doubles the delay per quick failure, within [d/2, d], up to the cap', () => {
    let h: SlotHistory = FRESH_HISTORY;
    const bounds: [number, number][] = [];
    for (let i = 0; i < 5; i++) {
      const lo = nextRestart(policy, h, 50, 0);
      const hi = nextRestart(policy, h, 50, 0.999999);
      if (lo.kind !== 'restart' || hi.kind !== 'restart') throw new Error(`expected restarts, got ${lo.kind}/${hi.kind}`);
      bounds.push([lo.delayMs, hi.delayMs]);
      h = lo.history;
    }
    assert.deepEqual(bounds, [[50, 100], [100, 200], [200, 400], [400, 800], [500, 1000]]);
  });
  it('resets after a stable run', () => {
    const d = nextRestart(policy, { consecutiveFailures: 4 }, 10_000, 0);
    assert.deepEqual(d, { kind: 'restart', delayMs: 50, history: { consecutiveFailures: 1 }, crashLooping: false });
  });
  it('gives up after maxRestarts quick failures, or keeps trying at the cap with retry', () => {
    assert.equal(nextRestart(policy, { consecutiveFailures: 5 }, 10, 0.5).kind, 'give-up');
    const retry = nextRestart({ ...policy, onCrashLoop: 'retry' }, { consecutiveFailures: 5 }, 10, 0.999999);
    assert.ok(retry.kind === 'restart' && retry.crashLooping && retry.delayMs === 1000);
  });
});
