// The lifecycle of `tend run` as one pure transition function: setup steps, the main command, the staged stop,
// and the wait for lingering processes. Effects are data; supervisor/run.ts executes them.
import type { SignalName } from '../config/signal-names.js';
import type { StopStage } from '../config/run-config.js';
import { exitCodeFor, remapExitCode, type ExitStatus } from '../os/exit-status.js';

/** Which command is running: one of the --before steps, or the main command. */
export type Phase = { readonly kind: 'step'; readonly index: number } | { readonly kind: 'main' };

/** Who a signal is sent to. `tree` is the child's process group plus every orphan tend has adopted. */
export type Target =
  | { readonly kind: 'child'; readonly pid: number }
  | { readonly kind: 'group'; readonly pgid: number }
  | { readonly kind: 'tree'; readonly pgid: number };

export type RunState =
  | { readonly kind: 'starting'; readonly phase: Phase; readonly queued: readonly SignalName[] }
  | { readonly kind: 'running'; readonly phase: Phase; readonly pid: number }
  | {
      readonly kind: 'stopping';
      readonly phase: Phase;
      readonly pid: number;
      /** Index into the stop stages; stages.length means KILL has been sent. */
      readonly stage: number;
      /** The signal that started the stop, or null when tend stops lingering processes after the child exited. */
      readonly trigger: SignalName | null;
      /** The exit status of the phase's process once it is known. */
      readonly status: ExitStatus | null;
    }
  | { readonly kind: 'exited'; readonly code: number };

export type RunEvent =
  | { readonly type: 'spawned'; readonly pid: number }
  | { readonly type: 'spawn-failed'; readonly exitCode: number }
  | { readonly type: 'signal'; readonly signal: SignalName }
  | { readonly type: 'exited'; readonly pid: number; readonly status: ExitStatus; readonly lingering: boolean }
  | { readonly type: 'stage-timeout'; readonly stage: number }
  | { readonly type: 'descendants-gone' };

export type RunEffect =
  | { readonly type: 'spawn'; readonly phase: Phase }
  | { readonly type: 'send'; readonly signal: SignalName; readonly target: Target; readonly reason: 'forward' | 'stop' }
  | { readonly type: 'arm-stage-timer'; readonly stage: number; readonly ms: number }
  | { readonly type: 'watch-descendants' }
  | { readonly type: 'log'; readonly level: 'info' | 'debug'; readonly message: string }
  | { readonly type: 'exit'; readonly code: number };

/** The parts of the configuration the machine decides with. */
export interface RunPolicy {
  readonly steps: number;
  readonly stop: readonly StopStage[];
  readonly signalScope: 'group' | 'child';
  readonly remapExit: ReadonlyMap<number, number>;
}

export interface Transition {
  readonly state: RunState;
  readonly effects: readonly RunEffect[];
}

/** How long tend waits for processes to vanish after SIGKILL before it exits anyway. */
export const KILL_GRACE_MS = 5_000;

/** Signals from outside that start the stop sequence; every other signal is forwarded. */
export const STOP_SIGNALS: ReadonlySet<SignalName> = new Set(['SIGTERM', 'SIGINT']);

// The first state: spawn the first --before step, or the main command if there is none.
export function initialTransition(policy: RunPolicy): Transition {
  const phase: Phase = policy.steps > 0 ? { kind: 'step', index: 0 } : { kind: 'main' };
  return { state: { kind: 'starting', phase, queued: [] }, effects: [{ type: 'spawn', phase }] };
}

// Compute the next state and the effects to run, for one event. Pure: no I/O, no clock.
export function transition(policy: RunPolicy, state: RunState, event: RunEvent): Transition {
  switch (state.kind) {
    case 'starting':
      return fromStarting(policy, state, event);
    case 'running':
      return fromRunning(policy, state, event);
    case 'stopping':
      return fromStopping(policy, state, event);
    case 'exited':
      return ignore(state, event);
  }
}

function fromStarting(policy: RunPolicy, state: Extract<RunState, { kind: 'starting' }>, event: RunEvent): Transition {
  switch (event.type) {
    case 'signal':
      // No child yet: keep the signal and deliver it the moment the child exists.
      return { state: { ...state, queued: [...state.queued, event.signal] }, effects: [{ type: 'log', level: 'info', message: `queued ${event.signal} until the child exists` }] };
    case 'spawned': {
      let result: Transition = { state: { kind: 'running', phase: state.phase, pid: event.pid }, effects: [] };
      for (const signal of state.queued) {
        const next = transition(policy, result.state, { type: 'signal', signal });
        result = { state: next.state, effects: [...result.effects, ...next.effects] };
      }
      return result;
    }
    case 'spawn-failed':
      return { state: { kind: 'exited', code: event.exitCode }, effects: [{ type: 'exit', code: event.exitCode }] };
    case 'exited':
    case 'stage-timeout':
    case 'descendants-gone':
      return ignore(state, event);
  }
}

