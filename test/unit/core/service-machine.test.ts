// One service as tables: (state reached by a script of events, event) → (state, effects). No processes, no clock.
// Effects are rendered one per line (`show`) and compared as a whole list, in order; proc #n always has pid 100 + n.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ReadyMode } from '../../../src/config/pool-config.js';
import type { SignalName } from '../../../src/config/signal-names.js';
import type { ServiceSpec } from '../../../src/config/spec.js';
import type { TendEvent } from '../../../src/core/events.js';
import {
  AUTO_READY_AFTER_MS, initialServiceState, readyCount, serviceTransition,
  type ReadySource, type ServiceEffect, type ServiceEvent, type ServicePolicy, type ServiceState, type TimerRef,
} from '../../../src/core/service-machine.js';
import type { ExitStatus } from '../../../src/os/exit-status.js';

// ---- the table runner ----

interface Summary {
  readonly phase: ServiceState['phase'];
  readonly generation: number;
  readonly slots: readonly string[];
  readonly rollout: string | null;
  readonly queued: readonly number[] | null;
  readonly ended: ServiceState['ended'];
  /** Liveness: failed probes in a row per process, and "degraded" while a shared failure holds replacements. */
  readonly liveness: string;
}

interface Row {
  readonly name: string;
  readonly spec?: Partial<ServiceSpec>;
  readonly sockets?: boolean;
  readonly holdLimitMs?: number;
  /** The events that lead to the row's state, from the initial state. */
  readonly given: readonly ServiceEvent[];
  readonly when: ServiceEvent;
  readonly effects: readonly string[];
  /** Only the keys given are compared. */
  readonly state?: Partial<Summary>;
}

const pid = (proc: number): number => 100 + proc;

function policyFor(row: { readonly spec?: Partial<ServiceSpec>; readonly sockets?: boolean; readonly holdLimitMs?: number }): ServicePolicy {
  const policy = { spec: { ...pool, ...row.spec }, hasSockets: row.sockets ?? false };
  return row.holdLimitMs === undefined ? policy : { ...policy, holdLimitMs: row.holdLimitMs };
}

function drive(policy: ServicePolicy, events: readonly ServiceEvent[]): ServiceState {
  let state = initialServiceState(policy.spec);
  for (const event of events) state = serviceTransition(policy, state, event).state;
  return state;
}

function table(title: string, rows: readonly Row[]): void {
  describe(title, () => {
    for (const row of rows) {
      it(row.name, () => {
        const policy = policyFor(row);
        const before = drive(policy, row.given);
        const frozen = structuredClone(before);
        const t = serviceTransition(policy, before, row.when);
        assert.deepEqual(before, frozen, 'the transition must not modify the state it was given');
        assert.deepEqual(t.effects.map(show), row.effects);
        const summary = summarize(t.state);
        for (const [key, value] of Object.entries(row.state ?? {})) assert.deepEqual(summary[key as keyof Summary], value, key);
      });
    }
  });
}

function show(effect: ServiceEffect): string {
  const p = (proc: number, at: number): string => `#${proc}${at === pid(proc) ? '' : ` (pid ${at})`}`;
  switch (effect.type) {
    case 'spawn': return `spawn #${effect.proc} slot ${effect.slot} ${effect.role === 'step' ? `step ${effect.step}` : 'worker'} gen ${effect.generation}`;
    case 'signal': return `signal ${p(effect.proc, effect.pid)} ${effect.signal} ${effect.to}${effect.cont ? ' +CONT' : ''}`;
    case 'arm': return `arm ${showTimer(effect.timer)} ${effect.ms}`;
    case 'cancel': return `cancel ${showTimer(effect.timer)}`;
    case 'watch-group': return `watch-group ${p(effect.proc, effect.pid)}`;
    case 'probe': return `probe #${effect.proc}`;
    case 'release': return `release #${effect.proc}`;
    case 'emit': return showEvent(effect.event);
  }
}

function showTimer(timer: TimerRef): string {
  switch (timer.kind) {
    case 'ready': return `ready #${timer.proc}`;
    case 'ready-delay': return `ready-delay #${timer.proc}`;
    case 'stage': return `stage #${timer.proc}.${timer.stage}`;
    case 'hold-limit': return `hold-limit #${timer.proc}`;
    case 'restart': return `restart slot ${timer.slot}`;
  }
}

// Every field but the service's name, in declaration order.
function showEvent(event: TendEvent): string {
  const fields = Object.entries(event).filter(([key]) => key !== 'type' && key !== 'service').map(([key, value]) => `${key}=${showValue(value)}`);
  return [event.type, ...fields].join(' ');
}

function showValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `[${value.map(showValue).join(',')}]`;
  if (typeof value === 'object') {
    const status = value as ExitStatus;
    return status.signal === null ? `code:${status.code}` : `signal:${status.signal}`;
  }
  if (typeof value === 'string') return value.includes(' ') ? JSON.stringify(value) : value;
  return JSON.stringify(value);
}

function summarize(s: ServiceState): Summary {
  const proc = (id: number): string => {
    const rec = s.procs[id];
    return `#${id}:${rec === undefined ? 'gone' : (rec.state?.kind ?? 'spawning')}`;
  };
  const rollout = s.rollout;
  return {
    phase: s.phase,
    generation: s.generation,
    slots: s.slots.map((slot) => [
      `cur ${slot.current === null ? '-' : proc(slot.current)}`,
      slot.replacement === null ? null : `rep ${proc(slot.replacement)} (${slot.replacing ?? '?'})`,
      slot.retiring.length === 0 ? null : `retiring ${slot.retiring.map(proc).join(' ')}`,
      `gen ${slot.generation}`,
      `failures ${slot.failures}`,
      slot.restartPending ? 'restart pending' : null,
      slot.ended ? 'ended' : null,
    ].filter((part) => part !== null).join(', ')),
    rollout: rollout === null
      ? null
      : `gen ${rollout.generation} (from ${rollout.previous}): pending [${rollout.pending.join(',')}] active [${rollout.active.join(',')}] replaced ${rollout.replaced}/${rollout.total}${rollout.failure === null ? '' : ', failed'} requests [${rollout.requests.join(',')}]`,
    queued: s.queued,
    ended: s.ended,
    liveness: `${s.liveness.degraded ? 'degraded, ' : ''}failures ${Object.entries(s.liveness.failures).map(([p, n]) => `#${p}:${n}`).join(' ') || '-'}`,
  };
}

// ---- specs and events ----

const pool: ServiceSpec = {
  name: 'web', command: ['node', 'server.js'], env: {}, cwd: null, type: 'simple', pool: true, workers: 2, restart: 'always', canDie: false,
  dependsOn: [], before: [], stop: [{ signal: 'received', timeoutMs: 30_000 }], signalScope: 'group', remapExit: new Map(), limits: [], user: null,
  listen: [], socketStrategy: 'shared', ready: { kind: 'notify' }, readyTimeoutMs: 60_000,
  backoff: { initialDelayMs: 100, maxDelayMs: 30_000, stableAfterMs: 10_000, maxRestarts: 3, onCrashLoop: 'exit' },
  reloadSurge: 1, guards: { maxRssBytes: null, maxCpuPercent: null, windowMs: 30_000, sampleMs: 1_000, fdWarnRatio: 0.8 }, preload: false, watchdogMs: null,
};
/** `tend run -- cmd`, as spec-from-flags builds it. */
const single: Partial<ServiceSpec> = { name: 'main', pool: false, workers: 1, restart: 'never', ready: { kind: 'auto' } };
const oneshot: Partial<ServiceSpec> = { name: 'migrate', type: 'oneshot', pool: false, workers: 1, restart: 'never', ready: { kind: 'auto' } };

const code = (n: number): ExitStatus => ({ code: n, signal: null });
const sig = (n: number): ExitStatus => ({ code: null, signal: n });

const start: ServiceEvent = { type: 'start' };
const spawned = (proc: number, at = 0): ServiceEvent => ({ type: 'spawned', proc, pid: pid(proc), at });
const spawnFailed = (proc: number, failCode: number, message: string): ServiceEvent => ({ type: 'spawn-failed', proc, code: failCode, message });
const exit = (proc: number, status: ExitStatus, at: number, lingering = false): ServiceEvent => ({ type: 'exited', proc, status, at, lingering, random: 0 });
const groupGone = (proc: number, at: number): ServiceEvent => ({ type: 'group-gone', proc, at });
const timer = (ref: TimerRef, at = 0): ServiceEvent => ({ type: 'timer', timer: ref, at, random: 0 });
const readySignal = (proc: number, source: ReadySource, at: number): ServiceEvent => ({ type: 'ready-signal', proc, source, at });
const notify = (proc: number, at = 300): ServiceEvent => readySignal(proc, 'notify', at);
const reload = (request: number): ServiceEvent => ({ type: 'reload', request });
const stop = (signal: SignalName = 'SIGTERM'): ServiceEvent => ({ type: 'stop', signal });
const restartDue = (slot: number, at = 0): ServiceEvent => timer({ kind: 'restart', slot }, at);

