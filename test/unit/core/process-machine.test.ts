// The life of one process as a table: every state × event → (next state, effects). No processes, no clock.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { StopStage } from '../../../src/config/run-config.js';
import type { SignalName } from '../../../src/config/signal-names.js';
import type { ExitStatus } from '../../../src/os/exit-status.js';
import {
  isLive, KILL_GRACE_MS, processTransition, RELEASE_GRACE_MS, startedProcess,
  type ProcessEffect, type ProcessEvent, type ProcessPolicy, type ProcessState,
} from '../../../src/core/process-machine.js';

type Stopping = Extract<ProcessState, { kind: 'stopping' }>;

interface Row {
  readonly name: string;
  readonly policy: ProcessPolicy;
  readonly state: ProcessState;
  readonly event: ProcessEvent;
  /** 'same' = the state must come back unchanged. */
  readonly next: ProcessState | 'same';
  readonly effects: readonly ProcessEffect[];
}

// The table runner: one `it` per row, asserting the whole next state and the whole effect list.
function table(title: string, rows: readonly Row[]): void {
  describe(title, () => {
    for (const row of rows) {
      it(row.name, () => {
        const t = processTransition(row.policy, row.state, row.event);
        assert.deepEqual(t.state, row.next === 'same' ? row.state : row.next);
        assert.deepEqual(t.effects, row.effects);
      });
    }
  });
}

const quiet: readonly StopStage[] = [{ signal: 'SIGTSTP', timeoutMs: 10_000 }, { signal: 'SIGTERM', timeoutMs: 25_000 }];
const received: readonly StopStage[] = [{ signal: 'received', timeoutMs: 30_000 }];
const group: ProcessPolicy = { stop: received, scope: 'group' };
const child: ProcessPolicy = { stop: received, scope: 'child' };
const quietGroup: ProcessPolicy = { stop: quiet, scope: 'group' };
const quietChild: ProcessPolicy = { stop: quiet, scope: 'child' };

const code = (n: number): ExitStatus => ({ code: n, signal: null });
const sig = (n: number): ExitStatus => ({ code: null, signal: n });

const starting = startedProcess(100, 1_000);
const ready: ProcessState = { kind: 'ready', pid: 100, startedAt: 1_000, readyAt: 1_500 };
const stopping = (over: Partial<Stopping> = {}): Stopping => ({
  kind: 'stopping', pid: 100, startedAt: 1_000, reason: 'shutdown', stage: 0, trigger: 'SIGTERM', wasReady: true, status: null, endedAt: null, ...over,
});
const exited: ProcessState = { kind: 'exited', pid: 100, status: code(0), wasReady: true, reason: 'shutdown', uptimeMs: 4_000, forced: false };

const send = (signal: SignalName, to: 'main' | 'group', cont: boolean, why: 'stop' | 'kill' = 'stop'): ProcessEffect =>
  ({ type: 'signal', signal, to, cont, why });
const arm = (stage: number, ms: number): ProcessEffect => ({ type: 'arm-stage', stage, ms });
const kill = (stage: number): ProcessEffect[] => [send('SIGKILL', 'group', false, 'kill'), arm(stage, KILL_GRACE_MS)];

const ev = {
  ready: { type: 'ready', at: 1_500 },
  readyTimeout: { type: 'ready-timeout' },
  stop: { type: 'stop', reason: 'shutdown', signal: 'SIGTERM' },
  stopInt: { type: 'stop', reason: 'shutdown', signal: 'SIGINT' },
  stopReload: { type: 'stop', reason: 'reload', signal: 'SIGTERM' },
  kill: { type: 'kill' },
  stage0: { type: 'stage-timeout', stage: 0, at: 20_000 },
  stage1: { type: 'stage-timeout', stage: 1, at: 40_000 },
  stage2: { type: 'stage-timeout', stage: 2, at: 50_000 },
  exit: { type: 'exited', status: code(3), at: 5_000, lingering: false },
  exitTerm: { type: 'exited', status: sig(15), at: 5_000, lingering: false },
  exitLingering: { type: 'exited', status: code(0), at: 5_000, lingering: true },
  groupGone: { type: 'group-gone', at: 6_000 },
} as const satisfies Record<string, ProcessEvent>;

