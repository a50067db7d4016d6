// The life of one process (a worker, a setup step, or the single command) as a pure transition function:
// starting → ready → stopping → exited, never backwards. A restart is a new process. The process is its main pid and
// that pid's process group: it has exited only once the group is empty too (systemd's KillMode=control-group), so
// whatever it left behind gets the same stop sequence however the stop began.
import type { StopStage } from '../config/run-config.js';
import type { SignalName } from '../config/signal-names.js';
import type { ExitStatus } from '../os/exit-status.js';
import type { StopReason } from './events.js';

/** The app's holds (`hold(name)` in the in-app library): name → when first taken and how many are held. */
export type Holds = Readonly<Record<string, { readonly since: number; readonly count: number }>>;

// `holds` is absent while the process holds nothing.
export type ProcessState =
  | { readonly kind: 'starting'; readonly pid: number; readonly startedAt: number; readonly holds?: Holds }
  | { readonly kind: 'ready'; readonly pid: number; readonly startedAt: number; readonly readyAt: number; readonly holds?: Holds }
  | {
      readonly kind: 'stopping';
      readonly pid: number;
      readonly startedAt: number;
      readonly holds?: Holds;
      /** The current stage's time is up but a hold postpones the next stage (until released or the hold limit). */
      readonly held?: true;
      /** Armed when a stage is first postponed, never re-armed; once hit, holds no longer postpone anything. */
      readonly holdLimit?: 'armed' | 'hit';
      /** Null when tend stops what a process left behind after it exited on its own. */
      readonly reason: StopReason | null;
      /** Index into the stop stages; stages.length means KILL has been sent. */
      readonly stage: number;
      readonly trigger: SignalName;
      readonly wasReady: boolean;
      /** The main pid's status once it has been reaped (its group may still be alive). */
      readonly status: ExitStatus | null;
      readonly endedAt: number | null;
    }
  | {
      readonly kind: 'exited';
      readonly pid: number;
      /** Null only when the main pid could not be reaped even after SIGKILL. */
      readonly status: ExitStatus | null;
      readonly wasReady: boolean;
      readonly reason: StopReason | null;
      readonly uptimeMs: number;
      /** True when tend had to SIGKILL it. */
      readonly forced: boolean;
    };

export type ProcessEvent =
  | { readonly type: 'ready'; readonly at: number }
  | { readonly type: 'ready-timeout' }
  | { readonly type: 'stop'; readonly reason: StopReason; readonly signal: SignalName }
  | { readonly type: 'kill' }
  | { readonly type: 'stage-timeout'; readonly stage: number; readonly at: number }
  /** The main pid was reaped; `lingering` = members of its process group are still alive. */
  | { readonly type: 'exited'; readonly status: ExitStatus; readonly at: number; readonly lingering: boolean }
  | { readonly type: 'group-gone'; readonly at: number }
  | { readonly type: 'hold'; readonly name: string; readonly at: number }
  | { readonly type: 'release'; readonly name: string }
  /** The hold limit armed when a stage was first postponed has passed. */
  | { readonly type: 'hold-limit' };

export type ProcessEffect =
  | { readonly type: 'signal'; readonly signal: SignalName; readonly to: 'main' | 'group'; readonly cont: boolean; readonly why: 'stop' | 'kill' }
  | { readonly type: 'arm-stage'; readonly stage: number; readonly ms: number }
  | { readonly type: 'watch-group' }
  | { readonly type: 'became-ready' }
  | { readonly type: 'lingering' }
  /** A stage's time is up, and the next stage waits for these holds (at most `ms` more). */
  | { readonly type: 'stage-held'; readonly stage: number; readonly holds: readonly string[]; readonly ms: number }
  | { readonly type: 'arm-hold-limit'; readonly ms: number };

/** What a process machine decides with. */
export interface ProcessPolicy {
  readonly stop: readonly StopStage[];
  readonly scope: 'group' | 'child';
  /**
   * How long after the stop began (counted by the stages' own timeouts) holds may postpone the next stage; absent =
   * the sum of the stage timeouts, so KILL never comes later than without holds.
   */
  readonly holdLimitMs?: number;
}

export interface ProcessTransition {
  readonly state: ProcessState;
  readonly effects: readonly ProcessEffect[];
}

/** How long to wait after SIGKILL before treating the process as gone anyway. */
export const KILL_GRACE_MS = 5_000;

/** After the last hold is released, the worker has this long to exit before its postponed next stage comes. */
export const RELEASE_GRACE_MS = 1_000;

/** Signals after which a stopped process must also get SIGCONT to act on them (as systemd does): the one rule. */
const NO_CONT_AFTER: ReadonlySet<string> = new Set(['SIGTSTP', 'SIGSTOP', 'SIGCONT', 'SIGKILL', 'SIGTTIN', 'SIGTTOU']);

// The state of a process whose spawn just succeeded.
export function startedProcess(pid: number, at: number): ProcessState {
  return { kind: 'starting', pid, startedAt: at };
}

