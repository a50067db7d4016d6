// The runner's keyed timers: clamped durations, and no cleanup left on the owner once a timer has fired or been
// cancelled (a crash loop re-arms one service's restart timer thousands of times). All keys share one native timer:
// due timers run in deadline order (ties in arming order), each removed before its fire, which may arm or cancel any
// key; the native timer is stopped whenever nothing is armed. The order tests drive a fake clock; the rest real time.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { NativeTimer } from '../../../src/os/native.js';
import { Lifetime } from '../../../src/runner/lifetime.js';
import { clampTimerMs, MAX_TIMER_MS, Timers } from '../../../src/runner/timers.js';

/** A native timer on a clock the test moves by hand. */
class FakeTimer implements NativeTimer {
  time = 1_000;
  /** The clock time it is started for, or null while stopped. */
  armedFor: number | null = null;
  wakes = 0;
  constructor(private readonly onFire: () => void) {}
  start(ms: number): void { this.armedFor = this.time + ms; }
  stop(): void { this.armedFor = null; }
  close(): void { this.armedFor = null; }
  now(): number { return this.time; }
  // Move the clock; fire (once per loop turn) while the timer is due, as the event loop would.
  advance(ms: number): void {
    this.time += ms;
    while (this.armedFor !== null && this.armedFor <= this.time) {
      this.armedFor = null;
      this.wakes++;
      this.onFire();
    }
  }
}