// The effects of stopping one live process with stage 0 (or of any later stage).
const stops = (proc: number, slot: number, signal: SignalName = 'SIGTERM', stage = 0, ms = 30_000): string[] => [
  `signal #${proc} ${signal} group${signal === 'SIGKILL' ? '' : ' +CONT'}`,
  `signalled slot=${slot} pid=${pid(proc)} signal=${signal} to=group why=${signal === 'SIGKILL' ? 'kill' : 'stop'}`,
  `arm stage #${proc}.${stage} ${ms}`,
  `cancel ready #${proc}`,
  `cancel ready-delay #${proc}`,
];
// The effects of a process that is gone: its timers, the exited fact, and the release of what its lifetime owns.
const gone = (proc: number, slot: number, rest: string, generation = 0, role = 'worker'): string[] => [
  `cancel ready #${proc}`,
  `cancel ready-delay #${proc}`,
  `exited slot=${slot} pid=${pid(proc)} role=${role} generation=${generation} ${rest}`,
  `release #${proc}`,
];
const spawnedFact = (proc: number, slot: number, generation = 0, role = 'worker', step = 0): string =>
  `spawned slot=${slot} pid=${pid(proc)} generation=${generation} role=${role} step=${step}`;

// ---- a single command ----

const singleUp = [start, spawned(0)];
const singleReady = [...singleUp, timer({ kind: 'ready-delay', proc: 0 }, 1_000)];

table('service machine: a single command (one slot, restart never)', [
  {
    name: 'start → one spawn', spec: single, given: [], when: start,
    effects: ['service-starting workers=1', 'spawn #0 slot 0 worker gen 0'],
    state: { phase: 'starting', slots: ['cur #0:spawning, gen 0, failures 0'] },
  },
  {
    name: 'spawned → the ready deadline, and auto readiness without sockets waits a quiet second', spec: single, given: [start], when: spawned(0),
    effects: [spawnedFact(0, 0), 'arm ready #0 60000', `arm ready-delay #0 ${AUTO_READY_AFTER_MS}`],
  },
  {
    name: 'the quiet second passes → ready, and the service is ready', spec: single, given: singleUp, when: timer({ kind: 'ready-delay', proc: 0 }, 1_000),
    effects: ['ready slot=0 pid=100 generation=0 afterMs=1000', 'service-ready ready=1 desired=1 generation=0'],
    state: { phase: 'running' },
  },
  {
    name: 'its exit ends the service with its code (never restarted), and nothing is left to stop', spec: single, given: singleUp, when: exit(0, code(3), 20),
    effects: [
      ...gone(0, 0, 'status=code:3 reason=null uptimeMs=20 wasReady=false forced=false'),
      'service-ended why=exited status=code:3 code=3', 'service-stopped status=code:3 code=3',
    ],
    state: { phase: 'stopped', ended: { why: 'exited', code: 3 }, slots: ['cur -, gen 0, failures 0, ended'] },
  },
  {
    name: 'a crash of a ready command ends it too, with 128 + the signal', spec: single, given: singleReady, when: exit(0, sig(11), 5_000),
    effects: [
      ...gone(0, 0, 'status=signal:11 reason=null uptimeMs=5000 wasReady=true forced=false'),
      'service-ended why=exited status=signal:11 code=139', 'service-stopped status=signal:11 code=139',
    ],
  },
  {
    name: '--remap-exit applies to the code it ends with', spec: { ...single, remapExit: new Map([[3, 0]]) }, given: singleUp, when: exit(0, code(3), 20),
    effects: [
      ...gone(0, 0, 'status=code:3 reason=null uptimeMs=20 wasReady=false forced=false'),
      'service-ended why=exited status=code:3 code=0', 'service-stopped status=code:3 code=0',
    ],
  },
  {
    name: 'SIGTERM → stage 0 to its group, with SIGCONT; readiness timers cancelled', spec: single, given: singleReady, when: stop('SIGTERM'),
    effects: stops(0, 0),
    state: { phase: 'stopping', slots: ['cur #0:stopping, gen 0, failures 0'] },
  },
  {
    name: 'SIGINT with a "received" stage → SIGINT to its group', spec: single, given: singleReady, when: stop('SIGINT'),
    effects: stops(0, 0, 'SIGINT'),
  },
  {
    name: 'its exit after SIGTERM → stopped with 143 (no "ended": it was asked to stop)', spec: single, given: [...singleReady, stop()], when: exit(0, sig(15), 2_000),
    effects: [...gone(0, 0, 'status=signal:15 reason=shutdown uptimeMs=2000 wasReady=true forced=false'), 'service-stopped status=signal:15 code=143'],
    state: { phase: 'stopped', ended: null },
  },
  {
    name: 'the stage times out → KILL to the group, with a grace timer', spec: single, given: [...singleReady, stop()], when: timer({ kind: 'stage', proc: 0, stage: 0 }, 30_000),
    effects: stops(0, 0, 'SIGKILL', 1, 5_000),
  },
  {
    name: 'kill → KILL to the group at once', spec: single, given: [...singleReady, stop()], when: { type: 'kill' },
    effects: stops(0, 0, 'SIGKILL', 1, 5_000),
  },
  {
    name: 'a forwarded signal goes to its group', spec: single, given: singleReady, when: { type: 'forward', signal: 'SIGUSR1' },
    effects: ['signal #0 SIGUSR1 group', 'signalled slot=0 pid=100 signal=SIGUSR1 to=group why=forward'],
  },
  {
    name: 'a forwarded signal with --signal-scope child goes to the main pid', spec: { ...single, signalScope: 'child' }, given: singleReady,
    when: { type: 'forward', signal: 'SIGUSR1' },
    effects: ['signal #0 SIGUSR1 main', 'signalled slot=0 pid=100 signal=SIGUSR1 to=main why=forward'],
  },
  {
    name: '--signal-scope child: SIGTERM reaches only the main pid first', spec: { ...single, signalScope: 'child' }, given: singleReady, when: stop(),
    effects: ['signal #0 SIGTERM main +CONT', 'signalled slot=0 pid=100 signal=SIGTERM to=main why=stop', 'arm stage #0.0 30000', 'cancel ready #0', 'cancel ready-delay #0'],
  },
  {
    name: '--signal-scope child: the main pid exits during the stop, its group lingers → the group gets the stage now',
    spec: { ...single, signalScope: 'child' }, given: [...singleReady, stop()], when: exit(0, sig(15), 2_000, true),
    effects: ['lingering slot=0 pid=100', 'watch-group #0', 'signal #0 SIGTERM group +CONT', 'signalled slot=0 pid=100 signal=SIGTERM to=group why=stop', 'cancel ready #0', 'cancel ready-delay #0'],
    state: { phase: 'stopping' },
  },
  {
    name: '--signal-scope child: a forwarded signal after the main pid is gone goes to the group', spec: { ...single, signalScope: 'child' },
    given: [...singleReady, stop(), exit(0, sig(15), 2_000, true)], when: { type: 'forward', signal: 'SIGUSR1' },
    effects: ['signal #0 SIGUSR1 group', 'signalled slot=0 pid=100 signal=SIGUSR1 to=group why=forward'],
  },
  {
    name: 'the lingering group is gone → stopped with the main pid\'s status', spec: { ...single, signalScope: 'child' },
    given: [...singleReady, stop(), exit(0, sig(15), 2_000, true)], when: groupGone(0, 2_100),
    effects: [...gone(0, 0, 'status=signal:15 reason=shutdown uptimeMs=2000 wasReady=true forced=false'), 'service-stopped status=signal:15 code=143'],
  },
  {
    name: 'it exits on its own but leaves its group behind → the stop sequence for the group', spec: single, given: singleReady, when: exit(0, code(0), 5_000, true),
    effects: ['lingering slot=0 pid=100', 'watch-group #0', ...stops(0, 0)],
    state: { phase: 'running', slots: ['cur #0:stopping, gen 0, failures 0'] },
  },
  {
    name: 'the group it left is gone → it has exited: the service ends with its status', spec: single, given: [...singleReady, exit(0, code(0), 5_000, true)],
    when: groupGone(0, 5_300),
    effects: [
      ...gone(0, 0, 'status=code:0 reason=null uptimeMs=5000 wasReady=true forced=false'),
      'service-ended why=exited status=code:0 code=0', 'service-stopped status=code:0 code=0',
    ],
  },
  {
    name: 'spawn-failed (not found) → ended with 127, nothing to stop', spec: single, given: [start], when: spawnFailed(0, 127, 'server: command not found'),
    effects: ['release #0', 'spawn-failed slot=0 role=worker code=127 message="server: command not found"', 'service-ended why=spawn-failed status=null code=127', 'service-stopped status=null code=127'],
    state: { phase: 'stopped', ended: { why: 'spawn-failed', code: 127 } },
  },
  {
    name: 'spawn-failed (not executable) → ended with 126', spec: single, given: [start], when: spawnFailed(0, 126, 'server: permission denied'),
    effects: ['release #0', 'spawn-failed slot=0 role=worker code=126 message="server: permission denied"', 'service-ended why=spawn-failed status=null code=126', 'service-stopped status=null code=126'],
  },
  {
    name: 'EXTEND_TIMEOUT_USEC while starting → a new ready deadline', spec: { ...single, ready: { kind: 'notify' } }, given: singleUp, when: { type: 'extend', proc: 0, ms: 90_000 },
    effects: ['arm ready #0 90000', 'extended slot=0 pid=100 deadline=ready ms=90000'],
  },
  {
    name: 'EXTEND_TIMEOUT_USEC while stopping → a new deadline for the current stage', spec: single, given: [...singleReady, stop()], when: { type: 'extend', proc: 0, ms: 90_000 },
    effects: ['arm stage #0.0 90000', 'extended slot=0 pid=100 deadline=stop ms=90000'],
  },
  { name: 'EXTEND_TIMEOUT_USEC while ready → nothing to extend', spec: single, given: singleReady, when: { type: 'extend', proc: 0, ms: 90_000 }, effects: [] },
]);

