// Table tests of the pure `tend run` lifecycle: [state, event] → [state, effects]; no processes, no clock.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { StopStage } from '../../../src/config/run-config.js';
import { initialTransition, transition, type RunEffect, type RunEvent, type RunPolicy, type RunState } from '../../../src/supervisor/run-machine.js';

const quietThenTerm: StopStage[] = [
  { signal: 'SIGTSTP', timeoutMs: 10_000 },
  { signal: 'SIGTERM', timeoutMs: 25_000 },
];
const policy = (over: Partial<RunPolicy> = {}): RunPolicy => ({
  steps: 0,
  stop: [{ signal: 'received', timeoutMs: 30_000 }],
  signalScope: 'group',
  remapExit: new Map(),
  ...over,
});
const noLogs = (effects: readonly RunEffect[]): RunEffect[] => effects.filter((e) => e.type !== 'log');
const run = (p: RunPolicy, state: RunState, ...events: RunEvent[]): { state: RunState; effects: RunEffect[] } => {
  let s = state;
  const effects: RunEffect[] = [];
  for (const e of events) {
    const t = transition(p, s, e);
    s = t.state;
    effects.push(...noLogs(t.effects));
  }
  return { state: s, effects };
};
const running: RunState = { kind: 'running', phase: { kind: 'main' }, pid: 100 };

