// The life of one service as a pure transition function: its setup steps, its slots (current, replacement,
// retiring), generation, restart decisions, the rolling reload as a state, reload coalescing, and the verdicts of
// guards and watchdogs. A single command is a service with one slot that is never restarted; a pool has N slots.
// `serviceTransition` copies the state and edits the copy, so callers (and tests) see a pure function.
import type { ServiceSpec } from '../config/spec.js';
import type { SignalName } from '../config/signal-names.js';
import type { ExitStatus } from '../os/exit-status.js';
import type { ProcessRole, ReplaceReason, StopReason, TendEvent } from './events.js';
import { exitCodeFor, remapExitCode, statusText } from './exit-code.js';
import { judgeLiveness, type ProbeTally } from './liveness.js';
import { isLive, processTransition, startedProcess, type ProcessEvent, type ProcessPolicy, type ProcessState } from './process-machine.js';
import { nextRestart } from './restart-policy.js';

/** How long a queue worker (auto readiness, no sockets) must stay up to count as ready. */
export const AUTO_READY_AFTER_MS = 1_000;

export type ServicePhase = 'idle' | 'before' | 'starting' | 'running' | 'reloading' | 'stopping' | 'stopped' | 'done';

/** One process the service started, from the spawn request until it has exited. */
export interface ProcRecord {
  readonly id: number;
  readonly slot: number;
  readonly role: ProcessRole;
  readonly step: number;
  readonly generation: number;
  /** Null between the spawn request and the runner's answer. */
  state: ProcessState | null;
}

/** Desired vs observed per slot: which process serves it, which one is coming up, which ones are draining. */
export interface SlotState {
  readonly index: number;
  generation: number;
  current: number | null;
  replacement: number | null;
  replacing: 'reload' | 'unhealthy' | null;
  retiring: number[];
  /** Consecutive failed starts (the backoff's history). */
  failures: number;
  restartPending: boolean;
  /** The slot's process exited for good (restart never / on-failure after a clean exit). */
  ended: boolean;
  /** Scaled away: its processes are stopping and the slot disappears once they are gone. */
  removed: boolean;
}

/** A rolling reload in progress: slots waiting, slots in flight, and the first failure. */
export interface Rollout {
  readonly generation: number;
  readonly previous: number;
  pending: number[];
  active: number[];
  replaced: number;
  readonly total: number;
  readonly requests: number[];
  failure: string | null;
}

export interface ServiceState {
  phase: ServicePhase;
  generation: number;
  step: number;
  slots: SlotState[];
  procs: Record<number, ProcRecord>;
  nextProc: number;
  rollout: Rollout | null;
  /** Reload requests that arrived during a rollout: they share one more rollout after it. */
  queued: number[] | null;
  everReady: boolean;
  /** Set once the service has ended for good (it is then stopping or stopped). */
  ended: { readonly why: 'exited' | 'gave-up' | 'spawn-failed' | 'step-failed'; readonly code: number } | null;
  lastStatus: ExitStatus | null;
  /** A scale request in progress: done when slots below `target` are ready and those above are gone. */
  scaling: { readonly target: number; readonly requests: number[] } | null;
  /** Liveness: failed probes in a row per ready worker (absent = 0), and whether a shared failure holds replacements. */
  liveness: { failures: Record<number, number>; degraded: boolean };
}

/** One worker's answer in a round of liveness probes. */
export interface ProbeResult {
  readonly proc: number;
  readonly ok: boolean;
  /** What failed (timeout, status 500, exit code 1, ...); empty when ok. */
  readonly detail: string;
}

/** Where a readiness report came from; the service's ready mode decides which ones count. */
export type ReadySource = 'notify' | 'listen' | 'probe' | 'delay';

export type TimerRef =
  | { readonly kind: 'ready'; readonly proc: number }
  | { readonly kind: 'ready-delay'; readonly proc: number }
  | { readonly kind: 'stage'; readonly proc: number; readonly stage: number }
  | { readonly kind: 'hold-limit'; readonly proc: number }
  | { readonly kind: 'restart'; readonly slot: number };

export type ServiceEvent =
  | { readonly type: 'start' }
  | { readonly type: 'spawned'; readonly proc: number; readonly pid: number; readonly at: number }
  | { readonly type: 'spawn-failed'; readonly proc: number; readonly code: number; readonly message: string }
  | { readonly type: 'exited'; readonly proc: number; readonly status: ExitStatus; readonly at: number; readonly lingering: boolean; readonly random: number }
  | { readonly type: 'group-gone'; readonly proc: number; readonly at: number }
  | { readonly type: 'timer'; readonly timer: TimerRef; readonly at: number; readonly random: number }
  | { readonly type: 'ready-signal'; readonly proc: number; readonly source: ReadySource; readonly at: number }
  | { readonly type: 'extend'; readonly proc: number; readonly ms: number }
  /** The app holds (or releases) work its stop must wait for (X_TEND_HOLD= / X_TEND_RELEASE=). */
  | { readonly type: 'hold'; readonly proc: number; readonly name: string; readonly at: number }
  | { readonly type: 'release'; readonly proc: number; readonly name: string }
  | { readonly type: 'reload'; readonly request: number }
  | { readonly type: 'stop'; readonly signal: SignalName }
  | { readonly type: 'kill' }
  | { readonly type: 'forward'; readonly signal: SignalName; readonly slot?: number }
  | { readonly type: 'scale'; readonly workers: number; readonly request: number }
  | { readonly type: 'unhealthy'; readonly proc: number; readonly why: string; readonly reason: ReplaceReason }
  /** A round of liveness probes of the ready workers (the runner probes them together, so "at once" means something). */
  | { readonly type: 'liveness'; readonly results: readonly ProbeResult[] };

