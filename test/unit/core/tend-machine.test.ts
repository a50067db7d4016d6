// Several services in one tend as tables: (state reached by a script of events, event) → (state, effects). Pure.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SignalName } from '../../../src/config/signal-names.js';
import type { ServiceSpec } from '../../../src/config/spec.js';
import type { EndReason, TendEvent } from '../../../src/core/events.js';
import {
  DEADLINE_MARGIN_MS, initialTendState, stopDeadlineMs, tendTransition,
  type ServiceStanding, type TendEffect, type TendMachineEvent, type TendPolicy, type TendState,
} from '../../../src/core/tend-machine.js';

// ---- the table runner ----

interface Row {
  readonly name: string;
  readonly policy: TendPolicy;
  /** The events that lead to the row's state, from the initial state. */
  readonly given: readonly TendMachineEvent[];
  readonly when: TendMachineEvent;
  readonly effects: readonly TendEffect[];
  /** Only the keys given are compared; `services` lists every service's standing. */
  readonly state?: Partial<Omit<TendState, 'services'>> & { readonly services?: Readonly<Record<string, ServiceStanding>> };
}

function drive(policy: TendPolicy, events: readonly TendMachineEvent[]): TendState {
  let state = initialTendState(policy);
  for (const event of events) state = tendTransition(policy, state, event).state;
  return state;
}

function table(title: string, rows: readonly Row[]): void {
  describe(title, () => {
    for (const row of rows) {
      it(row.name, () => {
        const before = drive(row.policy, row.given);
        const frozen = structuredClone(before);
        const t = tendTransition(row.policy, before, row.when);
        assert.deepEqual(before, frozen, 'the transition must not modify the state it was given');
        assert.deepEqual(t.effects, row.effects);
        for (const [key, value] of Object.entries(row.state ?? {})) assert.deepEqual(t.state[key as keyof TendState], value, key);
      });
    }
  });
}

// ---- specs and events ----

const base: ServiceSpec = {
  name: 'x', command: ['true'], env: {}, cwd: null, type: 'simple', pool: false, workers: 1, restart: 'always', canDie: false, dependsOn: [], before: [],
  stop: [{ signal: 'received', timeoutMs: 30_000 }], signalScope: 'group', remapExit: new Map(), limits: [], user: null, listen: [], socketStrategy: 'shared',
  ready: { kind: 'auto' }, readyTimeoutMs: 60_000,
  backoff: { initialDelayMs: 100, maxDelayMs: 30_000, stableAfterMs: 10_000, maxRestarts: 10, onCrashLoop: 'exit' }, reloadSurge: 1,
  guards: { maxRssBytes: null, maxCpuPercent: null, windowMs: 30_000, sampleMs: 1_000, fdWarnRatio: 0.8 }, preload: false, watchdogMs: null,
};
const service = (over: Partial<ServiceSpec> & { readonly name: string }): ServiceSpec => ({ ...base, ...over });

// The example, as its config would load.
const migrate = service({ name: 'migrate', command: ['node', 'migrate.js'], type: 'oneshot', restart: 'never', stop: [{ signal: 'received', timeoutMs: 5_000 }] });
const web = service({
  name: 'web', command: ['node', 'server.js'], pool: true, workers: 2, dependsOn: ['migrate'], stop: [{ signal: 'received', timeoutMs: 20_000 }],
  listen: [{ kind: 'tcp', host: '127.0.0.1', port: 3000, name: 'web' }],
});
const jobs = service({
  name: 'jobs', command: ['node', 'worker.js'], dependsOn: ['web'], stop: [{ signal: 'SIGTSTP', timeoutMs: 10_000 }, { signal: 'SIGTERM', timeoutMs: 25_000 }],
  backoff: { ...base.backoff, maxRestarts: 5 },
});
const example: TendPolicy = { services: [migrate, web, jobs] };
const exampleCanDie: TendPolicy = { services: [migrate, web, { ...jobs, canDie: true }] };
const singleCommand: TendPolicy = { services: [service({ name: 'main', restart: 'never' })] };
const singlePool: TendPolicy = { services: [service({ name: 'main', pool: true, workers: 4 })] };

// stop chains: migrate 5 s ← web 20 s ← jobs 35 s, plus the margin.
const exampleDeadline = 5_000 + 20_000 + 35_000 + DEADLINE_MARGIN_MS;