describe('run-machine', () => {
  it('spawns the main command first when there are no steps, the first step otherwise', () => {
    assert.deepEqual(initialTransition(policy()).effects, [{ type: 'spawn', phase: { kind: 'main' } }]);
    assert.deepEqual(initialTransition(policy({ steps: 2 })).effects, [{ type: 'spawn', phase: { kind: 'step', index: 0 } }]);
  });

  it('queues signals that arrive before the child exists and delivers them once it does', () => {
    const start = initialTransition(policy()).state;
    const r = run(policy(), start, { type: 'signal', signal: 'SIGUSR1' }, { type: 'signal', signal: 'SIGTERM' }, { type: 'spawned', pid: 100 });
    assert.deepEqual(r.effects, [
      { type: 'send', signal: 'SIGUSR1', target: { kind: 'group', pgid: 100 }, reason: 'forward' },
      { type: 'watch-descendants' },
      { type: 'send', signal: 'SIGTERM', target: { kind: 'tree', pgid: 100 }, reason: 'stop' },
      { type: 'arm-stage-timer', stage: 0, ms: 30_000 },
    ]);
    assert.equal(r.state.kind, 'stopping');
  });

  it('forwards non-stop signals to the group, or to the pid with --signal-scope child', () => {
    assert.deepEqual(run(policy(), running, { type: 'signal', signal: 'SIGHUP' }).effects, [
      { type: 'send', signal: 'SIGHUP', target: { kind: 'group', pgid: 100 }, reason: 'forward' },
    ]);
    assert.deepEqual(run(policy({ signalScope: 'child' }), running, { type: 'signal', signal: 'SIGHUP' }).effects, [
      { type: 'send', signal: 'SIGHUP', target: { kind: 'child', pid: 100 }, reason: 'forward' },
    ]);
  });

  it('walks the stop stages TSTP → TERM → KILL on timeouts and exits with the child status', () => {
    const p = policy({ stop: quietThenTerm });
    const r = run(p, running, { type: 'signal', signal: 'SIGTERM' }, { type: 'stage-timeout', stage: 0 }, { type: 'stage-timeout', stage: 1 });
    assert.deepEqual(r.effects, [
      { type: 'watch-descendants' },
      { type: 'send', signal: 'SIGTSTP', target: { kind: 'tree', pgid: 100 }, reason: 'stop' },
      { type: 'arm-stage-timer', stage: 0, ms: 10_000 },
      { type: 'send', signal: 'SIGTERM', target: { kind: 'tree', pgid: 100 }, reason: 'stop' },
      { type: 'arm-stage-timer', stage: 1, ms: 25_000 },
      { type: 'send', signal: 'SIGKILL', target: { kind: 'tree', pgid: 100 }, reason: 'stop' },
      { type: 'arm-stage-timer', stage: 2, ms: 5_000 },
    ]);
    const end = run(p, r.state, { type: 'exited', pid: 100, status: { code: null, signal: 9 }, lingering: false });
    assert.deepEqual(end.effects, [{ type: 'exit', code: 137 }]);
  });

  it('ignores a stale stage timer', () => {
    const p = policy({ stop: quietThenTerm });
    const r = run(p, running, { type: 'signal', signal: 'SIGTERM' }, { type: 'stage-timeout', stage: 0 });
    assert.deepEqual(run(p, r.state, { type: 'stage-timeout', stage: 0 }).effects, []);
  });

  it('forwards a second stop signal without restarting the stages', () => {
    const r = run(policy(), running, { type: 'signal', signal: 'SIGINT' }, { type: 'signal', signal: 'SIGINT' });
    assert.deepEqual(r.effects.at(-1), { type: 'send', signal: 'SIGINT', target: { kind: 'group', pgid: 100 }, reason: 'forward' });
    assert.equal(r.state.kind === 'stopping' && r.state.stage, 0);
  });

  it('waits for lingering processes after the child exits, then exits with the child status', () => {
    const r = run(policy(), running, { type: 'exited', pid: 100, status: { code: 3, signal: null }, lingering: true });
    assert.deepEqual(r.effects, [
      { type: 'watch-descendants' },
      { type: 'send', signal: 'SIGTERM', target: { kind: 'tree', pgid: 100 }, reason: 'stop' },
      { type: 'arm-stage-timer', stage: 0, ms: 30_000 },
    ]);
    assert.deepEqual(run(policy(), r.state, { type: 'descendants-gone' }).effects, [{ type: 'exit', code: 3 }]);
  });

  it('keeps waiting when the child exits during a stop while its group lives on', () => {
    const r = run(policy(), running, { type: 'signal', signal: 'SIGTERM' }, { type: 'descendants-gone' },
      { type: 'exited', pid: 100, status: { code: null, signal: 15 }, lingering: true });
    assert.equal(r.state.kind, 'stopping');
    assert.deepEqual(run(policy(), r.state, { type: 'descendants-gone' }).effects, [{ type: 'exit', code: 143 }]);
  });

  it('runs steps in order, then the main command; a failing step stops the chain with its status', () => {
    const p = policy({ steps: 2 });
    const step0: RunState = { kind: 'running', phase: { kind: 'step', index: 0 }, pid: 10 };
    assert.deepEqual(run(p, step0, { type: 'exited', pid: 10, status: { code: 0, signal: null }, lingering: false }).effects,
      [{ type: 'spawn', phase: { kind: 'step', index: 1 } }]);
    const step1: RunState = { kind: 'running', phase: { kind: 'step', index: 1 }, pid: 11 };
    assert.deepEqual(run(p, step1, { type: 'exited', pid: 11, status: { code: 0, signal: null }, lingering: false }).effects,
      [{ type: 'spawn', phase: { kind: 'main' } }]);
    assert.deepEqual(run(p, step1, { type: 'exited', pid: 11, status: { code: 4, signal: null }, lingering: false }).effects,
      [{ type: 'exit', code: 4 }]);
  });

  it('does not start the main command when a stop arrives during a step, even if the step then succeeds', () => {
    const p = policy({ steps: 1 });
    const step0: RunState = { kind: 'running', phase: { kind: 'step', index: 0 }, pid: 10 };
    const r = run(p, step0, { type: 'signal', signal: 'SIGTERM' }, { type: 'exited', pid: 10, status: { code: 0, signal: null }, lingering: false });
    assert.deepEqual(r.effects.at(-1), { type: 'exit', code: 0 });
  });

  it('applies --remap-exit to the child status, not to spawn failures', () => {
    const p = policy({ remapExit: new Map([[143, 0], [127, 5]]) });
    assert.deepEqual(run(p, running, { type: 'exited', pid: 100, status: { code: null, signal: 15 }, lingering: false }).effects, [{ type: 'exit', code: 0 }]);
    const start = initialTransition(p).state;
    assert.deepEqual(run(p, start, { type: 'spawn-failed', exitCode: 127 }).effects, [{ type: 'exit', code: 127 }]);
  });

  it('sends stage signals to the child alone with --signal-scope child, and to the whole tree once it is gone', () => {
    const p = policy({ signalScope: 'child', stop: quietThenTerm });
    const r = run(p, running, { type: 'signal', signal: 'SIGTERM' });
    assert.deepEqual(r.effects[1], { type: 'send', signal: 'SIGTSTP', target: { kind: 'child', pid: 100 }, reason: 'stop' });
    const after = run(p, r.state, { type: 'exited', pid: 100, status: { code: 0, signal: null }, lingering: true }, { type: 'stage-timeout', stage: 0 });
    assert.deepEqual(after.effects[0], { type: 'send', signal: 'SIGTERM', target: { kind: 'tree', pgid: 100 }, reason: 'stop' });
  });

  it('ignores exits of other pids and everything after exiting, with a debug log', () => {
    const t = transition(policy(), running, { type: 'exited', pid: 999, status: { code: 0, signal: null }, lingering: false });
    assert.equal(t.state, running);
    assert.deepEqual(t.effects, [{ type: 'log', level: 'debug', message: 'ignored exited while running' }]);
    const done: RunState = { kind: 'exited', code: 0 };
    assert.equal(transition(policy(), done, { type: 'signal', signal: 'SIGTERM' }).state, done);
  });
});