export type ServiceEffect =
  | {
      readonly type: 'spawn';
      readonly proc: number;
      readonly slot: number;
      readonly role: ProcessRole;
      readonly step: number;
      readonly generation: number;
      /** The service's current number of slots (TEND_WORKER_COUNT). */
      readonly workers: number;
    }
  | { readonly type: 'signal'; readonly proc: number; readonly pid: number; readonly signal: SignalName; readonly to: 'main' | 'group'; readonly cont: boolean }
  | { readonly type: 'arm'; readonly timer: TimerRef; readonly ms: number }
  | { readonly type: 'cancel'; readonly timer: TimerRef }
  | { readonly type: 'watch-group'; readonly proc: number; readonly pid: number }
  | { readonly type: 'probe'; readonly proc: number }
  /** The process is gone: close its channels and end every timer and watcher its lifetime owns. */
  | { readonly type: 'release'; readonly proc: number }
  | { readonly type: 'emit'; readonly event: TendEvent };

/** The service's settings, and whether it has listening sockets (auto readiness then waits for a listen). */
export interface ServicePolicy {
  readonly spec: ServiceSpec;
  readonly hasSockets: boolean;
  /** How long holds may postpone a worker's stop stages (core/stop-budget.ts holdLimitMs); absent = the stages' sum. */
  readonly holdLimitMs?: number;
}

export interface ServiceTransition {
  readonly state: ServiceState;
  readonly effects: readonly ServiceEffect[];
}

interface Draft {
  readonly p: ServicePolicy;
  readonly s: ServiceState;
  readonly fx: ServiceEffect[];
  readonly random: number;
}

// The state of a service before it has been started.
export function initialServiceState(spec: ServiceSpec): ServiceState {
  return {
    phase: 'idle',
    generation: 0,
    step: 0,
    slots: Array.from({ length: spec.workers }, (_, index) => ({
      index, generation: 0, current: null, replacement: null, replacing: null, retiring: [], failures: 0, restartPending: false, ended: false, removed: false,
    })),
    procs: {},
    nextProc: 0,
    rollout: null,
    queued: null,
    everReady: false,
    ended: null,
    lastStatus: null,
    scaling: null,
    liveness: { failures: {}, degraded: false },
  };
}

// Compute the next state and effects of one service for one event. Pure: no I/O, no clock, no randomness of its own.
export function serviceTransition(policy: ServicePolicy, state: ServiceState, event: ServiceEvent): ServiceTransition {
  const random = 'random' in event ? event.random : 0.5;
  const d: Draft = { p: policy, s: copyPlain(state), fx: [], random };
  switch (event.type) {
    case 'start': start(d); break;
    case 'spawned': onSpawned(d, event.proc, event.pid, event.at); break;
    case 'spawn-failed': onSpawnFailed(d, event.proc, event.code, event.message); break;
    case 'exited': feed(d, event.proc, { type: 'exited', status: event.status, at: event.at, lingering: event.lingering }); break;
    case 'group-gone': feed(d, event.proc, { type: 'group-gone', at: event.at }); break;
    case 'timer': onTimer(d, event.timer, event.at); break;
    case 'ready-signal': onReadySignal(d, event.proc, event.source, event.at); break;
    case 'extend': onExtend(d, event.proc, event.ms); break;
    case 'hold': onHold(d, event.proc, event.name, event.at, true); break;
    case 'release': onHold(d, event.proc, event.name, 0, false); break;
    case 'reload': onReload(d, event.request); break;
    case 'stop': onStop(d, event.signal); break;
    case 'kill': for (const id of liveIds(d)) feed(d, id, { type: 'kill' }); break;
    case 'forward': onForward(d, event.signal, event.slot); break;
    case 'scale': onScale(d, event.workers, event.request); break;
    case 'unhealthy': onUnhealthy(d, event.proc, event.why, event.reason); break;
    case 'liveness': onLiveness(d, event.results); break;
  }
  return { state: d.s, effects: d.fx };
}

// A deep copy of plain data (objects, arrays and primitives: all a service state holds), so a transition never
// touches the state it was given. structuredClone does the same through V8's serializer, and its first use in a
// process compiles Node's messaging code: most of a short run's cost of copying.
function copyPlain<T>(value: T): T {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map((item: unknown) => copyPlain(item)) as T;
  const copy: Record<string, unknown> = {};
  for (const key of Object.keys(value)) copy[key] = copyPlain((value as Record<string, unknown>)[key]);
  return copy as T;
}