table('process machine: starting', [
  { name: 'ready → ready, became-ready', policy: group, state: starting, event: ev.ready, next: ready, effects: [{ type: 'became-ready' }] },
  {
    name: 'ready-timeout → stopping (not-ready), stage 0 to the group with SIGCONT',
    policy: group, state: starting, event: ev.readyTimeout,
    next: stopping({ reason: 'not-ready', wasReady: false }),
    effects: [send('SIGTERM', 'group', true), arm(0, 30_000)],
  },
  {
    name: 'stop → stopping; a "received" stage sends the stop\'s own signal',
    policy: group, state: starting, event: ev.stopInt,
    next: stopping({ trigger: 'SIGINT', wasReady: false }),
    effects: [send('SIGINT', 'group', true), arm(0, 30_000)],
  },
  {
    name: 'stop with --signal-scope child → stage 0 to the main pid only',
    policy: child, state: starting, event: ev.stop,
    next: stopping({ wasReady: false }),
    effects: [send('SIGTERM', 'main', true), arm(0, 30_000)],
  },
  {
    name: 'stop with TSTP first → TSTP without SIGCONT (it would undo the stop)',
    policy: quietGroup, state: starting, event: ev.stop,
    next: stopping({ wasReady: false }),
    effects: [send('SIGTSTP', 'group', false), arm(0, 10_000)],
  },
  {
    name: 'kill → straight to KILL of the group, past every stage',
    policy: quietGroup, state: starting, event: ev.kill,
    next: stopping({ reason: 'kill', trigger: 'SIGKILL', stage: 2, wasReady: false }),
    effects: kill(2),
  },
  { name: 'stage-timeout → ignored', policy: group, state: starting, event: ev.stage0, next: 'same', effects: [] },
  {
    name: 'exited, group empty → exited (reason null = it ended on its own)',
    policy: group, state: starting, event: ev.exit,
    next: { kind: 'exited', pid: 100, status: code(3), wasReady: false, reason: null, uptimeMs: 4_000, forced: false },
    effects: [],
  },
  {
    name: 'exited, group lingering → stopping what it left behind with the stop sequence, to the group',
    policy: group, state: starting, event: ev.exitLingering,
    next: stopping({ reason: null, wasReady: false, status: code(0), endedAt: 5_000 }),
    effects: [{ type: 'lingering' }, { type: 'watch-group' }, send('SIGTERM', 'group', true), arm(0, 30_000)],
  },
  {
    name: 'exited, group lingering, --signal-scope child → the group still gets the stages (the main pid is gone)',
    policy: quietChild, state: starting, event: ev.exitLingering,
    next: stopping({ reason: null, wasReady: false, status: code(0), endedAt: 5_000 }),
    effects: [{ type: 'lingering' }, { type: 'watch-group' }, send('SIGTSTP', 'group', false), arm(0, 10_000)],
  },
  { name: 'group-gone → ignored (the main pid has not been reaped)', policy: group, state: starting, event: ev.groupGone, next: 'same', effects: [] },
]);

table('process machine: ready', [
  { name: 'ready → ignored', policy: group, state: ready, event: ev.ready, next: 'same', effects: [] },
  { name: 'ready-timeout → ignored (a stale timer)', policy: group, state: ready, event: ev.readyTimeout, next: 'same', effects: [] },
  {
    name: 'stop → stopping, wasReady kept',
    policy: group, state: ready, event: ev.stopReload,
    next: stopping({ reason: 'reload' }),
    effects: [send('SIGTERM', 'group', true), arm(0, 30_000)],
  },
  {
    name: 'kill → KILL of the group',
    policy: group, state: ready, event: ev.kill,
    next: stopping({ reason: 'kill', trigger: 'SIGKILL', stage: 1 }),
    effects: kill(1),
  },
  { name: 'stage-timeout → ignored', policy: group, state: ready, event: ev.stage1, next: 'same', effects: [] },
  {
    name: 'exited → exited with wasReady (a crash of a healthy process)',
    policy: group, state: ready, event: ev.exitTerm,
    next: { kind: 'exited', pid: 100, status: sig(15), wasReady: true, reason: null, uptimeMs: 4_000, forced: false },
    effects: [],
  },
  {
    name: 'exited, group lingering → stopping (reason null), wasReady kept',
    policy: group, state: ready, event: ev.exitLingering,
    next: stopping({ reason: null, status: code(0), endedAt: 5_000 }),
    effects: [{ type: 'lingering' }, { type: 'watch-group' }, send('SIGTERM', 'group', true), arm(0, 30_000)],
  },
  { name: 'group-gone → ignored', policy: group, state: ready, event: ev.groupGone, next: 'same', effects: [] },
]);