// ---- setup steps ----

const steps: Partial<ServiceSpec> = { ...single, before: [['node', 'migrate.js'], ['node', 'seed.js']] };

table('service machine: setup steps (--before) run once, in order, before any worker', [
  { name: 'start → step 0, no worker', spec: steps, given: [], when: start, effects: ['spawn #0 slot 0 step 0 gen 0'], state: { phase: 'before' } },
  { name: 'a step has no readiness timers', spec: steps, given: [start], when: spawned(0), effects: [spawnedFact(0, 0, 0, 'step', 0)] },
  {
    name: 'step 0 exits 0 → step 1', spec: steps, given: [start, spawned(0)], when: exit(0, code(0), 10),
    effects: [...gone(0, 0, 'status=code:0 reason=null uptimeMs=10 wasReady=false forced=false', 0, 'step'), 'spawn #1 slot 0 step 1 gen 0'],
    state: { phase: 'before' },
  },
  {
    name: 'the last step exits 0 → the workers start', spec: steps, given: [start, spawned(0), exit(0, code(0), 10), spawned(1, 10)], when: exit(1, code(0), 30),
    effects: [...gone(1, 0, 'status=code:0 reason=null uptimeMs=20 wasReady=false forced=false', 0, 'step'), 'service-starting workers=1', 'spawn #2 slot 0 worker gen 0'],
    state: { phase: 'starting' },
  },
  {
    name: 'a failing step ends the service with its status and starts no worker', spec: steps, given: [start, spawned(0), exit(0, code(0), 10), spawned(1, 10)], when: exit(1, code(2), 30),
    effects: [...gone(1, 0, 'status=code:2 reason=null uptimeMs=20 wasReady=false forced=false', 0, 'step'), 'service-ended why=step-failed status=code:2 code=2', 'service-stopped status=code:2 code=2'],
    state: { phase: 'stopped', ended: { why: 'step-failed', code: 2 } },
  },
  {
    name: 'a step killed by a signal → ended with 128 + the signal', spec: steps, given: [start, spawned(0)], when: exit(0, sig(9), 10),
    effects: [...gone(0, 0, 'status=signal:9 reason=null uptimeMs=10 wasReady=false forced=false', 0, 'step'), 'service-ended why=step-failed status=signal:9 code=137', 'service-stopped status=signal:9 code=137'],
  },
  {
    name: 'a step that cannot be started → ended with 127', spec: steps, given: [start], when: spawnFailed(0, 127, 'migrate.js: not found'),
    effects: ['release #0', 'spawn-failed slot=0 role=step code=127 message="migrate.js: not found"', 'service-ended why=step-failed status=null code=127', 'service-stopped status=null code=127'],
  },
  {
    name: 'with a pool: the steps run once, then N workers', spec: { before: [['node', 'migrate.js']], workers: 3 }, given: [start, spawned(0)], when: exit(0, code(0), 10),
    effects: [
      ...gone(0, 0, 'status=code:0 reason=null uptimeMs=10 wasReady=false forced=false', 0, 'step'),
      'service-starting workers=3', 'spawn #1 slot 0 worker gen 0', 'spawn #2 slot 1 worker gen 0', 'spawn #3 slot 2 worker gen 0',
    ],
  },
  {
    name: 'with a pool: a failing step starts no worker', spec: { before: [['node', 'migrate.js']], workers: 3 }, given: [start, spawned(0)], when: exit(0, code(1), 10),
    effects: [...gone(0, 0, 'status=code:1 reason=null uptimeMs=10 wasReady=false forced=false', 0, 'step'), 'service-ended why=step-failed status=code:1 code=1', 'service-stopped status=code:1 code=1'],
  },
  {
    name: 'SIGTERM during a step → the step is stopped', spec: steps, given: [start, spawned(0)], when: stop(),
    effects: stops(0, 0), state: { phase: 'stopping' },
  },
  {
    name: 'the stopped step exits → stopped, and no later step or worker starts', spec: steps, given: [start, spawned(0), stop()], when: exit(0, sig(15), 100),
    effects: [...gone(0, 0, 'status=signal:15 reason=shutdown uptimeMs=100 wasReady=false forced=false', 0, 'step'), 'service-stopped status=signal:15 code=143'],
  },
]);

// ---- a pool: start and readiness ----

table('service machine: a pool starts N workers', [
  {
    name: 'start → N spawns', given: [], when: start,
    effects: ['service-starting workers=2', 'spawn #0 slot 0 worker gen 0', 'spawn #1 slot 1 worker gen 0'],
    state: { phase: 'starting', slots: ['cur #0:spawning, gen 0, failures 0', 'cur #1:spawning, gen 0, failures 0'] },
  },
  {
    name: 'a second start is ignored', given: [start], when: start, effects: [],
  },
]);

const spawnTimers: readonly [string, ReadyMode, boolean, readonly string[]][] = [
  ['auto, no sockets: the quiet second', { kind: 'auto' }, false, ['arm ready #0 60000', 'arm ready-delay #0 1000']],
  ['auto with sockets: waits for a listen or a notify', { kind: 'auto' }, true, ['arm ready #0 60000']],
  ['notify', { kind: 'notify' }, false, ['arm ready #0 60000']],
  ['listen', { kind: 'listen' }, true, ['arm ready #0 60000']],
  ['delay', { kind: 'delay', ms: 500 }, false, ['arm ready #0 60000', 'arm ready-delay #0 500']],
  ['http probe', { kind: 'http', url: 'http://127.0.0.1:3000/health' }, false, ['arm ready #0 60000', 'probe #0']],
  ['tcp probe', { kind: 'tcp', host: '127.0.0.1', port: 3000 }, false, ['arm ready #0 60000', 'probe #0']],
];
table('service machine: what a spawned worker waits for, per ready mode', spawnTimers.map(([name, ready, sockets, effects]) => ({
  name, spec: { ready }, sockets, given: [start], when: spawned(0), effects: [spawnedFact(0, 0), ...effects],
})));

// Which readiness reports count in which mode: a one-worker pool, so a counted report makes the service ready.
const modes: readonly [string, ReadyMode][] = [
  ['auto', { kind: 'auto' }], ['notify', { kind: 'notify' }], ['listen', { kind: 'listen' }], ['delay', { kind: 'delay', ms: 500 }],
  ['http', { kind: 'http', url: 'http://127.0.0.1:3000/' }], ['tcp', { kind: 'tcp', host: '127.0.0.1', port: 3000 }],
];
const counts: Readonly<Record<string, readonly ReadySource[]>> = {
  auto: ['notify', 'listen', 'delay'], notify: ['notify'], listen: ['listen'], delay: ['delay'], http: ['probe'], tcp: ['probe'],
};
table('service machine: readiness reports per mode', modes.flatMap(([modeName, ready]) => (['notify', 'listen', 'probe', 'delay'] as const).map((source) => {
  const counted = counts[modeName]?.includes(source) === true;
  const when = source === 'delay' ? timer({ kind: 'ready-delay', proc: 0 }, 700) : readySignal(0, source, 700);
  return {
    name: `${modeName}: a ${source} report ${counted ? 'makes it ready' : 'is ignored'}`,
    spec: { ready, workers: 1 }, given: [start, spawned(0, 200)], when,
    effects: counted ? ['ready slot=0 pid=100 generation=0 afterMs=500', 'service-ready ready=1 desired=1 generation=0'] : [],
    state: { phase: counted ? 'running' as const : 'starting' as const },
  };
})));