// Ready workers and the desired count, for status lines and readiness.
export function readyCount(state: ServiceState): { ready: number; desired: number } {
  const active = activeSlots(state).filter((s) => !s.ended);
  const ready = active.filter((s) => s.current !== null && state.procs[s.current]?.state?.kind === 'ready').length;
  return { ready, desired: active.length };
}

// ---- start, steps and spawning ----

function start(d: Draft): void {
  if (d.s.phase !== 'idle') return;
  if (d.p.spec.before.length > 0) {
    d.s.phase = 'before';
    spawnProc(d, 0, 'step', 0, d.s.generation);
    return;
  }
  startWorkers(d);
}

function startWorkers(d: Draft): void {
  d.s.phase = 'starting';
  emit(d, { type: 'service-starting', service: d.p.spec.name, workers: d.s.slots.length });
  for (const slot of d.s.slots) slot.current = spawnProc(d, slot.index, 'worker', 0, slot.generation);
}

function spawnProc(d: Draft, slot: number, role: ProcessRole, step: number, generation: number): number {
  const id = d.s.nextProc++;
  d.s.procs[id] = { id, slot, role, step, generation, state: null };
  d.fx.push({ type: 'spawn', proc: id, slot, role, step, generation, workers: activeSlots(d.s).length });
  return id;
}

function onSpawned(d: Draft, id: number, pid: number, at: number): void {
  const rec = d.s.procs[id];
  if (rec === undefined || rec.state !== null) return;
  rec.state = startedProcess(pid, at);
  emit(d, { type: 'spawned', service: d.p.spec.name, slot: rec.slot, pid, generation: rec.generation, role: rec.role, step: rec.step });
  if (d.s.phase === 'stopping') {
    feed(d, id, { type: 'stop', reason: 'shutdown', signal: 'SIGTERM' });
    return;
  }
  // A reload replacement still unanswered when its rollout failed could not be aborted then (no pid yet): abort it now,
  // or it would come up and take its slot after the rollout had already given up.
  const slot = d.s.slots[rec.slot];
  if (slot?.replacement === id && slot.replacing === 'reload' && d.s.rollout?.failure != null) {
    feed(d, id, { type: 'stop', reason: 'aborted', signal: 'SIGTERM' });
    return;
  }
  if (rec.role === 'step' || d.p.spec.type === 'oneshot') return;
  const mode = d.p.spec.ready;
  d.fx.push({ type: 'arm', timer: { kind: 'ready', proc: id }, ms: d.p.spec.readyTimeoutMs });
  if (mode.kind === 'delay') d.fx.push({ type: 'arm', timer: { kind: 'ready-delay', proc: id }, ms: mode.ms });
  else if (mode.kind === 'auto' && !d.p.hasSockets) d.fx.push({ type: 'arm', timer: { kind: 'ready-delay', proc: id }, ms: AUTO_READY_AFTER_MS });
  else if (mode.kind === 'http' || mode.kind === 'tcp') d.fx.push({ type: 'probe', proc: id });
}

function onSpawnFailed(d: Draft, id: number, code: number, message: string): void {
  const rec = d.s.procs[id];
  if (rec === undefined) return;
  const { slot: index } = rec;
  forget(d, id);
  d.fx.push({ type: 'release', proc: id });
  emit(d, { type: 'spawn-failed', service: d.p.spec.name, slot: index, role: rec.role, code, message });
  const slot = d.s.slots[index];
  if (slot?.replacement === id) {
    replacementFailed(d, slot, `replacement for worker ${index} could not start: ${message}`);
  } else if (rec.role === 'step' || slot?.current === id) {
    // Not transient (not found, not executable, a limit or user that cannot be applied): retrying cannot help.
    if (slot !== undefined && slot.current === id) slot.current = null;
    endService(d, rec.role === 'step' ? 'step-failed' : 'spawn-failed', null, code);
  }
  settle(d);
}

// ---- the process machines ----

function processPolicy(d: Draft): ProcessPolicy {
  const policy = { stop: d.p.spec.stop, scope: d.p.spec.signalScope };
  return d.p.holdLimitMs === undefined ? policy : { ...policy, holdLimitMs: d.p.holdLimitMs };
}