table('process machine: stopping', [
  { name: 'ready → ignored', policy: group, state: stopping(), event: ev.ready, next: 'same', effects: [] },
  { name: 'ready-timeout → ignored', policy: group, state: stopping(), event: ev.readyTimeout, next: 'same', effects: [] },
  { name: 'stop → ignored: the first stop wins, its deadline and signal stand', policy: group, state: stopping(), event: ev.stopInt, next: 'same', effects: [] },
  { name: 'stop after a lingering stop → ignored', policy: group, state: stopping({ reason: null, status: code(0), endedAt: 5_000 }), event: ev.stopReload, next: 'same', effects: [] },
  {
    name: 'kill → KILL of the group at once',
    policy: quietGroup, state: stopping(), event: ev.kill,
    next: stopping({ stage: 2 }),
    effects: kill(2),
  },
  { name: 'kill after KILL → ignored', policy: quietGroup, state: stopping({ stage: 2 }), event: ev.kill, next: 'same', effects: [] },
  {
    name: 'stage-timeout of the current stage → next stage (TERM gets SIGCONT after TSTP)',
    policy: quietGroup, state: stopping(), event: ev.stage0,
    next: stopping({ stage: 1 }),
    effects: [send('SIGTERM', 'group', true), arm(1, 25_000)],
  },
  {
    name: 'stage-timeout, --signal-scope child, main pid alive → next stage to the main pid',
    policy: quietChild, state: stopping(), event: ev.stage0,
    next: stopping({ stage: 1 }),
    effects: [send('SIGTERM', 'main', true), arm(1, 25_000)],
  },
  {
    name: 'stage-timeout, --signal-scope child, main pid gone → next stage to the group',
    policy: quietChild, state: stopping({ status: code(0), endedAt: 5_000 }), event: ev.stage0,
    next: stopping({ stage: 1, status: code(0), endedAt: 5_000 }),
    effects: [send('SIGTERM', 'group', true), arm(1, 25_000)],
  },
  {
    name: 'stage-timeout of the last stage → KILL of the group, with a grace timer',
    policy: quietGroup, state: stopping({ stage: 1 }), event: ev.stage1,
    next: stopping({ stage: 2 }),
    effects: kill(2),
  },
  {
    name: 'stage-timeout with --signal-scope child → KILL still goes to the whole group',
    policy: child, state: stopping(), event: ev.stage0,
    next: stopping({ stage: 1 }),
    effects: kill(1),
  },
  { name: 'stage-timeout of an earlier stage → ignored (a stale timer)', policy: quietGroup, state: stopping({ stage: 1 }), event: ev.stage0, next: 'same', effects: [] },
  {
    name: 'stage-timeout after KILL → exited, forced, no status (it survived SIGKILL)',
    policy: quietGroup, state: stopping({ stage: 2 }), event: ev.stage2,
    next: { kind: 'exited', pid: 100, status: null, wasReady: true, reason: 'shutdown', uptimeMs: 49_000, forced: true },
    effects: [],
  },
  {
    name: 'stage-timeout after KILL, main pid reaped but group stuck → exited, forced, with its status and uptime',
    policy: quietGroup, state: stopping({ stage: 2, reason: null, status: code(0), endedAt: 5_000 }), event: ev.stage2,
    next: { kind: 'exited', pid: 100, status: code(0), wasReady: true, reason: null, uptimeMs: 4_000, forced: true },
    effects: [],
  },
  {
    name: 'exited, group empty → exited with the stop\'s reason',
    policy: group, state: stopping({ reason: 'reload' }), event: ev.exitTerm,
    next: { kind: 'exited', pid: 100, status: sig(15), wasReady: true, reason: 'reload', uptimeMs: 4_000, forced: false },
    effects: [],
  },
  {
    name: 'exited after KILL → exited, forced',
    policy: group, state: stopping({ stage: 1 }), event: { type: 'exited', status: sig(9), at: 5_000, lingering: false },
    next: { kind: 'exited', pid: 100, status: sig(9), wasReady: true, reason: 'shutdown', uptimeMs: 4_000, forced: true },
    effects: [],
  },
  {
    name: 'exited, group lingering → status kept, watch the group; the group already had the stage',
    policy: quietGroup, state: stopping({ stage: 1 }), event: ev.exitLingering,
    next: stopping({ stage: 1, status: code(0), endedAt: 5_000 }),
    effects: [{ type: 'lingering' }, { type: 'watch-group' }],
  },
  {
    name: 'exited, group lingering, --signal-scope child → the current stage is re-sent to the group at once',
    policy: child, state: stopping(), event: ev.exitLingering,
    next: stopping({ status: code(0), endedAt: 5_000 }),
    effects: [{ type: 'lingering' }, { type: 'watch-group' }, send('SIGTERM', 'group', true)],
  },
  {
    name: 'exited, group lingering, --signal-scope child, stage "received" after SIGINT → SIGINT to the group',
    policy: child, state: stopping({ trigger: 'SIGINT' }), event: ev.exitLingering,
    next: stopping({ trigger: 'SIGINT', status: code(0), endedAt: 5_000 }),
    effects: [{ type: 'lingering' }, { type: 'watch-group' }, send('SIGINT', 'group', true)],
  },
  {
    name: 'exited, group lingering, --signal-scope child, TSTP stage → TSTP to the group, no SIGCONT',
    policy: quietChild, state: stopping(), event: ev.exitLingering,
    next: stopping({ status: code(0), endedAt: 5_000 }),
    effects: [{ type: 'lingering' }, { type: 'watch-group' }, send('SIGTSTP', 'group', false)],
  },
  {
    name: 'exited, group lingering, --signal-scope child, after KILL → nothing to re-send (KILL went to the group)',
    policy: child, state: stopping({ stage: 1 }), event: ev.exitLingering,
    next: stopping({ stage: 1, status: code(0), endedAt: 5_000 }),
    effects: [{ type: 'lingering' }, { type: 'watch-group' }],
  },
  { name: 'group-gone before the main pid is reaped → ignored', policy: group, state: stopping(), event: ev.groupGone, next: 'same', effects: [] },
  {
    name: 'group-gone after the main pid was reaped → exited, uptime to the main pid\'s end',
    policy: group, state: stopping({ reason: null, status: code(0), endedAt: 5_000 }), event: ev.groupGone,
    next: { kind: 'exited', pid: 100, status: code(0), wasReady: true, reason: null, uptimeMs: 4_000, forced: false },
    effects: [],
  },
  {
    name: 'group-gone after KILL → exited, forced',
    policy: group, state: stopping({ stage: 1, status: code(0), endedAt: 5_000 }), event: ev.groupGone,
    next: { kind: 'exited', pid: 100, status: code(0), wasReady: true, reason: 'shutdown', uptimeMs: 4_000, forced: true },
    effects: [],
  },
]);