const poolUp = [start, spawned(0), spawned(1)];
const poolReady = [...poolUp, notify(0), notify(1)];

table('service machine: a pool\'s readiness', [
  {
    name: 'the first ready worker → a status, not yet ready', given: poolUp, when: notify(0),
    effects: ['ready slot=0 pid=100 generation=0 afterMs=300', 'service-status ready=1 desired=2 generation=0'], state: { phase: 'starting' },
  },
  {
    name: 'the last ready worker → service-ready', given: [...poolUp, notify(0)], when: notify(1, 400),
    effects: ['ready slot=1 pid=101 generation=0 afterMs=400', 'service-ready ready=2 desired=2 generation=0'], state: { phase: 'running' },
  },
  { name: 'a second report from a ready worker → nothing', given: poolReady, when: notify(1, 500), effects: [] },
  {
    name: 'a restarted worker ready again → a status, service-ready is said once', given: [...poolReady, exit(0, sig(9), 5_000), restartDue(0, 5_050), spawned(2, 5_050)],
    when: notify(2, 5_150),
    effects: ['ready slot=0 pid=102 generation=0 afterMs=100', 'service-status ready=2 desired=2 generation=0'],
  },
  {
    name: 'a worker not ready in time → stopped (not-ready)', given: poolUp, when: timer({ kind: 'ready', proc: 0 }, 60_000),
    effects: stops(0, 0),
  },
  {
    name: 'a ready-timeout that fires after it was ready → nothing', given: poolReady, when: timer({ kind: 'ready', proc: 0 }, 60_000), effects: [],
  },
  {
    name: 'a readiness report from a process tend does not know → nothing', given: poolUp, when: notify(9), effects: [],
  },
]);

// ---- a pool: crashes, backoff and give-up ----

const crash = (proc: number, at: number): ServiceEvent => exit(proc, code(1), at);

table('service machine: crashes and restarts', [
  {
    name: 'a worker crashes while starting → a restart after the backoff delay (random 0: half of 100 ms)', given: poolUp, when: crash(0, 20),
    effects: [
      ...gone(0, 0, 'status=code:1 reason=null uptimeMs=20 wasReady=false forced=false'),
      'arm restart slot 0 50', 'restart-scheduled slot=0 delayMs=50 failures=1 crashLooping=false', 'service-status ready=0 desired=2 generation=0',
    ],
    state: { slots: ['cur -, gen 0, failures 1, restart pending', 'cur #1:starting, gen 0, failures 0'] },
  },
  {
    name: 'the restart timer → a new process in the same slot', given: [...poolUp, crash(0, 20)], when: restartDue(0, 70),
    effects: ['spawn #2 slot 0 worker gen 0'], state: { slots: ['cur #2:spawning, gen 0, failures 1', 'cur #1:starting, gen 0, failures 0'] },
  },
  { name: 'a restart timer nobody is waiting for → nothing', given: poolUp, when: restartDue(0, 70), effects: [] },
  {
    name: 'a second quick failure → the delay doubles', given: [...poolUp, crash(0, 20), restartDue(0, 70), spawned(2, 70)], when: crash(2, 100),
    effects: [
      ...gone(2, 0, 'status=code:1 reason=null uptimeMs=30 wasReady=false forced=false'),
      'arm restart slot 0 100', 'restart-scheduled slot=0 delayMs=100 failures=2 crashLooping=false', 'service-status ready=0 desired=2 generation=0',
    ],
  },
  {
    name: 'a process that exits straight after its spawn (events in that order) is still the slot\'s: it is restarted', given: [start, spawned(0, 5), spawned(1, 5)],
    when: exit(0, code(127), 5),
    effects: [
      ...gone(0, 0, 'status=code:127 reason=null uptimeMs=0 wasReady=false forced=false'),
      'arm restart slot 0 50', 'restart-scheduled slot=0 delayMs=50 failures=1 crashLooping=false', 'service-status ready=0 desired=2 generation=0',
    ],
  },
  {
    name: 'a worker that becomes ready clears the slot\'s failures',
    given: [...poolUp, crash(0, 20), restartDue(0, 70), spawned(2, 70), crash(2, 100), restartDue(0, 200), spawned(3, 200)],
    when: notify(3, 400),
    effects: ['ready slot=0 pid=103 generation=0 afterMs=200', 'service-status ready=1 desired=2 generation=0'],
    state: { slots: ['cur #3:ready, gen 0, failures 0', 'cur #1:starting, gen 0, failures 0'] },
  },
  {
    name: 'a worker that was ready and then dies (however soon) restarts at the shortest delay, not with backoff',
    given: [...poolUp, crash(0, 20), restartDue(0, 70), spawned(2, 70), crash(2, 100), restartDue(0, 200), spawned(3, 200), notify(3, 400)],
    when: exit(3, sig(9), 450),
    effects: [
      ...gone(3, 0, 'status=signal:9 reason=null uptimeMs=250 wasReady=true forced=false'),
      'arm restart slot 0 50', 'restart-scheduled slot=0 delayMs=50 failures=1 crashLooping=false', 'service-status ready=0 desired=2 generation=0',
    ],
  },
  {
    name: 'the (max-restarts + 1)th quick failure → gave-up, service-ended 75, and the other workers are stopped',
    given: [...poolUp, notify(1), crash(0, 20), restartDue(0, 70), spawned(2, 70), crash(2, 100), restartDue(0, 200), spawned(3, 200), crash(3, 230), restartDue(0, 630), spawned(4, 630)],
    when: crash(4, 650),
    effects: [
      ...gone(4, 0, 'status=code:1 reason=null uptimeMs=20 wasReady=false forced=false'),
      'gave-up slot=0 detail="4 consecutive starts failed within 10000 ms each (max-restarts 3)"',
      'service-ended why=gave-up status=code:1 code=75',
      ...stops(1, 1),
    ],
    state: { phase: 'stopping', ended: { why: 'gave-up', code: 75 } },
  },
  {
    name: 'after giving up, the last worker stops → service-stopped keeps 75',
    given: [...poolUp, notify(1), crash(0, 20), restartDue(0, 70), spawned(2, 70), crash(2, 100), restartDue(0, 200), spawned(3, 200), crash(3, 230), restartDue(0, 630), spawned(4, 630), crash(4, 650)],
    when: exit(1, sig(15), 700),
    effects: [...gone(1, 1, 'status=signal:15 reason=shutdown uptimeMs=700 wasReady=true forced=false'), 'service-stopped status=signal:15 code=75'],
    state: { phase: 'stopped' },
  },
  {
    name: 'on-crash-loop retry: past max-restarts it keeps trying at the capped delay, marked crash-looping',
    spec: { backoff: { ...pool.backoff, maxRestarts: 1, onCrashLoop: 'retry' } },
    given: [...poolUp, crash(0, 20), restartDue(0, 70), spawned(2, 70)], when: crash(2, 100),
    effects: [
      ...gone(2, 0, 'status=code:1 reason=null uptimeMs=30 wasReady=false forced=false'),
      'arm restart slot 0 100', 'restart-scheduled slot=0 delayMs=100 failures=2 crashLooping=true', 'service-status ready=0 desired=2 generation=0',
    ],
  },
  {
    name: 'a restart that cannot be spawned → the service ends with 127 (retrying cannot help)', given: [...poolReady, crash(0, 5_000), restartDue(0, 5_050)],
    when: spawnFailed(2, 127, 'node: command not found'),
    effects: ['release #2', 'spawn-failed slot=0 role=worker code=127 message="node: command not found"', 'service-ended why=spawn-failed status=null code=127', ...stops(1, 1)],
  },
  {
    name: 'a not-ready worker that was stopped and exits 0 is restarted, even with restart on-failure', spec: { restart: 'on-failure' },
    given: [...poolUp, timer({ kind: 'ready', proc: 0 }, 60_000)], when: exit(0, code(0), 60_100),
    effects: [
      ...gone(0, 0, 'status=code:0 reason=not-ready uptimeMs=60100 wasReady=false forced=false'),
      'arm restart slot 0 50', 'restart-scheduled slot=0 delayMs=50 failures=1 crashLooping=false', 'service-status ready=0 desired=2 generation=0',
    ],
  },
  {
    name: 'stop cancels pending restarts', given: [...poolReady, crash(0, 5_000)], when: stop(),
    effects: ['cancel restart slot 0', ...stops(1, 1)],
  },
  {
    name: 'a restart timer that fires while stopping → nothing', given: [...poolReady, crash(0, 5_000), stop()], when: restartDue(0, 5_050), effects: [],
  },
  {
    name: 'a pool stopped by SIGTERM → service-stopped with the last worker\'s status', given: [...poolReady, stop(), exit(0, sig(15), 1_000)], when: exit(1, code(0), 1_200),
    effects: [...gone(1, 1, 'status=code:0 reason=shutdown uptimeMs=1200 wasReady=true forced=false'), 'service-stopped status=code:0 code=0'],
  },
  {
    name: 'kill → KILL to every live worker', given: [...poolReady, stop()], when: { type: 'kill' },
    effects: [...stops(0, 0, 'SIGKILL', 1, 5_000), ...stops(1, 1, 'SIGKILL', 1, 5_000)],
  },
]);