function feed(d: Draft, id: number, event: ProcessEvent): void {
  const rec = d.s.procs[id];
  if (rec?.state == null) return;
  const t = processTransition(processPolicy(d), rec.state, event);
  rec.state = t.state;
  for (const effect of t.effects) {
    switch (effect.type) {
      case 'signal': {
        d.fx.push({ type: 'signal', proc: id, pid: t.state.pid, signal: effect.signal, to: effect.to, cont: effect.cont });
        emit(d, { type: 'signalled', service: d.p.spec.name, slot: rec.slot, pid: t.state.pid, signal: effect.signal, to: effect.to, why: effect.why });
        break;
      }
      case 'arm-stage':
        d.fx.push({ type: 'arm', timer: { kind: 'stage', proc: id, stage: effect.stage }, ms: effect.ms });
        break;
      case 'watch-group':
        d.fx.push({ type: 'watch-group', proc: id, pid: t.state.pid });
        break;
      case 'lingering':
        emit(d, { type: 'lingering', service: d.p.spec.name, slot: rec.slot, pid: t.state.pid });
        break;
      case 'became-ready':
        onReady(d, rec);
        break;
      case 'stage-held':
        emit(d, { type: 'stage-held', service: d.p.spec.name, slot: rec.slot, pid: t.state.pid, stage: effect.stage, holds: effect.holds, ms: effect.ms });
        break;
      case 'arm-hold-limit':
        d.fx.push({ type: 'arm', timer: { kind: 'hold-limit', proc: id }, ms: effect.ms });
        break;
    }
  }
  if (t.state.kind === 'stopping' || t.state.kind === 'exited') {
    d.fx.push({ type: 'cancel', timer: { kind: 'ready', proc: id } }, { type: 'cancel', timer: { kind: 'ready-delay', proc: id } });
  }
  if (t.state.kind === 'exited') onExited(d, rec, t.state);
}

function onTimer(d: Draft, timer: TimerRef, at: number): void {
  switch (timer.kind) {
    case 'ready': feed(d, timer.proc, { type: 'ready-timeout' }); return;
    case 'ready-delay': onReadySignal(d, timer.proc, 'delay', at); return;
    case 'stage': feed(d, timer.proc, { type: 'stage-timeout', stage: timer.stage, at }); return;
    case 'hold-limit': feed(d, timer.proc, { type: 'hold-limit' }); return;
    case 'restart': onRestartDue(d, timer.slot); return;
  }
}

function onReadySignal(d: Draft, id: number, source: ReadySource, at: number): void {
  const mode = d.p.spec.ready.kind;
  const counts =
    (source === 'notify' && (mode === 'auto' || mode === 'notify')) ||
    (source === 'listen' && (mode === 'auto' || mode === 'listen')) ||
    (source === 'probe' && (mode === 'http' || mode === 'tcp')) ||
    (source === 'delay' && (mode === 'delay' || mode === 'auto'));
  const rec = d.s.procs[id];
  if (!counts || rec === undefined || rec.role !== 'worker' || d.p.spec.type === 'oneshot') return;
  feed(d, id, { type: 'ready', at });
}

function onExtend(d: Draft, id: number, ms: number): void {
  const rec = d.s.procs[id];
  const state = rec?.state;
  if (rec === undefined || state == null) return;
  if (state.kind === 'starting' && rec.role === 'worker' && d.p.spec.type !== 'oneshot') {
    d.fx.push({ type: 'arm', timer: { kind: 'ready', proc: id }, ms });
    emit(d, { type: 'extended', service: d.p.spec.name, slot: rec.slot, pid: state.pid, deadline: 'ready', ms });
  } else if (state.kind === 'stopping') {
    d.fx.push({ type: 'arm', timer: { kind: 'stage', proc: id, stage: state.stage }, ms });
    emit(d, { type: 'extended', service: d.p.spec.name, slot: rec.slot, pid: state.pid, deadline: 'stop', ms });
  }
}

// A hold taken or released by the app: the process machine keeps the holds and decides what they postpone.
function onHold(d: Draft, id: number, name: string, at: number, taken: boolean): void {
  const rec = d.s.procs[id];
  const state = rec?.state;
  if (rec === undefined || state == null || state.kind === 'exited') return;
  feed(d, id, taken ? { type: 'hold', name, at } : { type: 'release', name });
  const holds = d.s.procs[id]?.state;
  const left = holds == null || holds.kind === 'exited' ? 0 : Object.keys(holds.holds ?? {}).length;
  emit(d, { type: taken ? 'held' : 'released', service: d.p.spec.name, slot: rec.slot, pid: state.pid, name, holds: left });
}

// ---- readiness ----

function onReady(d: Draft, rec: ProcRecord): void {
  const state = rec.state;
  if (state?.kind !== 'ready') return;
  emit(d, { type: 'ready', service: d.p.spec.name, slot: rec.slot, pid: state.pid, generation: rec.generation, afterMs: state.readyAt - state.startedAt });
  const slot = d.s.slots[rec.slot];
  if (slot === undefined) return;
  if (slot.replacement === rec.id) swapIn(d, slot, rec);
  if (slot.current === rec.id) slot.failures = 0;
  reportReadiness(d);
  settleScale(d);
}

// The replacement is ready: it takes the slot, and the old process drains with the stop sequence.
function swapIn(d: Draft, slot: SlotState, rec: ProcRecord): void {
  const old = slot.current;
  const kind = slot.replacing;
  slot.current = rec.id;
  slot.replacement = null;
  slot.replacing = null;
  slot.generation = rec.generation;
  if (old !== null) {
    slot.retiring.push(old);
    feed(d, old, { type: 'stop', reason: kind === 'reload' ? 'reload' : 'unhealthy', signal: 'SIGTERM' });
  }
  if (kind === 'reload' && slot.retiring.length === 0) slotReplaced(d, slot);
}

function allReady(d: Draft): boolean {
  const { ready, desired } = readyCount(d.s);
  return desired > 0 && ready === desired;
}