// Compute the next state and effects of one process for one event. Pure: no I/O, no clock.
export function processTransition(policy: ProcessPolicy, state: ProcessState, event: ProcessEvent): ProcessTransition {
  switch (state.kind) {
    case 'starting':
    case 'ready':
      return fromLive(policy, state, event);
    case 'stopping':
      return fromStopping(policy, state, event);
    case 'exited':
      return { state, effects: [] };
  }
}

// True while the process (or what it left behind) may still be running.
export function isLive(state: ProcessState): boolean {
  return state.kind !== 'exited';
}

function fromLive(policy: ProcessPolicy, state: Extract<ProcessState, { kind: 'starting' | 'ready' }>, event: ProcessEvent): ProcessTransition {
  switch (event.type) {
    case 'ready':
      if (state.kind === 'ready') return { state, effects: [] };
      return {
        state: { kind: 'ready', pid: state.pid, startedAt: state.startedAt, readyAt: event.at, ...(state.holds === undefined ? {} : { holds: state.holds }) },
        effects: [{ type: 'became-ready' }],
      };
    case 'ready-timeout':
      if (state.kind === 'ready') return { state, effects: [] };
      return enterStage(policy, stoppingFrom(state, 'not-ready', 'SIGTERM'));
    case 'stop':
      return enterStage(policy, stoppingFrom(state, event.reason, event.signal));
    case 'kill':
      return enterStage(policy, { ...stoppingFrom(state, 'kill', 'SIGKILL'), stage: policy.stop.length });
    case 'exited': {
      const wasReady = state.kind === 'ready';
      if (!event.lingering) return exited(state.pid, event.status, wasReady, null, event.at - state.startedAt, false);
      // It is gone but its group lives on: stop what it left behind with the stop sequence, then count it as exited.
      const stopping: Extract<ProcessState, { kind: 'stopping' }> = {
        ...stoppingFrom(state, null, 'SIGTERM'),
        status: event.status,
        endedAt: event.at,
      };
      const entered = enterStage(policy, stopping);
      return { state: entered.state, effects: [{ type: 'lingering' }, { type: 'watch-group' }, ...entered.effects] };
    }
    case 'hold':
      return { state: { ...state, holds: addHold(state.holds, event.name, event.at) }, effects: [] };
    case 'release':
      return { state: withHolds(state, dropHold(state.holds, event.name)), effects: [] };
    case 'stage-timeout':
    case 'group-gone':
    case 'hold-limit':
      return { state, effects: [] };
  }
}

function fromStopping(policy: ProcessPolicy, state: Extract<ProcessState, { kind: 'stopping' }>, event: ProcessEvent): ProcessTransition {
  switch (event.type) {
    case 'exited': {
      if (!event.lingering) return exitedFrom(policy, state, event.status, event.at);
      const next = { ...state, status: event.status, endedAt: event.at };
      // With --signal-scope child the stages so far reached only the main pid: the rest of its group gets the current
      // stage's signal now, not after the stage's whole wait.
      const resend = policy.scope === 'child' && state.stage < policy.stop.length ? stageSignal(policy, next, 'group') : [];
      return { state: next, effects: [{ type: 'lingering' }, { type: 'watch-group' }, ...resend] };
    }
    case 'group-gone':
      if (state.status === null) return { state, effects: [] };
      return exitedFrom(policy, state, state.status, event.at);
    case 'stage-timeout':
      return onStageTimeout(policy, state, event.stage, event.at);
    case 'hold':
    case 'release':
    case 'hold-limit':
      return holdWhileStopping(policy, state, event);
    case 'kill':
      if (state.stage >= policy.stop.length) return { state, effects: [] };
      return enterStage(policy, { ...state, stage: policy.stop.length });
    case 'ready':
    case 'ready-timeout':
    case 'stop':
      // The first stop wins: its deadline stands.
      return { state, effects: [] };
  }
}

function stoppingFrom(state: Extract<ProcessState, { kind: 'starting' | 'ready' }>, reason: StopReason | null, trigger: SignalName): Extract<ProcessState, { kind: 'stopping' }> {
  return {
    kind: 'stopping',
    pid: state.pid,
    startedAt: state.startedAt,
    ...(state.holds === undefined ? {} : { holds: state.holds }),
    reason,
    stage: 0,
    trigger,
    wasReady: state.kind === 'ready',
    status: null,
    endedAt: null,
  };
}

function exitedFrom(policy: ProcessPolicy, state: Extract<ProcessState, { kind: 'stopping' }>, status: ExitStatus, at: number): ProcessTransition {
  const end = state.endedAt ?? at;
  return exited(state.pid, status, state.wasReady, state.reason, end - state.startedAt, state.stage >= policy.stop.length);
}

function exited(pid: number, status: ExitStatus | null, wasReady: boolean, reason: StopReason | null, uptimeMs: number, forced: boolean): ProcessTransition {
  return { state: { kind: 'exited', pid, status, wasReady, reason, uptimeMs: Math.max(0, uptimeMs), forced }, effects: [] };
}