table('service machine: restart modes', [
  {
    name: 'always: a clean exit is restarted', given: poolReady, when: exit(0, code(0), 5_000),
    effects: [
      ...gone(0, 0, 'status=code:0 reason=null uptimeMs=5000 wasReady=true forced=false'),
      'arm restart slot 0 50', 'restart-scheduled slot=0 delayMs=50 failures=1 crashLooping=false', 'service-status ready=1 desired=2 generation=0',
    ],
  },
  {
    name: 'on-failure: a clean exit ends the slot, the pool goes on with one fewer', spec: { restart: 'on-failure' }, given: poolReady, when: exit(0, code(0), 5_000),
    effects: [...gone(0, 0, 'status=code:0 reason=null uptimeMs=5000 wasReady=true forced=false'), 'service-status ready=1 desired=1 generation=0'],
    state: { phase: 'running', slots: ['cur -, gen 0, failures 0, ended', 'cur #1:ready, gen 0, failures 0'] },
  },
  {
    name: 'on-failure: a failure is restarted', spec: { restart: 'on-failure' }, given: poolReady, when: exit(0, code(1), 5_000),
    effects: [
      ...gone(0, 0, 'status=code:1 reason=null uptimeMs=5000 wasReady=true forced=false'),
      'arm restart slot 0 50', 'restart-scheduled slot=0 delayMs=50 failures=1 crashLooping=false', 'service-status ready=1 desired=2 generation=0',
    ],
  },
  {
    name: 'never: a failure ends the slot', spec: { restart: 'never' }, given: poolReady, when: exit(0, code(1), 5_000),
    effects: [...gone(0, 0, 'status=code:1 reason=null uptimeMs=5000 wasReady=true forced=false'), 'service-status ready=1 desired=1 generation=0'],
  },
  {
    name: 'never: the last slot ends → the service ends with that exit\'s status', spec: { restart: 'never' }, given: [...poolReady, exit(0, code(1), 5_000)],
    when: exit(1, code(4), 6_000),
    effects: [...gone(1, 1, 'status=code:4 reason=null uptimeMs=6000 wasReady=true forced=false'), 'service-ended why=exited status=code:4 code=4', 'service-stopped status=code:4 code=4'],
  },
]);

// ---- oneshot ----

table('service machine: oneshot', [
  { name: 'spawned → no readiness timers', spec: oneshot, given: [start], when: spawned(0), effects: [spawnedFact(0, 0)] },
  { name: 'readiness reports are ignored', spec: oneshot, given: [start, spawned(0)], when: notify(0), effects: [] },
  {
    name: 'exit 0 → service-done', spec: oneshot, given: [start, spawned(0)], when: exit(0, code(0), 800),
    effects: [...gone(0, 0, 'status=code:0 reason=null uptimeMs=800 wasReady=false forced=false'), 'service-done'],
    state: { phase: 'done', ended: null },
  },
  {
    name: 'exit 1 → ended with its code', spec: oneshot, given: [start, spawned(0)], when: exit(0, code(1), 800),
    effects: [...gone(0, 0, 'status=code:1 reason=null uptimeMs=800 wasReady=false forced=false'), 'service-ended why=exited status=code:1 code=1', 'service-stopped status=code:1 code=1'],
    state: { phase: 'stopped', ended: { why: 'exited', code: 1 } },
  },
  {
    name: 'restart on-failure: exit 1 → restarted', spec: { ...oneshot, restart: 'on-failure' }, given: [start, spawned(0)], when: exit(0, code(1), 800),
    effects: [
      ...gone(0, 0, 'status=code:1 reason=null uptimeMs=800 wasReady=false forced=false'),
      'arm restart slot 0 50', 'restart-scheduled slot=0 delayMs=50 failures=1 crashLooping=false', 'service-status ready=0 desired=1 generation=0',
    ],
  },
  {
    name: 'restart always: exit 0 is still done (a oneshot is done when it exits 0)', spec: { ...oneshot, restart: 'always' }, given: [start, spawned(0)], when: exit(0, code(0), 800),
    effects: [...gone(0, 0, 'status=code:0 reason=null uptimeMs=800 wasReady=false forced=false'), 'service-done'],
  },
  {
    name: 'stop once done → stopped at once with 0', spec: oneshot, given: [start, spawned(0), exit(0, code(0), 800)], when: stop(),
    effects: ['service-stopped status=code:0 code=0'], state: { phase: 'stopped' },
  },
  {
    name: 'stop before it started → stopped at once', spec: oneshot, given: [], when: stop(),
    effects: ['service-stopped status=null code=0'], state: { phase: 'stopped' },
  },
]);

// ---- the rolling reload ----

const three: Partial<ServiceSpec> = { workers: 3, reloadSurge: 2 };
const threeReady = [start, spawned(0), spawned(1), spawned(2), notify(0, 100), notify(1, 100), notify(2, 100)];
const reloading = [...threeReady, reload(7), spawned(3, 1_000), spawned(4, 1_000)];