table('process machine: exited (final: every event is ignored)', Object.entries(ev).map(([name, event]) => ({
  name: `${name} → ignored`, policy: group, state: exited, event, next: 'same' as const, effects: [],
})));

describe('process machine: SIGCONT after a stop signal', () => {
  const rows: readonly [SignalName, boolean][] = [
    ['SIGTERM', true], ['SIGINT', true], ['SIGQUIT', true], ['SIGHUP', true], ['SIGUSR1', true],
    ['SIGTSTP', false], ['SIGSTOP', false], ['SIGKILL', false], ['SIGCONT', false], ['SIGTTIN', false], ['SIGTTOU', false],
  ];
  for (const [signal, cont] of rows) {
    it(`${signal} → SIGCONT ${cont ? 'after it' : 'never'}`, () => {
      const t = processTransition({ stop: [{ signal, timeoutMs: 1_000 }], scope: 'group' }, ready, ev.stop);
      assert.deepEqual(t.effects[0], send(signal, 'group', cont));
    });
  }
});

describe('process machine: a whole stop, event by event', () => {
  it('TSTP:10s,TERM:25s → TSTP, TERM, KILL, then the reap ends it forced', () => {
    let state: ProcessState = ready;
    const seen: ProcessEffect[] = [];
    for (const event of [ev.stop, ev.stage0, ev.stage1, { type: 'exited', status: sig(9), at: 41_000, lingering: false } as const]) {
      const t = processTransition(quietGroup, state, event);
      state = t.state;
      seen.push(...t.effects);
    }
    assert.deepEqual(seen, [send('SIGTSTP', 'group', false), arm(0, 10_000), send('SIGTERM', 'group', true), arm(1, 25_000), ...kill(2)]);
    assert.deepEqual(state, { kind: 'exited', pid: 100, status: sig(9), wasReady: true, reason: 'shutdown', uptimeMs: 40_000, forced: true });
    assert.equal(isLive(state), false);
  });
  it('isLive is true until exited', () => {
    assert.deepEqual([starting, ready, stopping()].map(isLive), [true, true, true]);
  });
});