const begin: TendMachineEvent = { type: 'begin' };
const signal = (name: SignalName): TendMachineEvent => ({ type: 'signal', signal: name });
const fact = (event: TendEvent): TendMachineEvent => ({ type: 'service', event });
const ready = (name: string): TendMachineEvent => fact({ type: 'service-ready', service: name, ready: 1, desired: 1, generation: 0 });
const done = (name: string): TendMachineEvent => fact({ type: 'service-done', service: name });
const ended = (name: string, why: EndReason, code: number): TendMachineEvent =>
  fact({ type: 'service-ended', service: name, why, status: why === 'gave-up' || why === 'spawn-failed' ? null : { code, signal: null }, code });
const stopped = (name: string, code: number): TendMachineEvent =>
  fact({ type: 'service-stopped', service: name, status: code > 128 ? { code: null, signal: code - 128 } : { code, signal: null }, code });
const deadline: TendMachineEvent = { type: 'deadline' };
const orphansGone: TendMachineEvent = { type: 'orphans-gone' };

const stopping = (why: string, ms: number, sig: SignalName | null = 'SIGTERM'): TendEffect => ({ type: 'emit', event: { type: 'stopping', signal: sig, deadlineMs: ms, why } });
const allReady: TendEffect = { type: 'emit', event: { type: 'all-ready' } };

const exampleUp = [begin, done('migrate'), ready('web'), ready('jobs')];

// ---- start order ----

table('tend machine: start in dependency order (the issue\'s example)', [
  {
    name: 'begin → only the service that depends on nothing starts', policy: example, given: [], when: begin,
    effects: [{ type: 'start', service: 'migrate' }],
    state: { phase: 'running', services: { migrate: 'started', web: 'waiting', jobs: 'waiting' } },
  },
  {
    name: 'migrate (oneshot) is done → web starts', policy: example, given: [begin], when: done('migrate'),
    effects: [{ type: 'start', service: 'web' }], state: { services: { migrate: 'done', web: 'started', jobs: 'waiting' } },
  },
  {
    name: 'web is ready → jobs starts; all-ready waits for jobs', policy: example, given: [begin, done('migrate')], when: ready('web'),
    effects: [{ type: 'start', service: 'jobs' }], state: { services: { migrate: 'done', web: 'ready', jobs: 'started' }, allReadyReported: false },
  },
  {
    name: 'jobs is ready → every long-running service is ready: all-ready, once', policy: example, given: [begin, done('migrate'), ready('web')], when: ready('jobs'),
    effects: [allReady], state: { allReadyReported: true },
  },
  {
    name: 'a service that is ready again (after a reload) → nothing new', policy: example, given: exampleUp, when: ready('web'), effects: [],
  },
  {
    name: 'a service whose dependencies all start at once', policy: { services: [service({ name: 'a' }), service({ name: 'b' }), service({ name: 'c', dependsOn: ['a', 'b'] })] },
    given: [begin, ready('a')], when: ready('b'),
    effects: [{ type: 'start', service: 'c' }],
  },
  {
    name: 'a single command → starts at once', policy: singleCommand, given: [], when: begin,
    effects: [{ type: 'start', service: 'main' }],
  },
]);

// ---- stop ----

