// The life of one worker process as a pure transition function: starting → ready → stopping → exited.
// Restarts are new processes in the same slot, so this machine never goes backwards.
import type { StopStage } from '../config/run-config.js';
import type { SignalName } from '../config/signal-names.js';
import type { ExitStatus } from '../os/exit-status.js';

/** Why tend stopped a worker. */
export type StopReason = 'shutdown' | 'reload' | 'not-ready' | 'unhealthy' | 'replaced' | 'aborted';

export type WorkerState =
  | { readonly kind: 'starting'; readonly pid: number; readonly startedAt: number }
  | { readonly kind: 'ready'; readonly pid: number; readonly startedAt: number; readonly readyAt: number }
  | {
      readonly kind: 'stopping';
      readonly pid: number;
      readonly startedAt: number;
      readonly reason: StopReason;
      readonly stage: number;
      readonly wasReady: boolean;
      readonly trigger: SignalName;
    }
  | {
      readonly kind: 'exited';
      readonly status: ExitStatus;
      readonly wasReady: boolean;
      /** Null when the worker exited on its own (a crash, or a clean exit nobody asked for). */
      readonly reason: StopReason | null;
      readonly uptimeMs: number;
      /** True when tend had to SIGKILL it. */
      readonly forced: boolean;
    };

export type WorkerEvent =
  | { readonly type: 'ready'; readonly at: number }
  | { readonly type: 'ready-timeout' }
  | { readonly type: 'unhealthy'; readonly detail: string }
  | { readonly type: 'stop'; readonly reason: StopReason; readonly signal?: SignalName }
  | { readonly type: 'stage-timeout'; readonly stage: number }
  | { readonly type: 'exited'; readonly status: ExitStatus; readonly at: number };

export type WorkerEffect =
  | { readonly type: 'signal'; readonly signal: SignalName }
  | { readonly type: 'arm-timer'; readonly timer: 'stage'; readonly stage: number; readonly ms: number }
  | { readonly type: 'became-ready' }
  | { readonly type: 'log'; readonly level: 'info' | 'debug'; readonly message: string };

export interface WorkerTransition {
  readonly state: WorkerState;
  readonly effects: readonly WorkerEffect[];
}

/** How long to wait after SIGKILL before treating the worker as gone anyway. */
export const WORKER_KILL_GRACE_MS = 5_000;

// Compute the next state and effects for one event, with the pool's stop sequence. Pure.
export function workerTransition(stop: readonly StopStage[], state: WorkerState, event: WorkerEvent): WorkerTransition {
  switch (state.kind) {
    case 'starting':
    case 'ready':
      return fromLive(stop, state, event);
    case 'stopping':
      return fromStopping(stop, state, event);
    case 'exited':
      return nop(state, event);
  }
}

function fromLive(stop: readonly StopStage[], state: Extract<WorkerState, { kind: 'starting' | 'ready' }>, event: WorkerEvent): WorkerTransition {
  switch (event.type) {
    case 'ready':
      if (state.kind === 'ready') return nop(state, event);
      return { state: { kind: 'ready', pid: state.pid, startedAt: state.startedAt, readyAt: event.at }, effects: [{ type: 'became-ready' }] };
    case 'ready-timeout':
      if (state.kind === 'ready') return nop(state, event);
      return beginStop(stop, state, 'not-ready', 'SIGTERM');
    case 'unhealthy':
      return beginStop(stop, state, 'unhealthy', 'SIGTERM', event.detail);
    case 'stop':
      return beginStop(stop, state, event.reason, event.signal ?? 'SIGTERM');
    case 'exited':
      return {
        state: { kind: 'exited', status: event.status, wasReady: state.kind === 'ready', reason: null, uptimeMs: event.at - state.startedAt, forced: false },
        effects: [],
      };
    case 'stage-timeout':
      return nop(state, event);
  }
}

function fromStopping(stop: readonly StopStage[], state: Extract<WorkerState, { kind: 'stopping' }>, event: WorkerEvent): WorkerTransition {
  switch (event.type) {
    case 'exited':
      return {
        state: {
          kind: 'exited',
          status: event.status,
          wasReady: state.wasReady,
          reason: state.reason,
          uptimeMs: event.at - state.startedAt,
          forced: state.stage >= stop.length,
        },
        effects: [],
      };
    case 'stage-timeout':
      if (event.stage !== state.stage || state.stage >= stop.length) return nop(state, event);
      return enterStage(stop, { ...state, stage: state.stage + 1 });
    case 'ready':
    case 'ready-timeout':
    case 'unhealthy':
    case 'stop':
      // The first stop wins: its deadline stands.
      return nop(state, event);
  }
}

function beginStop(
  stop: readonly StopStage[],
  state: Extract<WorkerState, { kind: 'starting' | 'ready' }>,
  reason: StopReason,
  trigger: SignalName,
  detail?: string,
): WorkerTransition {
  const stopping: Extract<WorkerState, { kind: 'stopping' }> = {
    kind: 'stopping',
    pid: state.pid,
    startedAt: state.startedAt,
    reason,
    stage: 0,
    wasReady: state.kind === 'ready',
    trigger,
  };
  const entered = enterStage(stop, stopping);
  const why: WorkerEffect = { type: 'log', level: 'info', message: `stopping worker pid ${state.pid} (${reason}${detail === undefined ? '' : `: ${detail}`})` };
  return { state: entered.state, effects: [why, ...entered.effects] };
}

function enterStage(stop: readonly StopStage[], state: Extract<WorkerState, { kind: 'stopping' }>): WorkerTransition {
  const stage = stop[state.stage];
  if (stage === undefined) {
    return { state, effects: [{ type: 'signal', signal: 'SIGKILL' }, { type: 'arm-timer', timer: 'stage', stage: state.stage, ms: WORKER_KILL_GRACE_MS }] };
  }
  const signal = stage.signal === 'received' ? state.trigger : stage.signal;
  return { state, effects: [{ type: 'signal', signal }, { type: 'arm-timer', timer: 'stage', stage: state.stage, ms: stage.timeoutMs }] };
}

function nop(state: WorkerState, event: WorkerEvent): WorkerTransition {
  return { state, effects: [{ type: 'log', level: 'debug', message: `worker: ignored ${event.type} while ${state.kind}` }] };
}