// Send the current stage's signal and arm its timer, or KILL the whole group once the stages are used up.
function enterStage(policy: ProcessPolicy, state: Extract<ProcessState, { kind: 'stopping' }>): ProcessTransition {
  if (state.stage >= policy.stop.length) {
    return {
      state,
      effects: [
        { type: 'signal', signal: 'SIGKILL', to: 'group', cont: false, why: 'kill' },
        { type: 'arm-stage', stage: state.stage, ms: KILL_GRACE_MS },
      ],
    };
  }
  const to = policy.scope === 'child' && state.status === null ? 'main' : 'group';
  const stage = policy.stop[state.stage];
  return { state, effects: [...stageSignal(policy, state, to), { type: 'arm-stage', stage: state.stage, ms: stage?.timeoutMs ?? KILL_GRACE_MS }] };
}

function stageSignal(policy: ProcessPolicy, state: Extract<ProcessState, { kind: 'stopping' }>, to: 'main' | 'group'): ProcessEffect[] {
  const stage = policy.stop[state.stage];
  if (stage === undefined) return [];
  const signal = stage.signal === 'received' ? state.trigger : stage.signal;
  return [{ type: 'signal', signal, to, cont: !NO_CONT_AFTER.has(signal), why: 'stop' }];
}

type Stopping = Extract<ProcessState, { kind: 'stopping' }>;

function onStageTimeout(policy: ProcessPolicy, state: Stopping, stage: number, at: number): ProcessTransition {
  if (stage !== state.stage) return { state, effects: [] };
  if (state.stage >= policy.stop.length) {
    // Still not gone KILL_GRACE_MS after SIGKILL (uninterruptible sleep): report it and move on.
    return exited(state.pid, state.status, state.wasReady, state.reason, (state.endedAt ?? at) - state.startedAt, true);
  }
  if (state.holds !== undefined && state.holdLimit !== 'hit') return postpone(policy, state);
  return nextStage(policy, state);
}

function holdWhileStopping(policy: ProcessPolicy, state: Stopping, event: Extract<ProcessEvent, { type: 'hold' | 'release' | 'hold-limit' }>): ProcessTransition {
  switch (event.type) {
    case 'hold':
      return { state: { ...state, holds: addHold(state.holds, event.name, event.at) }, effects: [] };
    case 'release': {
      const next = withHolds(state, dropHold(state.holds, event.name));
      if (next.holds !== undefined || next.held !== true) return { state: next, effects: [] };
      // The last hold went while the next stage waited for it: a moment to exit, then the stage.
      const { held: _held, ...rest } = next;
      return { state: rest, effects: [{ type: 'arm-stage', stage: state.stage, ms: RELEASE_GRACE_MS }] };
    }
    case 'hold-limit':
      if (state.holdLimit === 'hit') return { state, effects: [] };
      if (state.held === true) return nextStage(policy, { ...state, holdLimit: 'hit' });
      return { state: { ...state, holdLimit: 'hit' }, effects: [] };
  }
}

function nextStage(policy: ProcessPolicy, state: Stopping): ProcessTransition {
  const { held: _held, ...rest } = state;
  return enterStage(policy, { ...rest, stage: state.stage + 1 });
}

// The stage's time is up while the app holds work: the next stage waits, at most until the hold limit.
function postpone(policy: ProcessPolicy, state: Stopping): ProcessTransition {
  const sum = (stages: readonly StopStage[]): number => stages.reduce((total, s) => total + s.timeoutMs, 0);
  const limit = policy.holdLimitMs ?? sum(policy.stop);
  const left = limit - sum(policy.stop.slice(0, state.stage + 1));
  if (left <= 0) return nextStage(policy, { ...state, holdLimit: 'hit' });
  const names = Object.keys(state.holds ?? {});
  const effects: ProcessEffect[] = [{ type: 'stage-held', stage: state.stage, holds: names, ms: left }];
  // Armed once, when a stage is first postponed; a later postponement keeps the same limit.
  if (state.holdLimit !== 'armed') effects.push({ type: 'arm-hold-limit', ms: left });
  return { state: { ...state, held: true, holdLimit: 'armed' }, effects };
}

function addHold(holds: Holds | undefined, name: string, at: number): Holds {
  const current = holds?.[name];
  return { ...holds, [name]: { since: current?.since ?? at, count: (current?.count ?? 0) + 1 } };
}

// Releasing a name nobody holds changes nothing.
function dropHold(holds: Holds | undefined, name: string): Holds | undefined {
  const current = holds?.[name];
  if (holds === undefined || current === undefined) return holds;
  const { [name]: _gone, ...rest } = holds;
  const next = current.count > 1 ? { ...rest, [name]: { since: current.since, count: current.count - 1 } } : rest;
  return Object.keys(next).length === 0 ? undefined : next;
}

function withHolds<S extends Exclude<ProcessState, { kind: 'exited' }>>(state: S, holds: Holds | undefined): S {
  const { holds: _old, ...rest } = state;
  return (holds === undefined ? rest : { ...rest, holds }) as S;
}