table('tend machine: stop in reverse dependency order, under one deadline', [
  {
    name: 'SIGTERM → one deadline, and only jobs (nothing depends on it) is stopped; migrate is done already', policy: example, given: exampleUp, when: signal('SIGTERM'),
    effects: [stopping('received SIGTERM', exampleDeadline), { type: 'arm-deadline', ms: exampleDeadline }, { type: 'stop', service: 'jobs', signal: 'SIGTERM' }],
    state: { phase: 'stopping', code: null, stopSignal: 'SIGTERM', services: { migrate: 'done', web: 'ready', jobs: 'stopping' } },
  },
  {
    name: 'jobs has stopped → web is stopped', policy: example, given: [...exampleUp, signal('SIGTERM')], when: stopped('jobs', 143),
    effects: [{ type: 'stop', service: 'web', signal: 'SIGTERM' }], state: { services: { migrate: 'done', web: 'stopping', jobs: 'stopped' } },
  },
  {
    name: 'web has stopped → nothing is left: stop the orphans', policy: example, given: [...exampleUp, signal('SIGTERM'), stopped('jobs', 143)], when: stopped('web', 0),
    effects: [{ type: 'stop-orphans' }], state: { phase: 'orphans' },
  },
  {
    name: 'the orphans are gone → exit 0 (several services: a stop asked for is a success)', policy: example,
    given: [...exampleUp, signal('SIGTERM'), stopped('jobs', 143), stopped('web', 0)], when: orphansGone,
    effects: [{ type: 'exit', code: 0 }], state: { phase: 'exited', code: 0 },
  },
  {
    name: 'SIGINT → each service gets SIGINT (its "received" stages send it)', policy: example, given: exampleUp, when: signal('SIGINT'),
    effects: [stopping('received SIGINT', exampleDeadline, 'SIGINT'), { type: 'arm-deadline', ms: exampleDeadline }, { type: 'stop', service: 'jobs', signal: 'SIGINT' }],
  },
  {
    name: 'SIGTERM while migrate still runs → web and jobs never start; only migrate is stopped', policy: example, given: [begin], when: signal('SIGTERM'),
    effects: [stopping('received SIGTERM', exampleDeadline), { type: 'arm-deadline', ms: exampleDeadline }, { type: 'stop', service: 'migrate', signal: 'SIGTERM' }],
    state: { services: { migrate: 'stopping', web: 'stopped', jobs: 'stopped' } },
  },
  {
    name: 'a service that becomes ready during the stop starts nothing', policy: example, given: [begin, done('migrate'), signal('SIGTERM')], when: ready('web'),
    effects: [], state: { services: { migrate: 'done', web: 'stopping', jobs: 'stopped' } },
  },
  {
    name: 'a late service-ready of a service already being stopped → it is not asked to stop twice', policy: { services: [service({ name: 'a' }), service({ name: 'b' })] },
    given: [begin, ended('a', 'exited', 1), ready('b')], when: stopped('a', 1),
    effects: [], state: { services: { a: 'stopped', b: 'stopping' } },
  },
  {
    name: 'a second SIGTERM while stopping → forwarded to every service still running', policy: example, given: [...exampleUp, signal('SIGTERM')], when: signal('SIGTERM'),
    effects: [{ type: 'forward', service: 'web', signal: 'SIGTERM' }, { type: 'forward', service: 'jobs', signal: 'SIGTERM' }],
    state: { phase: 'stopping' },
  },
  {
    name: 'the deadline → every service still running is killed', policy: example, given: [...exampleUp, signal('SIGTERM')], when: deadline,
    effects: [{ type: 'kill', service: 'web' }, { type: 'kill', service: 'jobs' }],
  },
  {
    name: 'the deadline after some have stopped → only the rest', policy: example, given: [...exampleUp, signal('SIGTERM'), stopped('jobs', 143)], when: deadline,
    effects: [{ type: 'kill', service: 'web' }],
  },
  { name: 'a deadline while running (a stale timer) → nothing', policy: example, given: exampleUp, when: deadline, effects: [] },
  { name: 'orphans-gone before the orphan phase → nothing', policy: example, given: [...exampleUp, signal('SIGTERM')], when: orphansGone, effects: [] },
  {
    name: 'after exit every signal is ignored', policy: example,
    given: [...exampleUp, signal('SIGTERM'), stopped('jobs', 143), stopped('web', 0), orphansGone], when: signal('SIGTERM'), effects: [],
  },
]);

// ---- services that end ----

