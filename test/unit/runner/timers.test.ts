// The runner's keyed timers: clamped durations, and no listener left on the owner once a timer has fired or been
// cancelled (a crash loop re-arms one service's restart timer thousands of times).
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { describe, it } from 'node:test';
import { clampTimerMs, MAX_TIMER_MS, Timers } from '../../../src/runner/timers.js';

describe('runner timers', () => {
  it('clamps every duration to what a Node timer holds', () => {
    assert.equal(clampTimerMs(99_999_999_999_999 / 1000), MAX_TIMER_MS);
    assert.equal(clampTimerMs(Number.POSITIVE_INFINITY), MAX_TIMER_MS);
    assert.equal(clampTimerMs(Number.NaN), 0);
    assert.equal(clampTimerMs(-5), 0);
    assert.equal(clampTimerMs(12.4), 12);
  });

  it('leaves no abort listener on the owner after a timer fired, was cancelled or was replaced', async () => {
    const timers = new Timers();
    const owner = new AbortController();
    for (let i = 0; i < 50; i++) {
      await new Promise<void>((resolve) => { timers.arm('restart', 0, owner.signal, resolve); });
    }
    timers.arm('a', 10_000, owner.signal, () => assert.fail('cancelled timer fired'));
    timers.cancel('a');
    timers.arm('b', 10_000, owner.signal, () => assert.fail('replaced timer fired'));
    timers.arm('b', 10_000, owner.signal, () => assert.fail('aborted timer fired'));
    assert.equal(getEventListeners(owner.signal, 'abort').length, 1, 'only the armed timer listens');
    owner.abort();
    assert.equal(getEventListeners(owner.signal, 'abort').length, 0);
  });
});