table('service machine: rolling reload', [
  {
    name: 'reload → a new generation, the first surge batch of replacements; old workers keep serving', spec: three, given: threeReady, when: reload(7),
    effects: ['reload-started generation=1 workers=3 surge=2', 'spawn #3 slot 0 worker gen 1', 'spawn #4 slot 1 worker gen 1'],
    state: {
      phase: 'reloading', generation: 1, rollout: 'gen 1 (from 0): pending [2] active [0,1] replaced 0/3 requests [7]',
      slots: ['cur #0:ready, rep #3:spawning (reload), gen 0, failures 0', 'cur #1:ready, rep #4:spawning (reload), gen 0, failures 0', 'cur #2:ready, gen 0, failures 0'],
    },
  },
  {
    name: 'a replacement is ready → it takes the slot and the old worker is stopped (reason reload)', spec: three, given: reloading, when: notify(3, 1_200),
    effects: ['ready slot=0 pid=103 generation=1 afterMs=200', ...stops(0, 0), 'service-status ready=3 desired=3 generation=1'],
    state: {
      slots: ['cur #3:ready, retiring #0:stopping, gen 1, failures 0', 'cur #1:ready, rep #4:starting (reload), gen 0, failures 0', 'cur #2:ready, gen 0, failures 0'],
      rollout: 'gen 1 (from 0): pending [2] active [0,1] replaced 0/3 requests [7]',
    },
  },
  {
    name: 'the old worker has stopped → the slot is replaced and the next batch starts', spec: three, given: [...reloading, notify(3, 1_200)], when: exit(0, sig(15), 1_500),
    effects: [...gone(0, 0, 'status=signal:15 reason=reload uptimeMs=1500 wasReady=true forced=false'), 'spawn #5 slot 2 worker gen 1'],
    state: { rollout: 'gen 1 (from 0): pending [] active [1,2] replaced 1/3 requests [7]' },
  },
  {
    name: 'the last old worker has stopped → reload-finished ok, running on the new generation', spec: three,
    given: [...reloading, notify(3, 1_200), exit(0, sig(15), 1_500), spawned(5, 1_500), notify(4, 1_600), exit(1, code(0), 1_700), notify(5, 1_800)],
    when: exit(2, code(0), 2_000),
    effects: [...gone(2, 2, 'status=code:0 reason=reload uptimeMs=2000 wasReady=true forced=false'), 'reload-finished generation=1 ok=true detail="3 of 3 replaced" requests=[7]'],
    state: {
      phase: 'running', generation: 1, rollout: null,
      slots: ['cur #3:ready, gen 1, failures 0', 'cur #4:ready, gen 1, failures 0', 'cur #5:ready, gen 1, failures 0'],
    },
  },
  {
    name: 'a replacement crashes → the rollout fails: the other replacement is aborted, no further batch', spec: three, given: reloading, when: crash(3, 1_100),
    effects: [...gone(3, 0, 'status=code:1 reason=null uptimeMs=100 wasReady=false forced=false', 1), ...stops(4, 1)],
    state: {
      rollout: 'gen 1 (from 0): pending [] active [1] replaced 0/3, failed requests [7]',
      slots: ['cur #0:ready, gen 0, failures 0', 'cur #1:ready, rep #4:stopping (reload), gen 0, failures 0', 'cur #2:ready, gen 0, failures 0'],
    },
  },
  {
    name: 'the aborted replacement has stopped → reload-finished failed, the generation reverts, every slot keeps its old worker', spec: three,
    given: [...reloading, crash(3, 1_100)], when: exit(4, sig(15), 1_200),
    effects: [
      ...gone(4, 1, 'status=signal:15 reason=aborted uptimeMs=200 wasReady=false forced=false', 1),
      'reload-finished generation=0 ok=false detail="replacement for worker 0 (pid 103) exited with exit code 1 before it was ready (0 of 3 replaced, 3 old worker(s) kept)" requests=[7]',
    ],
    state: {
      phase: 'running', generation: 0, rollout: null,
      slots: ['cur #0:ready, gen 0, failures 0', 'cur #1:ready, gen 0, failures 0', 'cur #2:ready, gen 0, failures 0'],
    },
  },
  {
    name: 'a replacement whose spawn is answered after the rollout failed → stopped at once (aborted), never takes its slot', spec: three,
    given: [...threeReady, reload(7), spawned(3, 1_000), crash(3, 1_100)], when: spawned(4, 1_200),
    effects: [spawnedFact(4, 1, 1), ...stops(4, 1)],
    state: { rollout: 'gen 1 (from 0): pending [] active [1] replaced 0/3, failed requests [7]' },
  },
  {
    name: '… and once it has stopped the failed rollout is answered, every slot on its old worker', spec: three,
    given: [...threeReady, reload(7), spawned(3, 1_000), crash(3, 1_100), spawned(4, 1_200)], when: exit(4, sig(15), 1_300),
    effects: [
      ...gone(4, 1, 'status=signal:15 reason=aborted uptimeMs=100 wasReady=false forced=false', 1),
      'reload-finished generation=0 ok=false detail="replacement for worker 0 (pid 103) exited with exit code 1 before it was ready (0 of 3 replaced, 3 old worker(s) kept)" requests=[7]',
    ],
    state: { generation: 0, slots: ['cur #0:ready, gen 0, failures 0', 'cur #1:ready, gen 0, failures 0', 'cur #2:ready, gen 0, failures 0'] },
  },
  {
    name: 'a replacement not ready in time → stopped (not-ready), which fails the rollout', spec: three, given: reloading, when: timer({ kind: 'ready', proc: 3 }, 61_000),
    effects: stops(3, 0),
  },
  {
    name: 'a failure part-way: slots already replaced keep their new workers, the rest keep their old ones', spec: { workers: 3 },
    given: [...threeReady, reload(7), spawned(3, 1_000), notify(3, 1_200), exit(0, sig(15), 1_500), spawned(4, 1_500)], when: crash(4, 1_600),
    effects: [
      ...gone(4, 1, 'status=code:1 reason=null uptimeMs=100 wasReady=false forced=false', 1),
      'reload-finished generation=0 ok=false detail="replacement for worker 1 (pid 104) exited with exit code 1 before it was ready (1 of 3 replaced, 2 old worker(s) kept)" requests=[7]',
    ],
    state: {
      phase: 'running', generation: 0,
      slots: ['cur #3:ready, gen 1, failures 0', 'cur #1:ready, gen 0, failures 0', 'cur #2:ready, gen 0, failures 0'],
    },
  },
  {
    name: 'a replacement that cannot be spawned fails the rollout', spec: { workers: 3 }, given: [...threeReady, reload(7)], when: spawnFailed(3, 126, 'node: permission denied'),
    effects: [
      'release #3', 'spawn-failed slot=0 role=worker code=126 message="node: permission denied"',
      'reload-finished generation=0 ok=false detail="replacement for worker 0 could not start: node: permission denied (0 of 3 replaced, 3 old worker(s) kept)" requests=[7]',
    ],
    state: { phase: 'running', generation: 0 },
  },
  {
    name: 'a reload during a reload is queued (coalesced)', spec: three, given: [...threeReady, reload(7)], when: reload(8),
    effects: ['reload-coalesced request=8'], state: { queued: [8], generation: 1 },
  },
  {
    name: 'more reloads during the reload share the queue', spec: three, given: [...threeReady, reload(7), reload(8)], when: reload(9),
    effects: ['reload-coalesced request=9'], state: { queued: [8, 9] },
  },
  {
    name: 'the reload finishes → exactly one more rollout for every queued request', spec: three,
    given: [...reloading, reload(8), reload(9), notify(3, 1_200), notify(4, 1_200), exit(0, code(0), 1_300), exit(1, code(0), 1_300), spawned(5, 1_300), notify(5, 1_400)],
    when: exit(2, code(0), 1_500),
    effects: [
      ...gone(2, 2, 'status=code:0 reason=reload uptimeMs=1500 wasReady=true forced=false'),
      'reload-finished generation=1 ok=true detail="3 of 3 replaced" requests=[7]',
      'reload-started generation=2 workers=3 surge=2', 'spawn #6 slot 0 worker gen 2', 'spawn #7 slot 1 worker gen 2',
    ],
    state: { phase: 'reloading', generation: 2, queued: null, rollout: 'gen 2 (from 1): pending [2] active [0,1] replaced 0/3 requests [8,9]' },
  },
  {
    name: 'a reload while stopping → answered failed at once', spec: three, given: [...threeReady, stop()], when: reload(5),
    effects: ['reload-finished generation=0 ok=false detail="service web is stopping" requests=[5]'], state: { phase: 'stopping', generation: 0 },
  },
  {
    name: 'a reload before start → answered failed at once', spec: three, given: [], when: reload(5),
    effects: ['reload-finished generation=0 ok=false detail="service web is idle" requests=[5]'],
  },
  {
    name: 'stop during a rollout → the rollout and the queued requests are answered failed, then everything is stopped', spec: three,
    given: [...threeReady, reload(7), reload(8), spawned(3, 1_000), spawned(4, 1_000)], when: stop(),
    effects: [
      'reload-finished generation=0 ok=false detail="the service is stopping" requests=[7,8]',
      ...stops(0, 0), ...stops(1, 1), ...stops(2, 2), ...stops(3, 0), ...stops(4, 1),
    ],
    state: { phase: 'stopping', rollout: null, queued: null },
  },
  {
    name: 'a replacement whose spawn is answered after the stop → stopped at once', spec: three, given: [...threeReady, reload(7), spawned(3, 1_000), stop()],
    when: spawned(4, 1_000),
    effects: [spawnedFact(4, 1, 1), ...stops(4, 1)],
  },
  {
    name: 'a replacement that ends after the stop → no restart, no reload answer', spec: three, given: [...threeReady, reload(7), spawned(3, 1_000), spawned(4, 1_000), stop()],
    when: exit(3, sig(15), 1_100),
    effects: gone(3, 0, 'status=signal:15 reason=shutdown uptimeMs=100 wasReady=false forced=false', 1),
  },
  {
    name: 'a current worker crashes while its replacement comes up → no restart: the replacement takes the slot', spec: three, given: reloading, when: crash(0, 1_100),
    effects: gone(0, 0, 'status=code:1 reason=null uptimeMs=1100 wasReady=true forced=false'),
    state: { slots: ['cur -, rep #3:starting (reload), gen 0, failures 0', 'cur #1:ready, rep #4:starting (reload), gen 0, failures 0', 'cur #2:ready, gen 0, failures 0'] },
  },
  {
    name: '… and when the replacement is ready the slot is replaced at once (nothing to retire)', spec: three, given: [...reloading, crash(0, 1_100)], when: notify(3, 1_200),
    effects: ['ready slot=0 pid=103 generation=1 afterMs=200', 'spawn #5 slot 2 worker gen 1', 'service-status ready=3 desired=3 generation=1'],
    state: { rollout: 'gen 1 (from 0): pending [] active [1,2] replaced 1/3 requests [7]' },
  },
]);

// ---- unhealthy workers ----

const unhealthy = (proc: number): ServiceEvent => ({ type: 'unhealthy', proc, why: 'RSS 600 MiB above --max-memory 512 MiB for 30s', reason: 'memory' });