table('tend machine: a service that ends for good', [
  {
    name: 'web gives up (no can-die) → everything stops, in order, with 75', policy: example, given: exampleUp, when: ended('web', 'gave-up', 75),
    effects: [stopping('service web gave up (exit code 75)', exampleDeadline, null), { type: 'arm-deadline', ms: exampleDeadline }, { type: 'stop', service: 'jobs', signal: 'SIGTERM' }],
    state: { phase: 'stopping', code: 75, services: { migrate: 'done', web: 'ended', jobs: 'stopping' } },
  },
  {
    name: '… an ended service stops itself: it is not asked again once its dependents have stopped', policy: example,
    given: [...exampleUp, ended('web', 'gave-up', 75)], when: stopped('jobs', 143), effects: [], state: { services: { migrate: 'done', web: 'ended', jobs: 'stopped' } },
  },
  {
    name: '… then tend exits 75', policy: example, given: [...exampleUp, ended('web', 'gave-up', 75), stopped('jobs', 143), stopped('web', 75)],
    when: orphansGone, effects: [{ type: 'exit', code: 75 }],
  },
  {
    name: 'a failing oneshot → the services waiting on it never start; tend exits with its code', policy: example, given: [begin], when: ended('migrate', 'exited', 3),
    effects: [stopping('service migrate ended (exit code 3)', exampleDeadline, null), { type: 'arm-deadline', ms: exampleDeadline }],
    state: { code: 3, services: { migrate: 'ended', web: 'stopped', jobs: 'stopped' } },
  },
  {
    name: '… and once it has stopped: orphans, then exit 3', policy: example, given: [begin, ended('migrate', 'exited', 3), stopped('migrate', 3)], when: orphansGone,
    effects: [{ type: 'exit', code: 3 }],
  },
  {
    name: 'with can-die: jobs ends and tend goes on', policy: exampleCanDie, given: exampleUp, when: ended('jobs', 'gave-up', 75),
    effects: [], state: { phase: 'running', code: null, services: { migrate: 'done', web: 'ready', jobs: 'ended' } },
  },
  {
    name: 'with can-die: its processes gone → stopped, tend still runs', policy: exampleCanDie, given: [...exampleUp, ended('jobs', 'gave-up', 75)], when: stopped('jobs', 75),
    effects: [], state: { phase: 'running', services: { migrate: 'done', web: 'ready', jobs: 'stopped' } },
  },
  {
    name: 'with can-die: a later SIGTERM stops the rest and exits 0', policy: exampleCanDie,
    given: [...exampleUp, ended('jobs', 'gave-up', 75), stopped('jobs', 75), signal('SIGTERM'), stopped('web', 0)], when: orphansGone,
    effects: [{ type: 'exit', code: 0 }],
  },
  {
    name: 'with can-die, but nothing else is left → tend stops with its code', policy: { services: [service({ name: 'a', canDie: true })] },
    given: [begin, ready('a')], when: ended('a', 'exited', 4),
    effects: [stopping('service a ended (exit code 4)', 30_000 + DEADLINE_MARGIN_MS, null), { type: 'arm-deadline', ms: 30_000 + DEADLINE_MARGIN_MS }],
    state: { code: 4 },
  },
  {
    name: 'a second service that ends during the stop does not change the code', policy: example, given: [...exampleUp, ended('jobs', 'exited', 2)], when: ended('web', 'gave-up', 75),
    effects: [], state: { code: 2 },
  },
]);

// ---- one service: the single command and the pool ----

table('tend machine: exit codes with one service', [
  {
    name: 'a single command stopped by SIGTERM → its own code passes through (143)', policy: singleCommand, given: [begin, ready('main'), signal('SIGTERM'), stopped('main', 143)],
    when: orphansGone, effects: [{ type: 'exit', code: 143 }],
  },
  {
    name: 'a single command that handles SIGTERM and exits 0 → 0', policy: singleCommand, given: [begin, ready('main'), signal('SIGTERM'), stopped('main', 0)],
    when: orphansGone, effects: [{ type: 'exit', code: 0 }],
  },
  {
    name: 'a single command that ends on its own → its (remapped) code', policy: singleCommand, given: [begin, ready('main'), ended('main', 'exited', 3), stopped('main', 3)],
    when: orphansGone, effects: [{ type: 'exit', code: 3 }],
  },
  {
    name: 'a single command that cannot be spawned → 127', policy: singleCommand, given: [begin, ended('main', 'spawn-failed', 127), stopped('main', 127)],
    when: orphansGone, effects: [{ type: 'exit', code: 127 }],
  },
  {
    name: 'a single pool stopped by SIGTERM → 0 (a worker\'s code is not tend\'s)', policy: singlePool, given: [begin, ready('main'), signal('SIGTERM'), stopped('main', 143)],
    when: orphansGone, effects: [{ type: 'exit', code: 0 }],
  },
  {
    name: 'a single pool that gives up → 75', policy: singlePool, given: [begin, ready('main'), ended('main', 'gave-up', 75), stopped('main', 75)],
    when: orphansGone, effects: [{ type: 'exit', code: 75 }],
  },
]);

// ---- signals and reloads ----

