// Table tests of one worker's life: starting → ready → stopping → exited.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { StopStage } from '../../../src/config/run-config.js';
import { workerTransition, type WorkerEffect, type WorkerEvent, type WorkerState } from '../../../src/supervisor/worker-machine.js';

const stop: StopStage[] = [{ signal: 'SIGTSTP', timeoutMs: 100 }, { signal: 'received', timeoutMs: 200 }];
const starting: WorkerState = { kind: 'starting', pid: 7, startedAt: 1000 };
const noLogs = (e: readonly WorkerEffect[]): WorkerEffect[] => e.filter((x) => x.type !== 'log');
const run = (state: WorkerState, ...events: WorkerEvent[]): { state: WorkerState; effects: WorkerEffect[] } => {
  let s = state;
  const effects: WorkerEffect[] = [];
  for (const e of events) {
    const t = workerTransition(stop, s, e);
    s = t.state;
    effects.push(...noLogs(t.effects));
  }
  return { state: s, effects };
};

describe('worker-machine', () => {
  it('becomes ready once; a duplicate READY is ignored', () => {
    const r = run(starting, { type: 'ready', at: 1500 }, { type: 'ready', at: 1600 });
    assert.deepEqual(r.state, { kind: 'ready', pid: 7, startedAt: 1000, readyAt: 1500 });
    assert.deepEqual(r.effects, [{ type: 'became-ready' }]);
  });
  it('a ready timeout stops a starting worker (not-ready) but not a ready one', () => {
    const r = run(starting, { type: 'ready-timeout' });
    assert.equal(r.state.kind === 'stopping' && r.state.reason, 'not-ready');
    assert.deepEqual(run({ kind: 'ready', pid: 7, startedAt: 1000, readyAt: 1100 }, { type: 'ready-timeout' }).effects, []);
  });
  it('walks the stop stages with the trigger for "received", then KILL, and records a forced exit', () => {
    const r = run({ kind: 'ready', pid: 7, startedAt: 1000, readyAt: 1100 },
      { type: 'stop', reason: 'shutdown', signal: 'SIGINT' }, { type: 'stage-timeout', stage: 0 }, { type: 'stage-timeout', stage: 1 },
      { type: 'exited', status: { code: null, signal: 9 }, at: 5000 });
    assert.deepEqual(r.effects, [
      { type: 'signal', signal: 'SIGTSTP' }, { type: 'arm-timer', timer: 'stage', stage: 0, ms: 100 },
      { type: 'signal', signal: 'SIGINT' }, { type: 'arm-timer', timer: 'stage', stage: 1, ms: 200 },
      { type: 'signal', signal: 'SIGKILL' }, { type: 'arm-timer', timer: 'stage', stage: 2, ms: 5000 },
    ]);
    assert.deepEqual(r.state, { kind: 'exited', status: { code: null, signal: 9 }, wasReady: true, reason: 'shutdown', uptimeMs: 4000, forced: true });
  });
  it('the first stop wins; stale stage timers are ignored', () => {
    const r = run(starting, { type: 'stop', reason: 'reload' }, { type: 'stop', reason: 'shutdown' }, { type: 'stage-timeout', stage: 5 });
    assert.equal(r.state.kind === 'stopping' && r.state.reason, 'reload');
    assert.equal(r.effects.length, 2);
  });
  it('an exit nobody asked for has no reason (a crash)', () => {
    const r = run(starting, { type: 'exited', status: { code: 1, signal: null }, at: 1300 });
    assert.deepEqual(r.state, { kind: 'exited', status: { code: 1, signal: null }, wasReady: false, reason: null, uptimeMs: 300, forced: false });
  });
  it('ignores everything after exiting', () => {
    const exited: WorkerState = { kind: 'exited', status: { code: 0, signal: null }, wasReady: true, reason: null, uptimeMs: 1, forced: false };
    for (const e of [{ type: 'ready', at: 1 }, { type: 'stop', reason: 'shutdown' }, { type: 'exited', status: { code: 0, signal: null }, at: 2 }] as WorkerEvent[]) {
      assert.equal(workerTransition(stop, exited, e).state, exited);
    }
  });
});
