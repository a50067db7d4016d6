// The whole of one tend as a pure transition function over its services: start each service once its dependencies
// are ready (a oneshot: exited 0), route signals, stop in reverse dependency order under one deadline when asked to or
// when a service that may not die ends, stop what orphans are left, and exit with the documented code. With a stop
// delay, a stop signal first fails readiness for the delay (phase 'delaying') while every worker keeps serving.
import type { ServiceSpec } from '../config/spec.js';
import type { SignalName } from '../config/signal-names.js';
import type { TendEvent } from './events.js';
import { DEADLINE_MARGIN_MS, holdLimitMs, isPlain, stopChainMs } from './stop-budget.js';

/** Where a service stands, seen from above. */
export type ServiceStanding = 'waiting' | 'started' | 'ready' | 'done' | 'ended' | 'stopping' | 'stopped';

export interface TendState {
  readonly phase: 'running' | 'delaying' | 'stopping' | 'orphans' | 'exited';
  readonly services: Readonly<Record<string, ServiceStanding>>;
  /** The code tend exits with, once it is decided (a service that ended it, or a signal's stop). */
  readonly code: number | null;
  readonly stopSignal: SignalName | null;
  readonly allReadyReported: boolean;
  /** The single command's own status code, passed through when a signal stopped it (tini's behaviour). */
  readonly passCode: number | null;
}

export type TendMachineEvent =
  | { readonly type: 'begin' }
  | { readonly type: 'signal'; readonly signal: SignalName }
  | { readonly type: 'reload'; readonly service: string | null; readonly request: number }
  /** A fact from a service machine's event stream. */
  | { readonly type: 'service'; readonly event: TendEvent }
  | { readonly type: 'deadline' }
  /** The stop delay (`--stop-delay`) has passed. */
  | { readonly type: 'delay-over' }
  | { readonly type: 'orphans-gone' };

export type TendEffect =
  | { readonly type: 'start'; readonly service: string }
  | { readonly type: 'stop'; readonly service: string; readonly signal: SignalName }
  | { readonly type: 'reload'; readonly service: string; readonly request: number }
  | { readonly type: 'forward'; readonly service: string; readonly signal: SignalName }
  | { readonly type: 'kill'; readonly service: string }
  | { readonly type: 'arm-deadline'; readonly ms: number }
  | { readonly type: 'arm-delay'; readonly ms: number }
  | { readonly type: 'stop-orphans' }
  | { readonly type: 'exit'; readonly code: number }
  | { readonly type: 'emit'; readonly event: TendEvent };

export interface TendPolicy {
  readonly services: readonly ServiceSpec[];
  /** `--stop-delay`: how long a stop signal keeps the workers serving (readiness failing) first; absent = 0. */
  readonly stopDelayMs?: number;
  /** `--grace`: the budget the whole stop must fit in; absent or null = none. */
  readonly graceMs?: number | null;
}

export interface TendTransition {
  readonly state: TendState;
  readonly effects: readonly TendEffect[];
}

/** Signals from outside that stop tend; every other signal is forwarded (HUP reloads pools). */
export const STOP_SIGNALS: ReadonlySet<SignalName> = new Set(['SIGTERM', 'SIGINT']);

export { DEADLINE_MARGIN_MS };

// The state before anything has started.
export function initialTendState(policy: TendPolicy): TendState {
  return {
    phase: 'running',
    services: Object.fromEntries(policy.services.map((s) => [s.name, 'waiting' as const])),
    code: null,
    stopSignal: null,
    allReadyReported: false,
    passCode: null,
  };
}

// Compute tend's next state and effects for one event. Pure.
export function tendTransition(policy: TendPolicy, state: TendState, event: TendMachineEvent): TendTransition {
  const fx: TendEffect[] = [];
  let next = state;
  switch (event.type) {
    case 'begin':
      next = startReady(policy, state, fx);
      break;
    case 'signal':
      next = onSignal(policy, state, event.signal, fx);
      break;
    case 'reload':
      onReload(policy, event.service, event.request, fx);
      break;
    case 'service':
      next = onServiceEvent(policy, state, event.event, fx);
      break;
    case 'deadline':
      if (state.phase === 'stopping') for (const s of policy.services) if (isActive(state.services[s.name])) fx.push({ type: 'kill', service: s.name });
      break;
    case 'delay-over':
      if (state.phase === 'delaying') next = beginStop(policy, state, state.stopSignal ?? 'SIGTERM', null, `received ${state.stopSignal ?? 'SIGTERM'} (after the stop delay)`, fx);
      break;
    case 'orphans-gone':
      if (state.phase === 'orphans') next = exitNow(state, fx);
      break;
  }
  return { state: next, effects: fx };
}