table('service machine: an unhealthy worker is replaced first, stopped after', [
  {
    name: 'unhealthy → a replacement in the same slot; the old worker keeps serving', given: poolReady, when: unhealthy(0),
    effects: ['replacing slot=0 pid=100 why="RSS 600 MiB above --max-memory 512 MiB for 30s" reason=memory', 'spawn #2 slot 0 worker gen 0'],
    state: { slots: ['cur #0:ready, rep #2:spawning (unhealthy), gen 0, failures 0', 'cur #1:ready, gen 0, failures 0'] },
  },
  {
    name: 'the replacement is ready → the old worker is stopped (reason unhealthy)', given: [...poolReady, unhealthy(0), spawned(2, 1_000)], when: notify(2, 1_300),
    effects: ['ready slot=0 pid=102 generation=0 afterMs=300', ...stops(0, 0), 'service-status ready=2 desired=2 generation=0'],
    state: { slots: ['cur #2:ready, retiring #0:stopping, gen 0, failures 0', 'cur #1:ready, gen 0, failures 0'] },
  },
  {
    name: 'the old worker has stopped → no restart', given: [...poolReady, unhealthy(0), spawned(2, 1_000), notify(2, 1_300)], when: exit(0, sig(15), 1_500),
    effects: gone(0, 0, 'status=signal:15 reason=unhealthy uptimeMs=1500 wasReady=true forced=false'),
    state: { slots: ['cur #2:ready, gen 0, failures 0', 'cur #1:ready, gen 0, failures 0'] },
  },
  {
    name: 'the replacement crashes → replace-failed; the old worker stays', given: [...poolReady, unhealthy(0), spawned(2, 1_000)], when: crash(2, 1_100),
    effects: [...gone(2, 0, 'status=code:1 reason=null uptimeMs=100 wasReady=false forced=false'), 'replace-failed slot=0 detail="replacement for worker 0 (pid 102) exited with exit code 1 before it was ready"'],
    state: { slots: ['cur #0:ready, gen 0, failures 0', 'cur #1:ready, gen 0, failures 0'] },
  },
  { name: 'unhealthy while a replacement is already coming up → nothing', given: [...poolReady, unhealthy(0)], when: unhealthy(0), effects: [] },
  { name: 'unhealthy for a worker that is not ready → nothing', given: poolUp, when: unhealthy(0), effects: [] },
  { name: 'unhealthy during a reload → nothing (the reload replaces it)', spec: three, given: reloading, when: unhealthy(2), effects: [] },
  { name: 'unhealthy while stopping → nothing', given: [...poolReady, stop()], when: unhealthy(0), effects: [] },
  { name: 'unhealthy for a process tend does not know → nothing', given: poolReady, when: unhealthy(9), effects: [] },
]);

// ---- liveness probes ----

const live = (workers: number): Partial<ServiceSpec> => ({
  workers, liveness: { probe: { kind: 'http', path: '/healthz' }, intervalMs: 500, timeoutMs: 300, failures: 2 },
});
/** A round of liveness probes: [proc, ok] per worker probed. */
const round = (...results: readonly (readonly [number, boolean])[]): ServiceEvent => ({
  type: 'liveness', results: results.map(([proc, ok]) => ({ proc, ok, detail: ok ? '' : 'GET /healthz answered 503' })),
});
const fiveReady = [start, ...[0, 1, 2, 3, 4].map((p) => spawned(p)), ...[0, 1, 2, 3, 4].map((p) => notify(p, 100))];
const failed = (proc: number, slot: number, failures: number, degraded = false): string =>
  `probe-failed slot=${slot} pid=${pid(proc)} failures=${failures} threshold=2 detail="GET /healthz answered 503" degraded=${String(degraded)}`;
const replacingLive = (proc: number, slot: number, failures = 2): string =>
  `replacing slot=${slot} pid=${pid(proc)} why="liveness probe failed ${failures} times in a row (last: GET /healthz answered 503)" reason=liveness`;
const degradedAt = [...threeReady, round([0, false], [1, false], [2, true]), round([0, false], [1, false], [2, true])];

table('service machine: liveness probes (rounds judged by core/liveness.ts)', [
  {
    name: 'a failed probe is counted; below the threshold nothing is replaced', spec: live(3), given: threeReady, when: round([0, false], [1, true], [2, true]),
    effects: [failed(0, 0, 1)], state: { liveness: 'failures #0:1' },
  },
  {
    name: 'a success resets the count', spec: live(3), given: [...threeReady, round([0, false], [1, true], [2, true])], when: round([0, true], [1, true], [2, true]),
    effects: ['probe-recovered slot=0 pid=100 failures=1'], state: { liveness: 'failures -' },
  },
  {
    name: 'at the threshold → replaced as a guard replaces: the replacement first, reason liveness', spec: live(3),
    given: [...threeReady, round([0, false], [1, true], [2, true])], when: round([0, false], [1, true], [2, true]),
    effects: [failed(0, 0, 2), replacingLive(0, 0), 'spawn #3 slot 0 worker gen 0'],
    state: { slots: ['cur #0:ready, rep #3:spawning (unhealthy), gen 0, failures 0', 'cur #1:ready, gen 0, failures 0', 'cur #2:ready, gen 0, failures 0'], liveness: 'failures #0:2' },
  },
  {
    name: 'its replacement is ready → the old worker drains with the stop sequence, and its count is forgotten next round', spec: live(3),
    given: [...threeReady, round([0, false], [1, true], [2, true]), round([0, false], [1, true], [2, true]), spawned(3, 1_000)], when: notify(3, 1_300),
    effects: ['ready slot=0 pid=103 generation=0 afterMs=300', ...stops(0, 0), 'service-status ready=3 desired=3 generation=0'],
    state: { slots: ['cur #3:ready, retiring #0:stopping, gen 0, failures 0', 'cur #1:ready, gen 0, failures 0', 'cur #2:ready, gen 0, failures 0'] },
  },
  {
    name: 'a late result for the retiring worker is ignored; the counts are pruned to the serving workers', spec: live(3),
    given: [...threeReady, round([0, false], [1, true], [2, true]), round([0, false], [1, true], [2, true]), spawned(3, 1_000), notify(3, 1_300)],
    when: round([0, false], [3, true], [1, true], [2, true]), effects: [], state: { liveness: 'failures -' },
  },
  {
    name: 'still failing while its replacement comes up → counted, not replaced twice', spec: live(3),
    given: [...threeReady, round([0, false], [1, true], [2, true]), round([0, false], [1, true], [2, true])], when: round([0, false], [1, true], [2, true]),
    effects: [failed(0, 0, 3)], state: { liveness: 'failures #0:3' },
  },
  {
    name: 'two of five at the threshold → one slot at a time: the first is replaced, the other waits', spec: live(5),
    given: [...fiveReady, round([0, false], [1, false], [2, true], [3, true], [4, true])], when: round([0, false], [1, false], [2, true], [3, true], [4, true]),
    effects: [failed(0, 0, 2), failed(1, 1, 2), replacingLive(0, 0), 'spawn #5 slot 0 worker gen 0'],
  },
  {
    name: 'the first swap is done → the next round replaces the other', spec: live(5),
    given: [...fiveReady, round([0, false], [1, false], [2, true], [3, true], [4, true]), round([0, false], [1, false], [2, true], [3, true], [4, true]), spawned(5, 1_000), notify(5, 1_300)],
    when: round([5, true], [1, false], [2, true], [3, true], [4, true]),
    effects: [failed(1, 1, 3), replacingLive(1, 1, 3), 'spawn #6 slot 1 worker gen 0'],
  },
  {
    name: 'an outage that began mid-round: one at the threshold, the others failing below it → held, nobody replaced yet', spec: live(3),
    given: [...threeReady, round([0, false], [1, true], [2, true])], when: round([0, false], [1, false], [2, false]),
    effects: [failed(0, 0, 2), failed(1, 1, 1), failed(2, 2, 1)], state: { liveness: 'failures #0:2 #1:1 #2:1' },
  },
  {
    name: '…and the next round finds them all at the threshold → degraded', spec: live(3),
    given: [...threeReady, round([0, false], [1, true], [2, true]), round([0, false], [1, false], [2, false])], when: round([0, false], [1, false], [2, false]),
    effects: [failed(0, 0, 3, true), failed(1, 1, 2, true), failed(2, 2, 2, true), 'liveness-degraded failing=3 ready=3'],
  },
  {
    name: 'one at the threshold and a single other failing below half (one of five) → replaced', spec: live(5),
    given: [...fiveReady, round([0, false], [1, true], [2, true], [3, true], [4, true])], when: round([0, false], [1, false], [2, true], [3, true], [4, true]),
    effects: [failed(0, 0, 2), failed(1, 1, 1), replacingLive(0, 0), 'spawn #5 slot 0 worker gen 0'],
  },
  {
    name: 'half or more of the ready workers at the threshold → degraded, said once, nobody replaced', spec: live(3),
    given: [...threeReady, round([0, false], [1, false], [2, true])], when: round([0, false], [1, false], [2, true]),
    effects: [failed(0, 0, 2, true), failed(1, 1, 2, true), 'liveness-degraded failing=2 ready=3'],
    state: { liveness: 'degraded, failures #0:2 #1:2' },
  },
  {
    name: 'degraded and still failing → counted, no second degraded fact, nobody replaced', spec: live(3), given: degradedAt, when: round([0, false], [1, false], [2, false]),
    effects: [failed(0, 0, 3, true), failed(1, 1, 3, true), failed(2, 2, 1, true)], state: { liveness: 'degraded, failures #0:3 #1:3 #2:1' },
  },
  {
    name: 'degraded, then the probes pass → cleared, counts reset', spec: live(3), given: degradedAt, when: round([0, true], [1, true], [2, true]),
    effects: ['probe-recovered slot=0 pid=100 failures=2', 'probe-recovered slot=1 pid=101 failures=2', 'liveness-cleared'], state: { liveness: 'failures -' },
  },
  {
    name: 'degraded, then all but one recover → cleared, and the one left at the threshold is replaced', spec: live(3), given: degradedAt, when: round([0, false], [1, true], [2, true]),
    effects: ['probe-recovered slot=1 pid=101 failures=2', failed(0, 0, 3), 'liveness-cleared', replacingLive(0, 0, 3), 'spawn #3 slot 0 worker gen 0'],
  },
  {
    name: 'two workers: one failing is half → degraded, never replaced (use three or more workers to replace one)', spec: live(2),
    given: [...poolReady, round([0, false], [1, true])], when: round([0, false], [1, true]),
    effects: [failed(0, 0, 2, true), 'liveness-degraded failing=1 ready=2'],
  },
  { name: 'a worker not ready yet is never judged (slow starters are not killed)', spec: live(3), given: [start, spawned(0), spawned(1), spawned(2)], when: round([0, false]), effects: [] },
  { name: 'while stopping → nothing', spec: live(3), given: [...threeReady, stop()], when: round([0, false], [1, false], [2, false]), effects: [] },
  { name: 'without --liveness a round means nothing', spec: three, given: threeReady, when: round([0, false]), effects: [] },
  {
    name: 'during a reload → counted but not replaced (the reload replaces it)', spec: { ...live(3), reloadSurge: 1 },
    given: [...threeReady, round([0, false], [1, true], [2, true]), reload(7)], when: round([0, false], [1, true], [2, true]),
    effects: [failed(0, 0, 2)],
  },
]);