function fakeTimers(): { timers: Timers; clock: () => FakeTimer; created: () => boolean } {
  let fake: FakeTimer | undefined;
  const timers = new Timers((onFire) => (fake = new FakeTimer(onFire)));
  return { timers, clock: () => { assert.ok(fake !== undefined, 'the native timer was created'); return fake; }, created: () => fake !== undefined };
}

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

  it('arms nothing on an ended owner', () => {
    const { timers, clock, created } = fakeTimers();
    const ended = new Lifetime();
    ended.end();
    timers.arm('a', 0, ended, () => assert.fail('a timer of an ended owner fired'));
    assert.equal(created(), false, 'no native timer for it');
    // With another timer armed and fired, the ended owner's still never runs.
    const owner = new Lifetime();
    let fired = 0;
    timers.arm('b', 5, owner, () => { fired++; });
    timers.arm('a', 0, ended, () => assert.fail('a timer of an ended owner fired'));
    clock().advance(100);
    assert.equal(fired, 1);
    assert.equal(clock().armedFor, null, 'nothing left armed');
  });

  it('runs due timers in deadline order, ties in arming order, on the real clock', async () => {
    const timers = new Timers();
    const owner = new Lifetime();
    const order: string[] = [];
    const done = new Promise<void>((resolve) => {
      timers.arm('late', 20, owner, () => { order.push('late'); resolve(); });
      timers.arm('early', 5, owner, () => { order.push('early'); });
      timers.arm('tie', 5, owner, () => { order.push('tie'); });
    });
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 30); // all three are due at the first wake
    await done;
    assert.deepEqual(order, ['early', 'tie', 'late']);
    assert.equal(owner.pending, 0);
  });

  it('runs every due timer at one wake in deadline order, ties in arming order', () => {
    const { timers, clock } = fakeTimers();
    const owner = new Lifetime();
    const order: string[] = [];
    for (const [key, ms] of [['a', 30], ['b', 10], ['c', 20], ['d', 10], ['e', 0]] as const) {
      timers.arm(key, ms, owner, () => { order.push(key); });
    }
    assert.equal(clock().armedFor, 1_000, 'started for the earliest deadline');
    timers.arm('e', 25, owner, () => { order.push('e'); }); // replaced: now due after c
    clock().advance(100);
    assert.deepEqual(order, ['b', 'd', 'c', 'e', 'a']);
    assert.equal(clock().armedFor, null, 'nothing armed: stopped');
    assert.equal(owner.pending, 0);
  });

  it('fires each timer at its own deadline, never before', () => {
    const { timers, clock } = fakeTimers();
    const owner = new Lifetime();
    const fired: [string, number][] = [];
    timers.arm('a', 10, owner, () => { fired.push(['a', clock().now()]); });
    timers.arm('b', 25, owner, () => { fired.push(['b', clock().now()]); });
    clock().advance(9);
    assert.deepEqual(fired, []);
    clock().advance(1);
    assert.deepEqual(fired, [['a', 1_010]]);
    assert.equal(clock().armedFor, 1_025, 're-armed for the next one');
    clock().advance(100);
    assert.deepEqual(fired, [['a', 1_010], ['b', 1_110]]);
  });

  it('a fire that re-arms its own key runs again at the next wake, not in the same pass', () => {
    const { timers, clock } = fakeTimers();
    const owner = new Lifetime();
    let ticks = 0;
    const tick = (): void => { if (++ticks < 3) timers.arm('tick', 0, owner, tick); };
    timers.arm('tick', 5, owner, tick);
    timers.arm('other', 5, owner, () => undefined);
    clock().advance(5);
    assert.equal(ticks, 3);
    assert.equal(clock().wakes, 3, 'one wake per re-arm');
    assert.equal(clock().armedFor, null);
    assert.equal(owner.pending, 0);
  });

  it('a fire may cancel, replace or arm other keys, due or not', () => {
    const { timers, clock } = fakeTimers();
    const owner = new Lifetime();
    const order: string[] = [];
    timers.arm('first', 10, owner, () => {
      order.push('first');
      timers.cancel('cancelled');
      timers.arm('replaced', 50, owner, () => { order.push('replaced, later'); });
      timers.arm('new', 0, owner, () => { order.push('new'); });
    });
    timers.arm('cancelled', 10, owner, () => { order.push('cancelled'); });
    timers.arm('replaced', 10, owner, () => { order.push('replaced'); });
    timers.arm('last', 10, owner, () => { order.push('last'); });
    clock().advance(10);
    assert.deepEqual(order, ['first', 'last', 'new']);
    assert.equal(clock().armedFor, 1_060);
    clock().advance(50);
    assert.deepEqual(order, ['first', 'last', 'new', 'replaced, later']);
    assert.equal(owner.pending, 0);
  });

  it('the owner ending inside a fire clears its timers that are due in the same pass', () => {
    const { timers, clock } = fakeTimers();
    const tend = new Lifetime();
    const service = tend.child();
    const order: string[] = [];
    timers.arm('deadline', 10, tend, () => { order.push('deadline'); service.end(); });
    timers.arm('restart', 10, service, () => { order.push('restart'); });
    clock().advance(10);
    assert.deepEqual(order, ['deadline']);
    assert.equal(clock().armedFor, null);
  });

  it('stops the native timer once nothing is armed, and wakes early for a sooner key', () => {
    const { timers, clock } = fakeTimers();
    const owner = new Lifetime();
    timers.arm('a', 100, owner, () => undefined);
    assert.equal(clock().armedFor, 1_100);
    timers.arm('b', 10, owner, () => undefined);
    assert.equal(clock().armedFor, 1_010);
    timers.cancel('b');
    timers.cancel('a');
    assert.equal(clock().armedFor, null, 'stopped: keeps no loop alive');
    timers.arm('c', 5, owner, () => undefined);
    owner.end();
    assert.equal(clock().armedFor, null, 'the owner\'s end stopped it too');
  });

  it('a cancelled earliest key only costs an early wake that re-arms for the next', () => {
    const { timers, clock } = fakeTimers();
    const owner = new Lifetime();
    const fired: string[] = [];
    timers.arm('soon', 10, owner, () => { fired.push('soon'); });
    timers.arm('later', 40, owner, () => { fired.push('later'); });
    timers.cancel('soon');
    clock().advance(10);
    assert.deepEqual(fired, []);
    assert.equal(clock().armedFor, 1_040);
    clock().advance(30);
    assert.deepEqual(fired, ['later']);
  });
});