function fromRunning(policy: RunPolicy, state: Extract<RunState, { kind: 'running' }>, event: RunEvent): Transition {
  switch (event.type) {
    case 'signal':
      if (STOP_SIGNALS.has(event.signal)) {
        return enterStage(policy, { kind: 'stopping', phase: state.phase, pid: state.pid, stage: 0, trigger: event.signal, status: null }, ['watch-descendants']);
      }
      return { state, effects: [{ type: 'send', signal: event.signal, target: forwardTarget(policy, state.pid, true), reason: 'forward' }] };
    case 'exited': {
      if (event.pid !== state.pid) return ignore(state, event);
      if (state.phase.kind === 'step' && event.status.code === 0) {
        const phase: Phase = state.phase.index + 1 < policy.steps ? { kind: 'step', index: state.phase.index + 1 } : { kind: 'main' };
        return { state: { kind: 'starting', phase, queued: [] }, effects: [{ type: 'spawn', phase }] };
      }
      if (!event.lingering) return finish(policy, event.status);
      // The child is gone but its group or adopted orphans live on: stop them too before exiting.
      return enterStage(
        policy,
        { kind: 'stopping', phase: state.phase, pid: state.pid, stage: 0, trigger: null, status: event.status },
        ['watch-descendants'],
        'the child exited while other processes are still running; stopping them',
      );
    }
    case 'spawned':
    case 'spawn-failed':
    case 'stage-timeout':
    case 'descendants-gone':
      return ignore(state, event);
  }
}

function fromStopping(policy: RunPolicy, state: Extract<RunState, { kind: 'stopping' }>, event: RunEvent): Transition {
  switch (event.type) {
    case 'signal':
      // Already stopping: pass it on (a second Ctrl-C reaches the child), but keep the stage timers as they are.
      return { state, effects: [{ type: 'send', signal: event.signal, target: forwardTarget(policy, state.pid, state.status === null), reason: 'forward' }] };
    case 'exited':
      if (event.pid !== state.pid) return ignore(state, event);
      if (!event.lingering) return finish(policy, event.status);
      return { state: { ...state, status: event.status }, effects: [] };
    case 'stage-timeout':
      if (event.stage !== state.stage) return ignore(state, event);
      if (state.stage >= policy.stop.length) {
        return finish(policy, state.status, 'processes survived SIGKILL; exiting anyway');
      }
      return enterStage(policy, { ...state, stage: state.stage + 1 }, []);
    case 'descendants-gone':
      if (state.status === null) return ignore(state, event);
      return finish(policy, state.status);
    case 'spawned':
    case 'spawn-failed':
      return ignore(state, event);
  }
}

// Send the current stage's signal and arm its timer (or send KILL once the stages are used up).
function enterStage(
  policy: RunPolicy,
  state: Extract<RunState, { kind: 'stopping' }>,
  extra: readonly 'watch-descendants'[],
  why?: string,
): Transition {
  const effects: RunEffect[] = [];
  if (why !== undefined) effects.push({ type: 'log', level: 'info', message: why });
  for (const e of extra) effects.push({ type: e });
  const stage = policy.stop[state.stage];
  const target: Target = policy.signalScope === 'child' && state.status === null ? { kind: 'child', pid: state.pid } : { kind: 'tree', pgid: state.pid };
  if (stage === undefined) {
    effects.push({ type: 'send', signal: 'SIGKILL', target: { kind: 'tree', pgid: state.pid }, reason: 'stop' });
    effects.push({ type: 'arm-stage-timer', stage: state.stage, ms: KILL_GRACE_MS });
  } else {
    const signal = stage.signal === 'received' ? (state.trigger ?? 'SIGTERM') : stage.signal;
    effects.push({ type: 'send', signal, target, reason: 'stop' });
    effects.push({ type: 'arm-stage-timer', stage: state.stage, ms: stage.timeoutMs });
  }
  return { state, effects };
}

function forwardTarget(policy: RunPolicy, pid: number, childAlive: boolean): Target {
  return policy.signalScope === 'child' && childAlive ? { kind: 'child', pid } : { kind: 'group', pgid: pid };
}

function finish(policy: RunPolicy, status: ExitStatus | null, why?: string): Transition {
  const code = status === null ? 128 + 9 : remapExitCode(exitCodeFor(status), policy.remapExit);
  const effects: RunEffect[] = [];
  if (why !== undefined) effects.push({ type: 'log', level: 'info', message: why });
  effects.push({ type: 'exit', code });
  return { state: { kind: 'exited', code }, effects };
}

// An explicit "nothing to do" branch, logged at debug level (s6's nop): nothing falls through silently.
function ignore(state: RunState, event: RunEvent): Transition {
  return { state, effects: [{ type: 'log', level: 'debug', message: `ignored ${event.type} while ${state.kind}` }] };
}