function reportReadiness(d: Draft): void {
  const { ready, desired } = readyCount(d.s);
  const facts = { service: d.p.spec.name, ready, desired, generation: d.s.generation };
  if (d.s.phase === 'starting' && allReady(d)) {
    d.s.phase = 'running';
    if (!d.s.everReady) {
      d.s.everReady = true;
      emit(d, { type: 'service-ready', ...facts });
      return;
    }
  }
  emit(d, { type: 'service-status', ...facts });
}

// ---- exits and restarts ----

function onExited(d: Draft, rec: ProcRecord, state: Extract<ProcessState, { kind: 'exited' }>): void {
  forget(d, rec.id);
  d.s.lastStatus = state.status ?? { code: null, signal: 9 };
  emit(d, {
    type: 'exited', service: d.p.spec.name, slot: rec.slot, pid: state.pid, role: rec.role, generation: rec.generation,
    status: state.status, reason: state.reason, uptimeMs: state.uptimeMs, wasReady: state.wasReady, forced: state.forced,
  });
  d.fx.push({ type: 'release', proc: rec.id });
  const slot = d.s.slots[rec.slot];
  if (rec.role === 'step') stepExited(d, state);
  else if (slot?.replacement === rec.id) replacementFailed(d, slot, replacementFailure(d, rec, state));
  else if (slot !== undefined && slot.retiring.includes(rec.id)) {
    slot.retiring = slot.retiring.filter((r) => r !== rec.id);
    if (d.s.rollout?.active.includes(slot.index) === true && slot.replacement === null && slot.retiring.length === 0) slotReplaced(d, slot);
  } else if (slot?.current === rec.id) {
    slot.current = null;
    currentExited(d, slot, state);
  }
  settleScale(d);
  settle(d);
}

function stepExited(d: Draft, state: Extract<ProcessState, { kind: 'exited' }>): void {
  if (d.s.phase !== 'before') return;
  const ok = state.status !== null && state.status.signal === null && state.status.code === 0;
  if (!ok) {
    endService(d, 'step-failed', state.status, state.status === null ? 137 : exitCodeFor(state.status));
    return;
  }
  d.s.step += 1;
  if (d.s.step < d.p.spec.before.length) spawnProc(d, 0, 'step', d.s.step, d.s.generation);
  else startWorkers(d);
}

function currentExited(d: Draft, slot: SlotState, state: Extract<ProcessState, { kind: 'exited' }>): void {
  if (d.s.phase === 'stopping' || d.s.phase === 'stopped' || d.s.phase === 'done') return;
  // A replacement under way takes the slot when it is ready; a slot scaled away is not refilled.
  if (slot.replacement !== null || slot.removed) return;
  const spec = d.p.spec;
  const clean = state.status !== null && state.status.signal === null && state.status.code === 0 && state.reason === null;
  if (spec.type === 'oneshot' && clean) {
    slot.ended = true;
    if (activeSlots(d.s).every((s) => s.ended)) {
      d.s.phase = 'done';
      emit(d, { type: 'service-done', service: spec.name });
    }
    return;
  }
  if (spec.restart === 'never' || (spec.restart === 'on-failure' && clean)) {
    slot.ended = true;
    if (activeSlots(d.s).every((s) => s.ended)) endService(d, 'exited', state.status, state.status === null ? 137 : exitCodeFor(state.status));
    else reportReadiness(d);
    return;
  }
  scheduleRestart(d, slot, state.wasReady ? Number.POSITIVE_INFINITY : state.uptimeMs);
}

// Backoff is for processes that fail to come up: one that was ready restarts at the shortest delay.
function scheduleRestart(d: Draft, slot: SlotState, uptimeMs: number): void {
  const decision = nextRestart(d.p.spec.backoff, { consecutiveFailures: slot.failures }, uptimeMs, d.random);
  slot.failures = decision.history.consecutiveFailures;
  if (decision.kind === 'give-up') {
    emit(d, { type: 'gave-up', service: d.p.spec.name, slot: slot.index, detail: `${decision.reason} (max-restarts ${d.p.spec.backoff.maxRestarts})` });
    endService(d, 'gave-up', d.s.lastStatus, 75);
    return;
  }
  slot.restartPending = true;
  d.fx.push({ type: 'arm', timer: { kind: 'restart', slot: slot.index }, ms: decision.delayMs });
  emit(d, { type: 'restart-scheduled', service: d.p.spec.name, slot: slot.index, delayMs: decision.delayMs, failures: slot.failures, crashLooping: decision.crashLooping });
  reportReadiness(d);
}

function onRestartDue(d: Draft, index: number): void {
  const slot = d.s.slots[index];
  if (slot === undefined || !slot.restartPending) return;
  slot.restartPending = false;
  if (!isUp(d) || slot.current !== null || slot.replacement !== null) return;
  slot.current = spawnProc(d, slot.index, 'worker', 0, slot.generation);
}

function isUp(d: Draft): boolean {
  return d.s.phase === 'starting' || d.s.phase === 'running' || d.s.phase === 'reloading';
}

