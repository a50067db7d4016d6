// The runner's keyed timers: clamped durations, and no cleanup left on the owner once a timer has fired or been
// cancelled (a crash loop re-arms one service's restart timer thousands of times).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Lifetime } from '../../../src/runner/lifetime.js';
import { clampTimerMs, MAX_TIMER_MS, Timers } from '../../../src/runner/timers.js';

describe('runner timers', () => {
  it('clamps every duration to what a Node timer holds', () => {
    assert.equal(clampTimerMs(99_999_999_999_999 / 1000), MAX_TIMER_MS);
    assert.equal(clampTimerMs(Number.POSITIVE_INFINITY), MAX_TIMER_MS);
    assert.equal(clampTimerMs(Number.NaN), 0);
    assert.equal(clampTimerMs(-5), 0);
    assert.equal(clampTimerMs(12.4), 12);
  });

  it('leaves no cleanup on the owner after a timer fired, was cancelled or was replaced', async () => {
    const timers = new Timers();
    const owner = new Lifetime();
    for (let i = 0; i < 50; i++) {
      await new Promise<void>((resolve) => { timers.arm('restart', 0, owner, resolve); });
    }
    timers.arm('a', 10_000, owner, () => assert.fail('cancelled timer fired'));
    timers.cancel('a');
    timers.arm('b', 10_000, owner, () => assert.fail('replaced timer fired'));
    timers.arm('b', 10_000, owner, () => assert.fail('ended timer fired'));
    assert.equal(owner.pending, 1, 'only the armed timer waits for the end');
    owner.end();
    assert.equal(owner.pending, 0);
  });

  it('arms nothing on an ended owner', async () => {
    const timers = new Timers();
    const owner = new Lifetime();
    owner.end();
    timers.arm('a', 0, owner, () => assert.fail('a timer of an ended owner fired'));
    await new Promise((resolve) => setTimeout(resolve, 20));
  });
});