table('tend machine: signal routing and reloads', [
  {
    name: 'SIGHUP → a rolling reload for every pool, forwarded to every other running service', policy: example, given: exampleUp, when: signal('SIGHUP'),
    effects: [{ type: 'reload', service: 'web', request: -1 }, { type: 'forward', service: 'jobs', signal: 'SIGHUP' }],
  },
  {
    name: 'SIGHUP to a single command → forwarded', policy: singleCommand, given: [begin], when: signal('SIGHUP'),
    effects: [{ type: 'forward', service: 'main', signal: 'SIGHUP' }],
  },
  {
    name: 'SIGHUP while stopping → forwarded, even to a pool (no reload during a stop)', policy: example, given: [...exampleUp, signal('SIGTERM')], when: signal('SIGHUP'),
    effects: [{ type: 'forward', service: 'web', signal: 'SIGHUP' }, { type: 'forward', service: 'jobs', signal: 'SIGHUP' }],
  },
  {
    name: 'any other signal → forwarded to running services only (not to a done oneshot or a waiting one)', policy: example, given: [begin, done('migrate')], when: signal('SIGUSR2'),
    effects: [{ type: 'forward', service: 'web', signal: 'SIGUSR2' }],
  },
  {
    name: 'tend reload (no service named) → every pool', policy: example, given: exampleUp, when: { type: 'reload', service: null, request: 4 },
    effects: [{ type: 'reload', service: 'web', request: 4 }],
  },
  {
    name: 'tend reload jobs → that service', policy: example, given: exampleUp, when: { type: 'reload', service: 'jobs', request: 5 },
    effects: [{ type: 'reload', service: 'jobs', request: 5 }],
  },
  {
    name: 'tend reload of an unknown service → answered failed', policy: example, given: exampleUp, when: { type: 'reload', service: 'nope', request: 6 },
    effects: [{ type: 'emit', event: { type: 'reload-finished', service: 'nope', generation: 0, ok: false, detail: 'no service named "nope"', requests: [6] } }],
  },
  {
    name: 'tend reload with no pool → answered failed, naming the fix', policy: singleCommand, given: [begin], when: { type: 'reload', service: null, request: 7 },
    effects: [{ type: 'emit', event: { type: 'reload-finished', service: '', generation: 0, ok: false, detail: 'no pool to reload (give --workers or workers:)', requests: [7] } }],
  },
]);

// ---- the deadline ----

describe('tend machine: stopDeadlineMs', () => {
  const stops = (ms: number): Partial<ServiceSpec> => ({ stop: [{ signal: 'SIGTERM', timeoutMs: ms }] });
  const rows: readonly [string, TendPolicy, number][] = [
    ['one service: its stop sequence, plus the margin', singleCommand, 30_000 + DEADLINE_MARGIN_MS],
    ['the example: the chain migrate ← web ← jobs adds up (each stop waits for its dependents)', example, exampleDeadline],
    ['independent services stop together: the longest one', { services: [service({ name: 'a', ...stops(5_000) }), service({ name: 'b', ...stops(9_000) })] }, 9_000 + DEADLINE_MARGIN_MS],
    [
      'a diamond: the longest path, not the sum of every service',
      {
        services: [
          service({ name: 'db', ...stops(1_000) }),
          service({ name: 'api', dependsOn: ['db'], ...stops(10_000) }),
          service({ name: 'cron', dependsOn: ['db'], ...stops(3_000) }),
          service({ name: 'edge', dependsOn: ['api', 'cron'], ...stops(2_000) }),
        ],
      },
      1_000 + 10_000 + 2_000 + DEADLINE_MARGIN_MS,
    ],
    ['every stage counts: TSTP:10s,TERM:25s = 35 s', { services: [jobs] }, 35_000 + DEADLINE_MARGIN_MS],
    ['a dependency cycle does not loop forever', { services: [service({ name: 'a', dependsOn: ['b'], ...stops(1_000) }), service({ name: 'b', dependsOn: ['a'], ...stops(2_000) })] }, 3_000 + DEADLINE_MARGIN_MS],
  ];
  for (const [name, policy, ms] of rows) it(name, () => { assert.equal(stopDeadlineMs(policy), ms); });
});

// ---- stop delay (--stop-delay) and budget (--grace) ----

const delayed: TendPolicy = { ...example, stopDelayMs: 5_000 };
const delayedGrace: TendPolicy = { ...example, stopDelayMs: 5_000, graceMs: exampleDeadline + 5_000 };
const delayedTight: TendPolicy = { ...example, stopDelayMs: 5_000, graceMs: 30_000 };
const delayEmit = (sig: SignalName, ms: number): TendEffect => ({ type: 'emit', event: { type: 'stop-delayed', signal: sig, delayMs: ms } });