// The service is over for good: say so at once (tend decides whether everything stops), and stop what is left.
function endService(d: Draft, why: NonNullable<ServiceState['ended']>['why'], status: ExitStatus | null, rawCode: number): void {
  if (d.s.ended !== null || d.s.phase === 'stopped') return;
  const code = why === 'gave-up' ? rawCode : remapExitCode(rawCode, d.p.spec.remapExit);
  d.s.ended = { why, code };
  emit(d, { type: 'service-ended', service: d.p.spec.name, why, status, code });
  beginStopping(d, 'SIGTERM');
}

// ---- replacement and the rolling reload ----

function replacementFailure(d: Draft, rec: ProcRecord, state: Extract<ProcessState, { kind: 'exited' }>): string {
  const who = `replacement for worker ${rec.slot} (pid ${state.pid})`;
  if (state.reason === 'not-ready') return `${who} was not ready within ${d.p.spec.readyTimeoutMs} ms`;
  if (state.reason !== null) return `${who} was stopped (${state.reason})`;
  return `${who} exited with ${statusText(state.status)} before it was ready`;
}

function replacementFailed(d: Draft, slot: SlotState, detail: string): void {
  const kind = slot.replacing;
  slot.replacement = null;
  slot.replacing = null;
  const rollout = d.s.rollout;
  if (kind === 'reload' && rollout !== null) {
    if (rollout.failure === null) {
      rollout.failure = detail;
      rollout.pending = [];
      // Abort the other replacements still coming up; their slots keep their old workers.
      for (const other of d.s.slots) {
        if (other.replacing === 'reload' && other.replacement !== null) feed(d, other.replacement, { type: 'stop', reason: 'aborted', signal: 'SIGTERM' });
      }
    }
    rollout.active = rollout.active.filter((i) => i !== slot.index);
    if (rollout.active.length === 0) finishRollout(d);
  } else if (kind === 'unhealthy') {
    emit(d, { type: 'replace-failed', service: d.p.spec.name, slot: slot.index, detail });
  }
  // The old worker died while its replacement was coming up: the slot needs a worker of its own again.
  if (slot.current === null && !slot.restartPending && isUp(d)) scheduleRestart(d, slot, 0);
}

function onReload(d: Draft, request: number): void {
  const name = d.p.spec.name;
  if (!isUp(d)) {
    emit(d, { type: 'reload-finished', service: name, generation: d.s.generation, ok: false, detail: `service ${name} is ${d.s.phase}`, requests: [request] });
    return;
  }
  if (d.s.rollout !== null) {
    d.s.queued = [...(d.s.queued ?? []), request];
    emit(d, { type: 'reload-coalesced', service: name, request });
    return;
  }
  startRollout(d, [request]);
}

function startRollout(d: Draft, requests: number[]): void {
  const previous = d.s.generation;
  d.s.generation += 1;
  const slots = activeSlots(d.s).filter((s) => !s.ended).map((s) => s.index);
  d.s.rollout = { generation: d.s.generation, previous, pending: slots, active: [], replaced: 0, total: slots.length, requests, failure: null };
  d.s.phase = 'reloading';
  emit(d, { type: 'reload-started', service: d.p.spec.name, generation: d.s.generation, workers: slots.length, surge: d.p.spec.reloadSurge });
  advanceRollout(d);
}

function advanceRollout(d: Draft): void {
  const rollout = d.s.rollout;
  if (rollout === null) return;
  while (rollout.failure === null && rollout.active.length < d.p.spec.reloadSurge && rollout.pending.length > 0) {
    const index = rollout.pending.shift() ?? 0;
    const slot = d.s.slots[index];
    if (slot === undefined || slot.replacement !== null) {
      // A guard's replacement is already coming up for this slot: it counts as this slot's new worker.
      rollout.replaced += 1;
      continue;
    }
    if (slot.restartPending) {
      slot.restartPending = false;
      d.fx.push({ type: 'cancel', timer: { kind: 'restart', slot: index } });
    }
    rollout.active.push(index);
    slot.replacing = 'reload';
    slot.replacement = spawnProc(d, index, 'worker', 0, rollout.generation);
  }
  if (rollout.active.length === 0) finishRollout(d);
}

function slotReplaced(d: Draft, slot: SlotState): void {
  const rollout = d.s.rollout;
  if (rollout === null) return;
  rollout.active = rollout.active.filter((i) => i !== slot.index);
  rollout.replaced += 1;
  advanceRollout(d);
}

function finishRollout(d: Draft): void {
  const rollout = d.s.rollout;
  if (rollout === null) return;
  d.s.rollout = null;
  const ok = rollout.failure === null;
  const kept = rollout.total - rollout.replaced;
  const detail = ok
    ? `${rollout.replaced} of ${rollout.total} replaced`
    : `${rollout.failure ?? ''} (${rollout.replaced} of ${rollout.total} replaced, ${kept} old worker(s) kept)`;
  // A failed reload leaves the service on the generation that was serving; restarts keep using it.
  if (!ok) d.s.generation = rollout.previous;
  if (d.s.phase === 'reloading') d.s.phase = d.s.everReady ? 'running' : 'starting';
  emit(d, { type: 'reload-finished', service: d.p.spec.name, generation: d.s.generation, ok, detail, requests: rollout.requests });
  // A reload that ran while the service was still booting ends the boot too.
  if (d.s.phase === 'starting') reportReadiness(d);
  const queued = d.s.queued;
  d.s.queued = null;
  if (queued !== null && isUp(d)) startRollout(d, queued);
}