// ---- holds (`hold(name)` in the app): the next stage waits for them, bounded by the hold limit ----

const job = { job: { since: 2_000, count: 1 } };
const heldPolicy: ProcessPolicy = { stop: quiet, scope: 'group', holdLimitMs: 60_000 };
const hold = (name: string, at = 2_000): ProcessEvent => ({ type: 'hold', name, at });
const release = (name: string): ProcessEvent => ({ type: 'release', name });

table('process machine: holds', [
  { name: 'ready + hold → the hold is kept, nothing sent', policy: group, state: ready, event: hold('job'), next: { ...ready, holds: job }, effects: [] },
  {
    name: 'the same name twice → counted, first time kept',
    policy: group, state: { ...ready, holds: job }, event: hold('job', 3_000), next: { ...ready, holds: { job: { since: 2_000, count: 2 } } }, effects: [],
  },
  { name: 'release of the last → no holds left (the key goes)', policy: group, state: { ...ready, holds: job }, event: release('job'), next: ready, effects: [] },
  { name: 'release of a name not held → ignored', policy: group, state: ready, event: release('job'), next: 'same', effects: [] },
  {
    name: 'stop → the holds go with it into stopping',
    policy: group, state: { ...ready, holds: job }, event: ev.stop, next: stopping({ holds: job }), effects: [send('SIGTERM', 'group', true), arm(0, 30_000)],
  },
  {
    name: 'stage-timeout while held → postponed: stage-held, the hold limit armed (60 s limit - 10 s of stage 0)',
    policy: heldPolicy, state: stopping({ holds: job }), event: ev.stage0,
    next: stopping({ holds: job, held: true, holdLimit: 'armed' }),
    effects: [{ type: 'stage-held', stage: 0, holds: ['job'], ms: 50_000 }, { type: 'arm-hold-limit', ms: 50_000 }],
  },
  {
    name: 'stage-timeout while held with no limit given → the stages\' sum: later stages\' time only (35 s - 10 s)',
    policy: quietGroup, state: stopping({ holds: job }), event: ev.stage0,
    next: stopping({ holds: job, held: true, holdLimit: 'armed' }),
    effects: [{ type: 'stage-held', stage: 0, holds: ['job'], ms: 25_000 }, { type: 'arm-hold-limit', ms: 25_000 }],
  },
  {
    name: 'stage-timeout while held, no time left under the limit → the next stage now',
    policy: group, state: stopping({ holds: job }), event: ev.stage0,
    next: stopping({ holds: job, stage: 1, holdLimit: 'hit' }), effects: kill(1),
  },
  {
    name: 'a later postponement keeps the armed limit (no second arm)',
    policy: heldPolicy, state: stopping({ holds: job, holdLimit: 'armed' }), event: ev.stage0,
    next: stopping({ holds: job, held: true, holdLimit: 'armed' }),
    effects: [{ type: 'stage-held', stage: 0, holds: ['job'], ms: 50_000 }],
  },
  {
    name: 'the last release while postponed → a moment to exit, then the stage',
    policy: heldPolicy, state: stopping({ holds: job, held: true, holdLimit: 'armed' }), event: release('job'),
    next: stopping({ holdLimit: 'armed' }), effects: [arm(0, RELEASE_GRACE_MS)],
  },
  {
    name: 'a release while not postponed → nothing sent',
    policy: heldPolicy, state: stopping({ holds: job }), event: release('job'), next: stopping(), effects: [],
  },
  {
    name: 'the hold limit while postponed → the next stage, holds no longer count',
    policy: heldPolicy, state: stopping({ holds: job, held: true, holdLimit: 'armed' }), event: { type: 'hold-limit' },
    next: stopping({ holds: job, stage: 1, holdLimit: 'hit' }), effects: [send('SIGTERM', 'group', true), arm(1, 25_000)],
  },
  {
    name: 'after the limit, a stage-timeout with holds → the next stage (KILL)',
    policy: heldPolicy, state: stopping({ holds: job, stage: 1, holdLimit: 'hit' }), event: ev.stage1,
    next: stopping({ holds: job, stage: 2, holdLimit: 'hit' }), effects: kill(2),
  },
  {
    name: 'KILL\'s grace is never postponed',
    policy: heldPolicy, state: stopping({ holds: job, stage: 2 }), event: ev.stage2,
    next: { kind: 'exited', pid: 100, status: null, wasReady: true, reason: 'shutdown', uptimeMs: 49_000, forced: true }, effects: [],
  },
]);