// ---- holds (the app's hold(name)): events in, the process machine decides the stages ----

const holdJob = (proc: number, at = 500): ServiceEvent => ({ type: 'hold', proc, name: 'job', at });
const releaseJob = (proc: number): ServiceEvent => ({ type: 'release', proc, name: 'job' });
const stage0 = (proc: number): ServiceEvent => timer({ kind: 'stage', proc, stage: 0 }, 31_000);

table('service machine: holds', [
  { name: 'a hold → held (1 held), nothing else', given: poolReady, when: holdJob(0), effects: ['held slot=0 pid=100 name=job holds=1'] },
  { name: 'its release → released (0 held)', given: [...poolReady, holdJob(0)], when: releaseJob(0), effects: ['released slot=0 pid=100 name=job holds=0'] },
  { name: 'a hold for a process tend does not know → nothing', given: poolReady, when: holdJob(9), effects: [] },
  {
    name: 'stopping, stage time up while held → stage-held, the hold limit armed (no limit given: the stages\' sum, nothing left) → KILL',
    given: [...poolReady, holdJob(0), stop()], when: stage0(0),
    effects: ['signal #0 SIGKILL group', 'signalled slot=0 pid=100 signal=SIGKILL to=group why=kill', 'arm stage #0.1 5000', 'cancel ready #0', 'cancel ready-delay #0'],
  },
  {
    name: 'with a hold limit (--grace), stage time up while held → stage-held and the limit armed, no signal',
    holdLimitMs: 60_000, given: [...poolReady, holdJob(0), stop()], when: stage0(0),
    effects: ['stage-held slot=0 pid=100 stage=0 holds=[job] ms=30000', 'arm hold-limit #0 30000', 'cancel ready #0', 'cancel ready-delay #0'],
  },
  {
    name: 'released while its stage waits → 1 s to exit, then the stage',
    holdLimitMs: 60_000, given: [...poolReady, holdJob(0), stop(), stage0(0)], when: releaseJob(0),
    effects: ['arm stage #0.0 1000', 'cancel ready #0', 'cancel ready-delay #0', 'released slot=0 pid=100 name=job holds=0'],
  },
  {
    name: 'the hold limit → the next stage whatever is held',
    holdLimitMs: 60_000, given: [...poolReady, holdJob(0), stop(), stage0(0)], when: timer({ kind: 'hold-limit', proc: 0 }),
    effects: ['signal #0 SIGKILL group', 'signalled slot=0 pid=100 signal=SIGKILL to=group why=kill', 'arm stage #0.1 5000', 'cancel ready #0', 'cancel ready-delay #0'],
  },
]);

// ---- whole stories, with a tiny fake runner: spawns are answered, signals end processes ----

interface Story {
  state: ServiceState;
  readonly events: TendEvent[];
  readonly pending: ServiceEvent[];
}

// Feed `event`, then (with `answer`) answer every effect the way a well-behaved runner and well-behaved workers would:
// a spawn is answered with `spawned` and, for a worker, a notify; a stop signal makes the process exit.
function play(policy: ServicePolicy, story: Story, event: ServiceEvent, at: number, answer = true): void {
  story.pending.push(event);
  for (let next = story.pending.shift(); next !== undefined; next = story.pending.shift()) {
    const t = serviceTransition(policy, story.state, next);
    story.state = t.state;
    for (const effect of t.effects) {
      if (effect.type === 'emit') story.events.push(effect.event);
      else if (!answer) continue;
      else if (effect.type === 'spawn') story.pending.push(spawned(effect.proc, at), ...(effect.role === 'worker' ? [notify(effect.proc, at)] : []));
      else if (effect.type === 'signal') story.pending.push(exit(effect.proc, sig(15), at));
    }
  }
}

describe('service machine: whole stories', () => {
  it('three reloads while one runs → two rollouts in all, the second answering both queued requests', () => {
    const policy = policyFor({ spec: three });
    const story: Story = { state: initialServiceState(policy.spec), events: [], pending: [] };
    play(policy, story, start, 0);
    // Hold the first rollout open: its replacements are spawned but not answered while two more reloads arrive.
    for (const request of [1, 2, 3]) play(policy, story, reload(request), 50, false);
    for (const proc of [3, 4]) play(policy, story, spawned(proc, 100), 100, false);
    for (const proc of [3, 4]) play(policy, story, notify(proc, 200), 200);
    const started = story.events.flatMap((e) => (e.type === 'reload-started' ? [e.generation] : []));
    const finished = story.events.flatMap((e) => (e.type === 'reload-finished' ? [[e.generation, e.ok, e.requests]] : []));
    assert.deepEqual(started, [1, 2]);
    assert.equal(story.events.filter((e) => e.type === 'reload-coalesced').length, 2);
    assert.deepEqual(finished, [[1, true, [1]], [2, true, [2, 3]]]);
    assert.equal(story.state.phase, 'running');
    assert.equal(story.state.generation, 2);
    assert.deepEqual(readyCount(story.state), { ready: 3, desired: 3 });
    assert.deepEqual(story.state.slots.map((s) => s.generation), [2, 2, 2]);
  });

  it('a pool from start to SIGTERM: ready once, stopped with every process released', () => {
    const policy = policyFor({ spec: { workers: 4 } });
    const story: Story = { state: initialServiceState(policy.spec), events: [], pending: [] };
    play(policy, story, start, 0);
    play(policy, story, stop(), 1_000);
    const types = story.events.map((e) => e.type);
    assert.equal(types.filter((t) => t === 'service-ready').length, 1);
    assert.equal(types.filter((t) => t === 'exited').length, 4);
    assert.deepEqual(types.at(-1), 'service-stopped');
    assert.equal(story.state.phase, 'stopped');
    assert.deepEqual(story.state.procs, {});
  });
});