function onUnhealthy(d: Draft, id: number, why: string, reason: ReplaceReason): void {
  const rec = d.s.procs[id];
  const slot = rec === undefined ? undefined : d.s.slots[rec.slot];
  if (rec?.state?.kind !== 'ready' || slot === undefined || slot.current !== id || slot.replacement !== null || d.s.phase !== 'running') return;
  emit(d, { type: 'replacing', service: d.p.spec.name, slot: slot.index, pid: rec.state.pid, why, reason });
  slot.replacing = 'unhealthy';
  slot.replacement = spawnProc(d, slot.index, 'worker', 0, slot.generation);
}

// ---- liveness ----

// Count a round (a success resets a worker's count), judge it (core/liveness.ts), say what changed, and replace at most
// one worker, as a guard would, and only when no other slot is being replaced: one slot at a time.
function onLiveness(d: Draft, results: readonly ProbeResult[]): void {
  const policy = d.p.spec.liveness;
  if (policy?.probe == null || !isUp(d)) return;
  const name = d.p.spec.name;
  const failed = tallyRound(d, results);
  const ready: ProbeTally[] = readyCurrent(d).map((proc) => ({ proc, failures: d.s.liveness.failures[proc] ?? 0 }));
  d.s.liveness.failures = Object.fromEntries(ready.filter((t) => t.failures > 0).map((t) => [t.proc, t.failures]));
  const verdict = judgeLiveness(ready, policy.failures, d.s.liveness.degraded);
  d.s.liveness.degraded = verdict.degraded;
  for (const f of failed) {
    emit(d, { type: 'probe-failed', service: name, slot: f.slot, pid: f.pid, failures: f.failures, threshold: policy.failures, detail: f.detail, degraded: verdict.degraded });
  }
  if (verdict.change === 'degraded') emit(d, { type: 'liveness-degraded', service: name, failing: ready.filter((t) => t.failures >= policy.failures).length, ready: ready.length });
  else if (verdict.change === 'cleared') emit(d, { type: 'liveness-cleared', service: name });
  // A shared outage that begins mid-round reaches the threshold in different rounds for different workers: hold every
  // replacement while half or more of the ready workers are failing now, below the threshold or not.
  const onset = judgeLiveness(ready.map((t) => ({ proc: t.proc, failures: t.failures > 0 ? policy.failures : 0 })), policy.failures, false);
  const next = verdict.replace[0];
  if (next === undefined || onset.degraded || d.s.slots.some((s) => s.replacement !== null)) return;
  const last = failed.find((f) => f.proc === next)?.detail ?? 'failed';
  onUnhealthy(d, next, `liveness probe failed ${d.s.liveness.failures[next] ?? 0} times in a row (last: ${last})`, 'liveness');
}

// Count one round into the tally of the ready workers serving their slots (a success resets the count); the failures.
function tallyRound(d: Draft, results: readonly ProbeResult[]): { proc: number; slot: number; pid: number; failures: number; detail: string }[] {
  const tally = d.s.liveness.failures;
  const failed: { proc: number; slot: number; pid: number; failures: number; detail: string }[] = [];
  for (const r of results) {
    const rec = d.s.procs[r.proc];
    if (rec?.state?.kind !== 'ready' || d.s.slots[rec.slot]?.current !== r.proc) continue;
    const before = tally[r.proc] ?? 0;
    if (r.ok && before > 0) emit(d, { type: 'probe-recovered', service: d.p.spec.name, slot: rec.slot, pid: rec.state.pid, failures: before });
    tally[r.proc] = r.ok ? 0 : before + 1;
    if (!r.ok) failed.push({ proc: r.proc, slot: rec.slot, pid: rec.state.pid, failures: before + 1, detail: r.detail });
  }
  return failed;
}

// The ready process serving each slot that is not scaled away.
function readyCurrent(d: Draft): number[] {
  return activeSlots(d.s).flatMap((s) => (s.current !== null && d.s.procs[s.current]?.state?.kind === 'ready' ? [s.current] : []));
}

// ---- scale ----

function activeSlots(state: ServiceState): SlotState[] {
  return state.slots.filter((s) => !s.removed);
}