table('tend machine: the stop delay fails readiness first, the stop runs after it', [
  {
    name: 'SIGTERM with a delay → phase delaying, a delay timer, nothing stopped yet', policy: delayed, given: exampleUp, when: signal('SIGTERM'),
    effects: [delayEmit('SIGTERM', 5_000), { type: 'arm-delay', ms: 5_000 }],
    state: { phase: 'delaying', stopSignal: 'SIGTERM', services: { migrate: 'done', web: 'ready', jobs: 'ready' } },
  },
  {
    name: 'SIGINT with a delay → the same, remembering SIGINT', policy: delayed, given: exampleUp, when: signal('SIGINT'),
    effects: [delayEmit('SIGINT', 5_000), { type: 'arm-delay', ms: 5_000 }], state: { phase: 'delaying', stopSignal: 'SIGINT' },
  },
  {
    name: 'the delay is over → the stop begins (stopping published now, so the listening sockets close now)', policy: delayed, given: [...exampleUp, signal('SIGTERM')],
    when: { type: 'delay-over' },
    effects: [stopping('received SIGTERM (after the stop delay)', exampleDeadline), { type: 'arm-deadline', ms: exampleDeadline }, { type: 'stop', service: 'jobs', signal: 'SIGTERM' }],
    state: { phase: 'stopping', services: { migrate: 'done', web: 'ready', jobs: 'stopping' } },
  },
  {
    name: 'a second SIGTERM during the delay → the stop begins at once', policy: delayed, given: [...exampleUp, signal('SIGTERM')], when: signal('SIGTERM'),
    effects: [stopping('received SIGTERM again (stop delay skipped)', exampleDeadline), { type: 'arm-deadline', ms: exampleDeadline }, { type: 'stop', service: 'jobs', signal: 'SIGTERM' }],
    state: { phase: 'stopping' },
  },
  {
    name: 'the delay timer after a skipped delay → nothing', policy: delayed, given: [...exampleUp, signal('SIGTERM'), signal('SIGTERM')], when: { type: 'delay-over' },
    effects: [], state: { phase: 'stopping' },
  },
  {
    name: 'a service that may not die ends during the delay → the stop begins at once with its code', policy: delayed, given: [...exampleUp, signal('SIGTERM')],
    when: ended('jobs', 'exited', 3),
    effects: [stopping('service jobs ended (exit code 3)', exampleDeadline, null), { type: 'arm-deadline', ms: exampleDeadline }],
    state: { phase: 'stopping', code: 3 },
  },
  {
    name: 'SIGHUP during the delay still rolls the pool (it is not forwarded to it)', policy: delayed, given: [...exampleUp, signal('SIGTERM')], when: signal('SIGHUP'),
    effects: [{ type: 'reload', service: 'web', request: -1 }, { type: 'forward', service: 'jobs', signal: 'SIGHUP' }], state: { phase: 'delaying' },
  },
  {
    name: 'a service ends on its own with no delay pending → no delay (only signals are delayed)', policy: delayed, given: exampleUp, when: ended('jobs', 'exited', 3),
    effects: [stopping('service jobs ended (exit code 3)', exampleDeadline, null), { type: 'arm-deadline', ms: exampleDeadline }],
    state: { phase: 'stopping' },
  },
  {
    name: 'a zero delay → the stop begins at once, as without the flag', policy: { ...example, stopDelayMs: 0 }, given: exampleUp, when: signal('SIGTERM'),
    effects: [stopping('received SIGTERM', exampleDeadline), { type: 'arm-deadline', ms: exampleDeadline }, { type: 'stop', service: 'jobs', signal: 'SIGTERM' }],
  },
]);

table('tend machine: the stop deadline never passes --grace', [
  {
    name: 'a budget that fits → the usual deadline', policy: delayedGrace, given: [...exampleUp, signal('SIGTERM')], when: { type: 'delay-over' },
    effects: [stopping('received SIGTERM (after the stop delay)', exampleDeadline), { type: 'arm-deadline', ms: exampleDeadline }, { type: 'stop', service: 'jobs', signal: 'SIGTERM' }],
  },
  {
    name: 'a budget smaller than delay + chain → the deadline is what the delay left of it', policy: delayedTight, given: [...exampleUp, signal('SIGTERM')], when: { type: 'delay-over' },
    effects: [stopping('received SIGTERM (after the stop delay)', 25_000), { type: 'arm-deadline', ms: 25_000 }, { type: 'stop', service: 'jobs', signal: 'SIGTERM' }],
  },
  {
    name: 'no delay, a small budget → the deadline is the budget', policy: { ...example, graceMs: 30_000 }, given: exampleUp, when: signal('SIGTERM'),
    effects: [stopping('received SIGTERM', 30_000), { type: 'arm-deadline', ms: 30_000 }, { type: 'stop', service: 'jobs', signal: 'SIGTERM' }],
  },
]);