function onSignal(policy: TendPolicy, state: TendState, signal: SignalName, fx: TendEffect[]): TendState {
  if (state.phase === 'exited') return state;
  if (STOP_SIGNALS.has(signal) && state.phase === 'running' && (policy.stopDelayMs ?? 0) > 0) return beginDelay(policy, state, signal, fx);
  // A second stop signal during the delay skips the rest of it.
  if (STOP_SIGNALS.has(signal) && (state.phase === 'running' || state.phase === 'delaying')) {
    return beginStop(policy, state, signal, null, state.phase === 'delaying' ? `received ${signal} again (stop delay skipped)` : `received ${signal}`, fx);
  }
  for (const spec of policy.services) {
    if (!isActive(state.services[spec.name])) continue;
    // HUP rolls a pool (a rolling reload) and is forwarded to everything else, as tini would.
    if (signal === 'SIGHUP' && spec.pool && (state.phase === 'running' || state.phase === 'delaying')) fx.push({ type: 'reload', service: spec.name, request: -1 });
    else fx.push({ type: 'forward', service: spec.name, signal });
  }
  return state;
}

// The services a reload request names: one by name, or every pool.
export function reloadTargets(policy: TendPolicy, service: string | null): readonly ServiceSpec[] {
  return policy.services.filter((s) => (service === null ? s.pool : s.name === service));
}

function onReload(policy: TendPolicy, service: string | null, request: number, fx: TendEffect[]): void {
  const targets = reloadTargets(policy, service);
  for (const spec of targets) fx.push({ type: 'reload', service: spec.name, request });
  if (targets.length === 0) {
    const detail = service === null ? 'no pool to reload (give --workers or workers:)' : `no service named ${JSON.stringify(service)}`;
    fx.push({ type: 'emit', event: { type: 'reload-finished', service: service ?? '', generation: 0, ok: false, detail, requests: [request] } });
  }
}

function onServiceEvent(policy: TendPolicy, state: TendState, event: TendEvent, fx: TendEffect[]): TendState {
  if (event.type === 'service-ready') return startReady(policy, withStanding(state, event.service, 'ready'), fx);
  if (event.type === 'service-done') return startReady(policy, withStanding(state, event.service, 'done'), fx);
  if (event.type === 'service-ended') {
    const next = withStanding(state, event.service, 'ended');
    const spec = policy.services.find((s) => s.name === event.service);
    if (spec?.canDie === true && !nothingLeft(policy, next)) return next;
    const why = `service ${event.service} ${event.why === 'gave-up' ? 'gave up' : 'ended'} (exit code ${event.code})`;
    return beginStop(policy, next, 'SIGTERM', next.code ?? event.code, why, fx);
  }
  if (event.type === 'service-stopped') {
    const single = policy.services.length === 1 && policy.services[0]?.pool === false;
    const next: TendState = { ...withStanding(state, event.service, 'stopped'), passCode: single ? event.code : state.passCode };
    return next.phase === 'stopping' ? stopNext(policy, next, fx) : next;
  }
  return state;
}

// Start every waiting service whose dependencies are satisfied; report once when every long-running one is ready.
function startReady(policy: TendPolicy, state: TendState, fx: TendEffect[]): TendState {
  if (state.phase !== 'running') return state;
  let next = state;
  for (const spec of policy.services) {
    if (next.services[spec.name] !== 'waiting') continue;
    const satisfied = spec.dependsOn.every((dep) => next.services[dep] === 'ready' || next.services[dep] === 'done');
    if (!satisfied) continue;
    next = withStanding(next, spec.name, 'started');
    fx.push({ type: 'start', service: spec.name });
  }
  const longRunning = policy.services.filter((s) => s.type !== 'oneshot');
  if (!next.allReadyReported && longRunning.every((s) => next.services[s.name] === 'ready')) {
    next = { ...next, allReadyReported: true };
    fx.push({ type: 'emit', event: { type: 'all-ready' } });
  }
  return next;
}

// Readiness fails from now on (the 'stop-delayed' event) while the workers keep serving; the stop begins after the delay.
function beginDelay(policy: TendPolicy, state: TendState, signal: SignalName, fx: TendEffect[]): TendState {
  const delayMs = policy.stopDelayMs ?? 0;
  fx.push({ type: 'emit', event: { type: 'stop-delayed', signal, delayMs } });
  fx.push({ type: 'arm-delay', ms: delayMs });
  return { ...state, phase: 'delaying', stopSignal: signal };
}