// Grow by starting new slots (ready under the usual ready timeout) or shrink by stopping the highest slots with the
// full stop sequence, in parallel; the request is answered once the service has its new shape.
function onScale(d: Draft, workers: number, request: number): void {
  const name = d.p.spec.name;
  if (!isUp(d) || d.s.rollout !== null) {
    emit(d, { type: 'scale-finished', service: name, workers: activeSlots(d.s).length, ok: false, detail: `service ${name} is ${d.s.rollout === null ? d.s.phase : 'reloading'}`, requests: [request] });
    return;
  }
  const requests = [...(d.s.scaling?.requests ?? []), request];
  d.s.scaling = { target: workers, requests };
  emit(d, { type: 'scale-started', service: name, from: activeSlots(d.s).length, to: workers });
  for (let index = 0; index < Math.max(workers, d.s.slots.length); index++) {
    const slot = d.s.slots[index];
    if (index < workers) {
      if (slot === undefined) {
        d.s.slots.push({ index, generation: d.s.generation, current: null, replacement: null, replacing: null, retiring: [], failures: 0, restartPending: false, ended: false, removed: false });
        const fresh = d.s.slots[index];
        if (fresh !== undefined) fresh.current = spawnProc(d, index, 'worker', 0, d.s.generation);
      } else if (slot.removed) {
        slot.removed = false;
        if (slot.current === null && slot.replacement === null) slot.current = spawnProc(d, index, 'worker', 0, slot.generation);
      }
    } else if (slot !== undefined && !slot.removed) {
      removeSlot(d, slot);
    }
  }
  settleScale(d);
}

function removeSlot(d: Draft, slot: SlotState): void {
  slot.removed = true;
  if (slot.restartPending) {
    slot.restartPending = false;
    d.fx.push({ type: 'cancel', timer: { kind: 'restart', slot: slot.index } });
  }
  for (const id of [slot.current, slot.replacement, ...slot.retiring]) {
    if (id !== null) feed(d, id, { type: 'stop', reason: 'scale', signal: 'SIGTERM' });
  }
}

function settleScale(d: Draft): void {
  const scaling = d.s.scaling;
  if (scaling === null) return;
  const upReady = d.s.slots.slice(0, scaling.target).every((s) => s.current !== null && d.s.procs[s.current]?.state?.kind === 'ready');
  const gone = d.s.slots.slice(scaling.target).every((s) => s.current === null && s.replacement === null && s.retiring.length === 0);
  if (!upReady || !gone) return;
  d.s.slots = d.s.slots.slice(0, scaling.target);
  d.s.scaling = null;
  emit(d, { type: 'scale-finished', service: d.p.spec.name, workers: scaling.target, ok: true, detail: `${scaling.target} worker(s) ready`, requests: scaling.requests });
  reportReadiness(d);
}

// ---- stop and signals ----

function onStop(d: Draft, signal: SignalName): void {
  if (d.s.phase === 'idle' || d.s.phase === 'done') {
    d.s.phase = 'stopped';
    emit(d, { type: 'service-stopped', service: d.p.spec.name, status: d.s.lastStatus, code: 0 });
    return;
  }
  beginStopping(d, signal);
}

function beginStopping(d: Draft, signal: SignalName): void {
  if (d.s.phase === 'stopping' || d.s.phase === 'stopped') return;
  d.s.phase = 'stopping';
  for (const slot of d.s.slots) {
    if (!slot.restartPending) continue;
    slot.restartPending = false;
    d.fx.push({ type: 'cancel', timer: { kind: 'restart', slot: slot.index } });
  }
  const rollout = d.s.rollout;
  if (rollout !== null) {
    d.s.rollout = null;
    const requests = [...rollout.requests, ...(d.s.queued ?? [])];
    d.s.queued = null;
    emit(d, { type: 'reload-finished', service: d.p.spec.name, generation: rollout.previous, ok: false, detail: 'the service is stopping', requests });
  }
  const reason: StopReason = 'shutdown';
  for (const id of liveIds(d)) feed(d, id, { type: 'stop', reason, signal });
  settle(d);
}

function onForward(d: Draft, signal: SignalName, slot: number | undefined): void {
  for (const id of liveIds(d)) {
    const rec = d.s.procs[id];
    const state = rec?.state;
    if (rec === undefined || state == null || (slot !== undefined && rec.slot !== slot)) continue;
    const mainGone = state.kind === 'stopping' && state.status !== null;
    const to = d.p.spec.signalScope === 'child' && !mainGone ? 'main' : 'group';
    d.fx.push({ type: 'signal', proc: id, pid: state.pid, signal, to, cont: false });
    emit(d, { type: 'signalled', service: d.p.spec.name, slot: rec.slot, pid: state.pid, signal, to, why: 'forward' });
  }
}

// A stopping service whose processes are all gone has stopped.
function settle(d: Draft): void {
  if (d.s.phase !== 'stopping' || Object.keys(d.s.procs).length > 0) return;
  d.s.phase = 'stopped';
  const status = d.s.lastStatus;
  const code = d.s.ended?.code ?? (status === null ? 0 : remapExitCode(exitCodeFor(status), d.p.spec.remapExit));
  emit(d, { type: 'service-stopped', service: d.p.spec.name, status, code });
}

function forget(d: Draft, id: number): void {
  d.s.procs = Object.fromEntries(Object.entries(d.s.procs).filter(([key]) => Number(key) !== id));
}

function liveIds(d: Draft): number[] {
  return Object.values(d.s.procs).filter((r) => r.state !== null && isLive(r.state)).map((r) => r.id);
}

function emit(d: Draft, event: TendEvent): void {
  d.fx.push({ type: 'emit', event });
}