function beginStop(policy: TendPolicy, state: TendState, signal: SignalName, code: number | null, why: string, fx: TendEffect[]): TendState {
  if (state.phase !== 'running' && state.phase !== 'delaying') return state;
  // Never past the budget: what the delay may have used of --grace is not available to the stop.
  const budget = policy.graceMs === undefined || policy.graceMs === null ? Infinity : policy.graceMs - (state.phase === 'delaying' ? policy.stopDelayMs ?? 0 : 0);
  // Holds may postpone stages up to their limit (all of the budget with --grace): the deadline leaves them that time.
  const held = Math.max(0, ...policy.services.map((s) => holdLimitMs(s, policy.graceMs ?? null, policy.stopDelayMs ?? 0, isPlain(policy.services)))) + DEADLINE_MARGIN_MS;
  const deadlineMs = Math.max(0, Math.min(Math.max(stopDeadlineMs(policy), held), budget));
  fx.push({ type: 'emit', event: { type: 'stopping', signal: code === null ? signal : null, deadlineMs, why } });
  fx.push({ type: 'arm-deadline', ms: deadlineMs });
  return stopNext(policy, { ...state, phase: 'stopping', code, stopSignal: signal }, fx);
}

// Stop every active service that nothing active depends on (s6-rc's rule); finish once all have stopped.
function stopNext(policy: TendPolicy, state: TendState, fx: TendEffect[]): TendState {
  let next = state;
  for (const spec of policy.services) {
    const standing = next.services[spec.name];
    if (standing === 'waiting') {
      next = withStanding(next, spec.name, 'stopped');
      continue;
    }
    if (!isActive(standing) || standing === 'stopping' || standing === 'ended') continue;
    const dependents = policy.services.filter((s) => s.dependsOn.includes(spec.name) && isActive(next.services[s.name]));
    if (dependents.length > 0) continue;
    next = withStanding(next, spec.name, 'stopping');
    fx.push({ type: 'stop', service: spec.name, signal: next.stopSignal ?? 'SIGTERM' });
  }
  if (policy.services.every((s) => !isActive(next.services[s.name]))) {
    fx.push({ type: 'stop-orphans' });
    return { ...next, phase: 'orphans' };
  }
  return next;
}

function exitNow(state: TendState, fx: TendEffect[]): TendState {
  const code = state.code ?? state.passCode ?? 0;
  fx.push({ type: 'exit', code });
  return { ...state, phase: 'exited', code };
}

// Services whose processes may still run: started, ready, done-but-not-stopped do not count; ended ones are stopping.
function isActive(standing: ServiceStanding | undefined): boolean {
  return standing === 'started' || standing === 'ready' || standing === 'stopping' || standing === 'ended';
}

function nothingLeft(policy: TendPolicy, state: TendState): boolean {
  return policy.services.every((s) => {
    const standing = state.services[s.name];
    return standing === 'ended' || standing === 'done' || standing === 'stopped';
  });
}

function withStanding(state: TendState, service: string, standing: ServiceStanding): TendState {
  const current = state.services[service];
  // An ended service stays ended until its processes are gone; a stopped one stays stopped. A stopping one only ends or
  // stops: a service-ready queued before tend's stop reached the service must not make it "ready" (and stoppable) again.
  if (current === 'stopped' || (current === 'ended' && standing !== 'stopped')) return state;
  if (current === 'stopping' && standing !== 'ended' && standing !== 'stopped') return state;
  return { ...state, services: { ...state.services, [service]: standing } };
}

// One deadline for the whole stop: the longest chain of dependent stop sequences (each first stage at least the drain
// spread), plus KILL's grace.
export function stopDeadlineMs(policy: TendPolicy): number {
  const total = new Map<string, number>();
  const plain = isPlain(policy.services);
  const stopOf = (spec: ServiceSpec): number => stopChainMs(spec, plain);
  const chain = (spec: ServiceSpec, seen: ReadonlySet<string>): number => {
    const known = total.get(spec.name);
    if (known !== undefined) return known;
    // Services stop after their dependents: the chain is this service plus the longest chain of its dependents.
    const dependents = policy.services.filter((s) => s.dependsOn.includes(spec.name) && !seen.has(s.name));
    const longest = Math.max(0, ...dependents.map((s) => chain(s, new Set([...seen, spec.name]))));
    const value = stopOf(spec) + longest;
    total.set(spec.name, value);
    return value;
  };
  return Math.max(0, ...policy.services.map((s) => chain(s, new Set()))) + DEADLINE_MARGIN_MS;
}
