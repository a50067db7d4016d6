// The one runner: it executes the effects of the pure machines (core/) for every shape — a single command, a pool,
// several services — and turns what the kernel reports (reaped pids, signals, timers, notifications) back into
// machine events. It holds only processes, fds and timers; every decision is in core/. Its one output is the typed
// event stream (`subscribe`), which the log, systemd, the control socket and the tests read.
import { existsSync } from 'node:fs';
import { basename } from 'node:path';
import type { ServiceSpec, TendSpec } from '../config/spec.js';
import type { SignalName } from '../config/signal-names.js';
import type { EventSink, TendEvent } from '../core/events.js';
import { initialServiceState, serviceTransition, type ServiceEvent, type ServiceEffect, type ServicePolicy, type ServiceState, type TimerRef } from '../core/service-machine.js';
import { holdLimitMs } from '../core/stop-budget.js';
import { initialTendState, reloadTargets, tendTransition, type TendEffect, type TendMachineEvent, type TendState } from '../core/tend-machine.js';
import { TendError } from '../errors.js';
import { closeListenSockets, openListenSockets, removeSocketFile, reopenReusePort, type OpenSocket } from '../os/listen-sockets.js';
import { native } from '../os/native.js';
import { openNotifyChannel, removeTendRuntimeDir, type NotifyChannel } from '../os/notify-channel.js';
import { pumpOutput, stdioSink } from '../os/output.js';
import { LineRing } from '../output/line-ring.js';
import type { LogPrefix } from '../output/format.js';
import { isGroupAlive, sendSignal } from '../os/process-tree.js';
import { startReaper, type Reaped, type Reaper } from '../os/reaper.js';
import { inheritedLimitChanges, limitsForChild, type RlimitEntry } from '../os/rlimits.js';
import type { SignalIntake } from '../os/signals.js';
import { spawnProcess } from '../os/spawn.js';
import { reclaimTerminal, terminalToHandOver } from '../os/terminal.js';
import { resolveCredentials, type Credentials } from '../os/users.js';
import { preloadPath } from '../preload/path.js';
import contract from '../contract/env.cjs';
import type { NotifyMessage } from '../protocol/sd-notify.js';
import { inheritedSockets } from '../systemd/socket-activation.js';
import { relayToSystemd } from '../systemd/relay.js';
import { startGuards } from './guard-sampler.js';
import { probeSocketPath, removeProbeSocket, startLiveness } from './liveness.js';
import { openIpcChannel, type IpcChannel } from './ipc-channel.js';
import { Lifetime } from './lifetime.js';
import { answerSocketRequest, OnDemandSockets } from './on-demand.js';
import { stopOrphans } from './orphans.js';
import { startProbe } from './probes.js';
import { spawnRequest } from './spawn-request.js';
import { snapshot, type TendStatus } from './status.js';
import { clampTimerMs, Timers } from './timers.js';

/** What the runner needs from outside. */
export interface RunnerDeps {
  readonly signals: SignalIntake;
  /** tend's environment: what the children get of it and what tend reads of it. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** `env` is process.env itself (the CLI's case): each child inherits it through the addon instead of a copy. */
  readonly inheritEnv?: boolean;
}

/** A running tend, for the CLI, the control socket and in-process tests. */
export interface TendHandle {
  readonly done: Promise<number>;
  subscribe(sink: EventSink): () => void;
  /** Reload one service, or every pool; resolves with each targeted service's outcome. */
  reload(service: string | null): Promise<{ ok: boolean; detail: string }>;
  /** Change a service's number of workers; resolves once the new slots are ready and the removed ones are gone. */
  scale(service: string | null, workers: number | { readonly delta: number }): Promise<{ ok: boolean; detail: string }>;
  /** Deliver a signal to every process of a service (or of every service), or to one slot. */
  signal(service: string | null, signal: SignalName, slot: number | null): { ok: boolean; detail: string };
  /** The normal stop, as on SIGTERM. */
  stop(): void;
  status(): TendStatus;
  /** The private probe socket of each ready worker that has one (--metrics-workers scrapes through it). */
  probeSockets(): { service: string; slot: number; socket: string }[];
  /** The output rings of the live processes of a service (or of every service), optionally one slot: `tend logs`. */
  rings(service: string | null, slot: number | null): { service: string; slot: number; pid: number | null; ring: LineRing }[];
}

/** Runtime facts about one process the machines asked for. */
export interface ProcRuntime {
  readonly id: number;
  readonly service: string;
  readonly slot: number;
  pid: number | null;
  /** Owns its timers, probes and group watch; ended when the process is released. */
  readonly lifetime: Lifetime;
  notify: NotifyChannel | null;
  /** The Node IPC channel of a Node worker (process.send, sockets on demand). */
  ipc: IpcChannel | null;
  /** The recent lines it wrote (crash reports, `tend logs`); null for a single command, which writes to tend's stdio. */
  readonly ring: LineRing | null;
  lastPingAt: number;
  statusText: string | null;
  /** The stop stage the worker was last told about (a stop notice), -1 before its stop. */
  noticeStage: number;
  startedAt: number;
  /** Where its preload serves liveness probes (TEND_PROBE_SOCKET), or null. */
  probeSocket: string | null;
  /** It reported listening on the service's address (so its preload has opened the private probe socket). */
  listened: boolean;
}

/** One service's runtime: its machine state and the OS resources the runner holds for it. */
export interface ServiceRuntime {
  readonly spec: ServiceSpec;
  readonly policy: ServicePolicy;
  state: ServiceState;
  /** Per slot with --socket-strategy reuseport (else one list); a slot waiting to restart has its TCP copies closed. */
  readonly sockets: OpenSocket[][];
  readonly idleSlots: Set<number>;
  readonly socketsFromSystemd: boolean;
  readonly credentials: Credentials | null;
  readonly rlimits: readonly RlimitEntry[];
  readonly procs: Map<number, ProcRuntime>;
  /** Owns its restart timers, guard sampler and liveness rounds; a child of tend's, ended with it. */
  readonly lifetime: Lifetime;
  lastReload: { readonly ok: boolean; readonly at: string; readonly detail: string } | null;
}

/** Lines of a crashed worker's output shown in its crash report. */
const CRASH_REPORT_LINES = 10;
const GROUP_POLL_MS = 100;
/** How long tend waits at exit for the workers' last output to be read from their pipes. */
const PUMP_DRAIN_MS = 2_000;

type Queued = { readonly to: 'tend'; readonly event: TendMachineEvent } | { readonly to: 'service'; readonly service: string; readonly event: ServiceEvent };

// Start supervising `spec`; `done` resolves with tend's exit code once everything is stopped.
export function startTend(spec: TendSpec, deps: RunnerDeps, sinks: readonly EventSink[] = []): TendHandle {
  const runner = new Runner(spec, deps);
  const handle = runner.handle();
  for (const sink of sinks) handle.subscribe(sink);
  runner.begin();
  return handle;
}

class Runner {
  private readonly sinks = new Set<EventSink>();
  private readonly services = new Map<string, ServiceRuntime>();
  private readonly byPid = new Map<number, { service: string; proc: number }>();
  private readonly onDemand = new Map<string, OnDemandSockets>();
  private readonly timers = new Timers();
  /** tend's own lifetime: the keep-alive, the stop deadline and delay, orphan waits and every service's lifetime. */
  private readonly lifetime = new Lifetime();
  private readonly queue: Queued[] = [];
  private draining = false;
  private tendState: TendState;
  private readonly reaper: Reaper;
  private readonly tty: number;
  private readonly plain: boolean;
  private readonly upstreamNotify: string | null;
  private nextRequest = 1;
  /** Listening fds tend has already closed (the numbers may be reused: never close them twice). */
  private readonly closedFds = new Set<number>();
  /** Output pumps still reading a worker's pipe: tend exits once they have drained (bounded). */
  private readonly pumps = new Set<Promise<void>>();
  private resolveDone!: (code: number) => void;
  readonly done = new Promise<number>((resolve) => { this.resolveDone = resolve; });

  constructor(private readonly spec: TendSpec, private readonly deps: RunnerDeps) {
    const only = spec.services.length === 1 ? spec.services[0] : undefined;
    this.plain = only !== undefined && !only.pool;
    this.tendState = initialTendState(spec);
    const upstream = deps.env['NOTIFY_SOCKET'];
    this.upstreamNotify = upstream === undefined || upstream === '' ? null : upstream;
    this.tty = this.plain ? terminalToHandOver() : -1;
    this.reaper = startReaper((reaped) => { this.onReaped(reaped); });
  }

  // Open sockets, start the services that depend on nothing, then take signals: one that arrived during start-up is
  // delivered now, to a child that exists (spawns are synchronous).
  begin(): void {
    try {
      this.setUpProcess();
      this.openServices();
    } catch (error) {
      this.lifetime.end();
      this.reaper.stop();
      removeTendRuntimeDir();
      throw error;
    }
    this.dispatch({ to: 'tend', event: { type: 'begin' } });
    // Signal listeners and pids are not libuv handles: hold the loop open until exit, with a native timer that never
    // fires (a Node timer would cost Node 20 its timer internals at start-up). Armed after the first spawns (nothing
    // can end the loop before this function returns).
    if (!this.lifetime.ended) this.lifetime.onEnd(native.keepAlive());
    this.deps.signals.deliverTo((signal) => {
      this.publish({ type: 'received', signal });
      this.dispatch({ to: 'tend', event: { type: 'signal', signal } });
    });
  }

  handle(): TendHandle {
    return {
      done: this.done,
      subscribe: (sink) => {
        this.sinks.add(sink);
        return () => { this.sinks.delete(sink); };
      },
      reload: (service) => this.reload(service),
      scale: (service, workers) => this.scale(service, workers),
      signal: (service, signal, slot) => this.signalService(service, signal, slot),
      stop: () => { this.dispatch({ to: 'tend', event: { type: 'signal', signal: 'SIGTERM' } }); },
      status: () => snapshot(this.tendState, this.services),
      probeSockets: () => [...this.services.values()].flatMap((rt) => rt.state.slots.flatMap((slot) => {
        const proc = slot.current === null ? undefined : rt.procs.get(slot.current);
        const ready = slot.current !== null && rt.state.procs[slot.current]?.state?.kind === 'ready';
        return proc?.probeSocket == null || !ready || slot.removed ? [] : [{ service: rt.spec.name, slot: slot.index, socket: proc.probeSocket }];
      })),
      rings: (service, slot) => [...this.services.values()]
        .filter((rt) => service === null || rt.spec.name === service)
        .flatMap((rt) => [...rt.procs.values()])
        .filter((p) => slot === null || p.slot === slot)
        .flatMap((p) => (p.ring === null ? [] : [{ service: p.service, slot: p.slot, pid: p.pid, ring: p.ring }])),
    };
  }

  private setUpProcess(): void {
    if (process.pid !== 1) {
      if (this.spec.subreaper) {
        native.setChildSubreaper(true);
        this.log('info', 'registered as child subreaper: orphans of the child are reaped by tend');
      } else this.log('warn', 'not PID 1 and --no-subreaper: orphaned grandchildren go to the system init, and tend cannot wait for them');
    }
    // A write to the terminal while the child owns it must never stop tend.
    native.ignoreSignal(21 /* SIGTTIN */);
    native.ignoreSignal(22 /* SIGTTOU */);
  }

  private openServices(): void {
    const inheritedLimits = inheritedLimitChanges(this.deps.env['TEND_INHERITED_RLIMITS']);
    if (inheritedLimits === null) this.log('info', 'started without bin/tend\'s launcher: the limits tend was started with are unknown, so children get Node\'s raised open-files limit');
    const fromSystemd = inheritedSockets(this.deps.env);
    const socketOwner = fromSystemd === null ? null : (this.spec.services.find((s) => s.listen.length > 0 || s.pool) ?? this.spec.services[0])?.name;
    for (const spec of this.spec.services) {
      const useSystemd = fromSystemd !== null && spec.name === socketOwner;
      if (useSystemd && spec.listen.length > 0) this.log('warn', `listen for service ${spec.name} is ignored: systemd passed ${fromSystemd.length} socket(s) to tend (socket activation)`);
      const sockets: OpenSocket[][] = useSystemd ? [fromSystemd] : openListenSockets(spec.listen, spec.socketStrategy === 'reuseport' ? spec.workers : 1, resolveOwner, listensItself(spec));
      for (const s of sockets[0] ?? []) this.log('info', `listening on ${s.address} (fd ${s.fd}, ${useSystemd ? `passed by systemd as ${s.spec.name}` : 'owned by tend'})`);
      const credentials = spec.user === null ? null : resolveCredentials(spec.user);
      const lifetime = this.lifetime.child();
      const runtime: ServiceRuntime = {
        spec,
        policy: { spec, hasSockets: (sockets[0] ?? []).length > 0, holdLimitMs: holdLimitMs(spec, this.spec.graceMs, this.spec.stopDelayMs, this.plain) },
        state: initialServiceState(spec),
        sockets,
        idleSlots: new Set(),
        socketsFromSystemd: useSystemd,
        credentials,
        rlimits: limitsForChild(inheritedLimits, spec.limits),
        procs: new Map(),
        lifetime,
        lastReload: null,
      };
      this.services.set(spec.name, runtime);
      startGuards(runtime, lifetime, (proc, why, reason) => { this.dispatch({ to: 'service', service: spec.name, event: { type: 'unhealthy', proc, why, reason } }); }, (m) => { this.log('warn', m); });
      startLiveness(runtime, this.timers, lifetime, this.deps.env, (results) => {
        this.dispatch({ to: 'service', service: spec.name, event: { type: 'liveness', results } });
      }, (m) => { this.log('warn', m); });
    }
  }

  // ---- the one event loop: machines in, effects out ----

  private dispatch(item: Queued): void {
    this.queue.push(item);
    if (this.draining) return;
    this.draining = true;
    try {
      for (let next = this.queue.shift(); next !== undefined; next = this.queue.shift()) {
        if (next.to === 'tend') this.stepTend(next.event);
        else this.stepService(next.service, next.event);
      }
    } finally {
      this.draining = false;
    }
  }

  private stepTend(event: TendMachineEvent): void {
    const t = tendTransition(this.spec, this.tendState, event);
    this.tendState = t.state;
    for (const effect of t.effects) this.runTendEffect(effect);
  }

  private stepService(name: string, event: ServiceEvent): void {
    const rt = this.services.get(name);
    if (rt === undefined) return;
    const t = serviceTransition(rt.policy, rt.state, event);
    rt.state = t.state;
    for (const effect of t.effects) this.runServiceEffect(rt, effect);
  }

  private runTendEffect(effect: TendEffect): void {
    switch (effect.type) {
      case 'start': this.dispatch({ to: 'service', service: effect.service, event: { type: 'start' } }); return;
      case 'stop': this.dispatch({ to: 'service', service: effect.service, event: { type: 'stop', signal: effect.signal } }); return;
      case 'reload': this.dispatch({ to: 'service', service: effect.service, event: { type: 'reload', request: effect.request } }); return;
      case 'forward': this.dispatch({ to: 'service', service: effect.service, event: { type: 'forward', signal: effect.signal } }); return;
      case 'kill': this.dispatch({ to: 'service', service: effect.service, event: { type: 'kill' } }); return;
      case 'arm-deadline':
        this.timers.arm('tend:deadline', effect.ms, this.lifetime, () => { this.dispatch({ to: 'tend', event: { type: 'deadline' } }); });
        return;
      case 'arm-delay':
        this.timers.arm('tend:delay', effect.ms, this.lifetime, () => { this.dispatch({ to: 'tend', event: { type: 'delay-over' } }); });
        return;
      case 'stop-orphans':
        void stopOrphans(this.reaper, this.spec.services[0]?.stop ?? [], this.lifetime, (e) => { this.publish(e); }).then(() => {
          this.dispatch({ to: 'tend', event: { type: 'orphans-gone' } });
        });
        return;
      case 'exit': this.exit(effect.code); return;
      case 'emit':
        this.publish(effect.event);
        if (effect.event.type === 'stopping') this.stopAccepting();
        return;
    }
  }

  // A final stop has begun: tend's own copies of the listening sockets close now, so once the last worker has closed
  // its copy (the drain does that first) a new client is refused at once instead of hanging in the backlog.
  private stopAccepting(): void {
    for (const rt of this.services.values()) {
      if (rt.socketsFromSystemd) continue;
      for (const [slot, list] of rt.sockets.entries()) {
        for (const s of list) {
          if (this.closedFds.has(s.fd) || (rt.idleSlots.has(slot) && s.spec.kind === 'tcp')) continue;
          this.closedFds.add(s.fd);
          try { native.closeFd(s.fd); } catch { /* already closed */ }
        }
      }
    }
  }

  private runServiceEffect(rt: ServiceRuntime, effect: ServiceEffect): void {
    switch (effect.type) {
      case 'spawn': this.spawn(rt, effect); return;
      case 'signal':
        this.tellStop(rt, effect.proc, null);
        this.signal(effect.pid, effect.signal, effect.to, effect.cont);
        return;
      case 'arm':
        if (effect.timer.kind === 'stage') this.tellStop(rt, effect.timer.proc, effect.ms);
        this.arm(rt, effect.timer, effect.ms);
        return;
      case 'cancel': this.timers.cancel(timerKey(rt.spec.name, effect.timer)); return;
      case 'watch-group': this.watchGroup(rt, effect.proc, effect.pid); return;
      case 'probe': this.probe(rt, effect.proc); return;
      case 'release': this.release(rt, effect.proc); return;
      case 'emit':
        this.publish(this.enrich(rt, effect.event));
        this.afterServiceEvent(rt, effect.event);
        return;
    }
  }

  // A crash report carries the worker's last lines, which only the runner holds.
  private enrich(rt: ServiceRuntime, event: TendEvent): TendEvent {
    if (event.type !== 'exited' || (event.reason !== null && event.reason !== 'not-ready')) return event;
    const proc = [...rt.procs.values()].find((p) => p.pid === event.pid);
    const lines = proc?.ring?.snapshot(CRASH_REPORT_LINES) ?? [];
    return lines.length === 0 ? event : { ...event, lastLines: lines };
  }

  private afterServiceEvent(rt: ServiceRuntime, event: TendEvent): void {
    if (event.type === 'service-ready' || event.type === 'service-done' || event.type === 'service-ended' || event.type === 'service-stopped') {
      this.dispatch({ to: 'tend', event: { type: 'service', event } });
    } else if (event.type === 'restart-scheduled') {
      this.idleSlot(rt, event.slot);
    } else if (event.type === 'reload-finished') {
      rt.lastReload = { ok: event.ok, at: new Date().toISOString(), detail: event.detail };
    } else if (event.type === 'stage-held') {
      const owner = this.byPid.get(event.pid);
      if (owner?.service === rt.spec.name) this.tellStop(rt, owner.proc, event.ms);
    }
  }

  // Tell a stopping Node worker (its preload, over the IPC channel) why it stops and how long until its next stage:
  // before each stage's signal, and whenever that time changes (EXTEND_TIMEOUT_USEC, holds). The preload picks close
  // codes from the reason and fires the app's onStop hooks before the time is up (docs/drain.md).
  private tellStop(rt: ServiceRuntime, id: number, ms: number | null): void {
    const proc = rt.procs.get(id);
    const state = rt.state.procs[id]?.state;
    if (proc?.ipc == null || state?.kind !== 'stopping' || state.stage >= rt.spec.stop.length) return;
    // A signal tells only of a stage just entered (a signal forwarded during the stop is not a stage).
    if (ms === null && proc.noticeStage === state.stage) return;
    proc.noticeStage = state.stage;
    const left = ms ?? rt.spec.stop[state.stage]?.timeoutMs ?? 0;
    proc.ipc.send({ cmd: contract.IPC.stopNotice, reason: state.reason ?? 'shutdown', stage: state.stage, stages: rt.spec.stop.length, ms: left });
  }

  // A reuseport slot with no worker would still get its share of new connections, which would wait in its queue until
  // the restart (and be reset if the next worker crashes too): close its TCP copies until the slot has a worker again.
  private idleSlot(rt: ServiceRuntime, slot: number): void {
    if (rt.spec.socketStrategy !== 'reuseport' || rt.socketsFromSystemd || rt.sockets.length < 2) return;
    const list = rt.sockets[slot];
    if (list === undefined || rt.idleSlots.has(slot)) return;
    rt.idleSlots.add(slot);
    for (const s of list) if (s.spec.kind === 'tcp') { try { native.closeFd(s.fd); } catch { /* closed */ } }
  }

  private slotSockets(rt: ServiceRuntime, slot: number): readonly OpenSocket[] {
    if (rt.spec.socketStrategy !== 'reuseport' || rt.socketsFromSystemd) return rt.sockets[0] ?? [];
    // A slot added by scaling gets its own copies, like the slots opened at start.
    const bindOnly = listensItself(rt.spec);
    if (rt.sockets[slot] === undefined) rt.sockets[slot] = (rt.sockets[0] ?? []).map((s) => (s.spec.kind === 'tcp' ? reopenReusePort(s, bindOnly) : s));
    const list = rt.sockets[slot] ?? [];
    if (rt.idleSlots.delete(slot)) {
      rt.sockets[slot] = list.map((s) => (s.spec.kind === 'tcp' ? reopenReusePort(s, bindOnly) : s));
    }
    return rt.sockets[slot] ?? [];
  }

  // ---- effects ----

  private spawn(rt: ServiceRuntime, effect: Extract<ServiceEffect, { type: 'spawn' }>): void {
    const proc: ProcRuntime = {
      id: effect.proc, service: rt.spec.name, slot: effect.slot, pid: null, lifetime: new Lifetime(), notify: null, ipc: null,
      ring: this.plain ? null : new LineRing(), lastPingAt: Date.now(), statusText: null, startedAt: Date.now(), probeSocket: null, listened: false, noticeStage: -1,
    };
    rt.procs.set(proc.id, proc);
    const pipes = this.plain ? null : { out: native.pipe(), err: native.pipe() };
    try {
      proc.notify = this.openChannel(rt, proc, effect.role === 'step' ? `${rt.spec.name}-step${effect.step}` : `${rt.spec.name}-${effect.slot}-${proc.id}`);
      const preload = !this.plain && rt.spec.preload && existsSync(preloadPath) ? preloadPath : null;
      if (preload !== null && effect.role === 'worker') {
        proc.ipc = this.openIpc(rt, proc);
        proc.probeSocket = probeSocketPath(rt, this.spec.services.indexOf(rt.spec), proc.id);
      }
      const request = spawnRequest({
        spec: rt.spec, slot: effect.slot, generation: effect.generation, role: effect.role, step: effect.step, workers: effect.workers, plain: this.plain,
        env: this.deps.env, inheritEnv: this.deps.inheritEnv === true, sockets: this.slotSockets(rt, effect.slot),
        notify: proc.notify, ipc: proc.ipc, stdio: pipes === null ? [0, 1, 2] : [0, pipes.out[1], pipes.err[1]],
        rlimits: rt.rlimits, credentials: rt.credentials, foregroundTty: this.tty, preloadPath: preload, probeSocket: proc.probeSocket,
      });
      const pid = spawnProcess(request);
      proc.pid = pid;
      proc.startedAt = Date.now();
      proc.notify?.bind(pid);
      proc.ipc?.bind();
      // Known before anything can reap it: a process that exits within microseconds is still this slot's.
      this.byPid.set(pid, { service: rt.spec.name, proc: proc.id });
      if (pipes !== null) {
        native.closeFd(pipes.out[1]);
        native.closeFd(pipes.err[1]);
        this.pump(rt, proc, pid, pipes.out[0], pipes.err[0]);
      }
      this.dispatch({ to: 'service', service: rt.spec.name, event: { type: 'spawned', proc: proc.id, pid, at: proc.startedAt } });
    } catch (error) {
      proc.notify?.close();
      proc.ipc?.close();
      if (pipes !== null) for (const fd of [...pipes.out, ...pipes.err]) native.closeFd(fd);
      if (!(error instanceof TendError)) throw error;
      this.dispatch({ to: 'service', service: rt.spec.name, event: { type: 'spawn-failed', proc: proc.id, code: error.exitCode, message: error.message } });
    }
  }

  // Copy the worker's stdout and stderr to tend's, whole lines, labelled, bounded (the worker blocks when tend's
  // reader stalls), and keep its recent lines.
  private pump(rt: ServiceRuntime, proc: ProcRuntime, pid: number, out: number, err: number): void {
    const format = { prefix: this.logPrefix(), format: this.spec.logFormat };
    const labels = { service: rt.spec.name, slot: proc.slot, pid };
    for (const [fd, stream] of [[out, 'stdout'], [err, 'stderr']] as const) {
      const { done } = pumpOutput({ fd, stream, sink: stdioSink(stream), format, labels, maxLine: this.spec.logMaxLine, ring: proc.ring });
      this.pumps.add(done);
      void done.then(() => { this.pumps.delete(done); });
    }
  }

  private logPrefix(): LogPrefix {
    if (this.spec.logPrefix !== null) return this.spec.logPrefix;
    const only = this.spec.services.length === 1 ? this.spec.services[0] : undefined;
    return only !== undefined && only.workers === 1 && !only.pool ? 'none' : 'slot';
  }

  // Every process of a pool or of several services gets a notify channel; a plain command only under systemd (relay).
  private openChannel(rt: ServiceRuntime, proc: ProcRuntime, name: string): NotifyChannel | null {
    if (this.plain && this.upstreamNotify === null) return null;
    return openNotifyChannel(
      name,
      rt.credentials === null ? null : { uid: rt.credentials.uid, gid: rt.credentials.gid },
      (message) => { this.onNotify(rt, proc, message); },
      (why) => { this.log('debug', `${rt.spec.name}.${proc.slot}: ignored notification: ${why}`); },
    );
  }

  private onNotify(rt: ServiceRuntime, proc: ProcRuntime, m: NotifyMessage): void {
    const upstream = this.upstreamNotify;
    if (this.plain && upstream !== null) relayToSystemd(upstream, m, { enabled: (level) => level === 'debug', error: () => undefined, warn: () => undefined, info: () => undefined, debug: (t) => { this.log('debug', t); } });
    const service = rt.spec.name;
    const at = Date.now();
    if (m.status !== null) proc.statusText = m.status;
    if (m.watchdog === 'ping') proc.lastPingAt = at;
    if (m.status !== null || m.stopping) this.publish({ type: 'notified', service, slot: proc.slot, pid: proc.pid ?? 0, status: m.status, stopping: m.stopping });
    if (m.watchdog === 'trigger') this.dispatch({ to: 'service', service, event: { type: 'unhealthy', proc: proc.id, why: 'it sent WATCHDOG=trigger', reason: 'watchdog' } });
    if (m.ready) this.dispatch({ to: 'service', service, event: { type: 'ready-signal', proc: proc.id, source: 'notify', at } });
    if (m.listening !== null && this.listensOnServiceAddress(rt, proc, m.listening)) {
      // The preload opens the private probe socket before it reports a listen on tend's socket.
      proc.listened = true;
      this.dispatch({ to: 'service', service, event: { type: 'ready-signal', proc: proc.id, source: 'listen', at } });
    }
    for (const [key, value] of m.fields) {
      if (key !== contract.NOTIFY_HOLD && key !== contract.NOTIFY_RELEASE) continue;
      const name = value.trim();
      if (name === '' || name.length > contract.HOLD_NAME_MAX) {
        this.log('debug', `${service}.${proc.slot}: ignored ${key}=${JSON.stringify(value.slice(0, 40))}: a hold's name is 1 to ${contract.HOLD_NAME_MAX} characters`);
        continue;
      }
      this.dispatch({ to: 'service', service, event: key === contract.NOTIFY_HOLD ? { type: 'hold', proc: proc.id, name, at } : { type: 'release', proc: proc.id, name } });
    }
    if (m.extendTimeoutUsec !== null) this.dispatch({ to: 'service', service, event: { type: 'extend', proc: proc.id, ms: clampTimerMs(Math.ceil(m.extendTimeoutUsec / 1000)) } });
  }

  private signal(pid: number, signal: SignalName, to: 'main' | 'group', cont: boolean): void {
    const target = to === 'main' ? pid : -pid;
    // A pid that is already gone is never an error.
    const delivered = sendSignal(target, signal);
    if (delivered && cont) sendSignal(target, 'SIGCONT');
  }

  private arm(rt: ServiceRuntime, timer: TimerRef, ms: number): void {
    const owner = timer.kind === 'restart' ? rt.lifetime : rt.procs.get(timer.proc)?.lifetime;
    if (owner === undefined) return;
    this.timers.arm(timerKey(rt.spec.name, timer), ms, owner, () => {
      if (timer.kind === 'ready-delay' && this.waitsForListen(rt)) return;
      this.dispatch({ to: 'service', service: rt.spec.name, event: { type: 'timer', timer, at: Date.now(), random: Math.random() } });
    });
  }

  private watchGroup(rt: ServiceRuntime, id: number, pid: number): void {
    const proc = rt.procs.get(id);
    if (proc === undefined) return;
    const check = (): void => {
      this.reaper.reapNow();
      if (!isGroupAlive(pid)) this.dispatch({ to: 'service', service: rt.spec.name, event: { type: 'group-gone', proc: id, at: Date.now() } });
    };
    const poll = setInterval(check, GROUP_POLL_MS);
    proc.lifetime.onEnd(() => { clearInterval(poll); });
  }

  private probe(rt: ServiceRuntime, id: number): void {
    const proc = rt.procs.get(id);
    if (proc === undefined) return;
    startProbe(rt.spec.ready, proc.lifetime, () => {
      this.dispatch({ to: 'service', service: rt.spec.name, event: { type: 'ready-signal', proc: id, source: 'probe', at: Date.now() } });
    });
  }

  private release(rt: ServiceRuntime, id: number): void {
    const proc = rt.procs.get(id);
    if (proc === undefined) return;
    rt.procs.delete(id);
    proc.lifetime.end();
    proc.notify?.close();
    proc.ipc?.close();
    removeProbeSocket(proc.probeSocket);
    if (proc.pid !== null) this.byPid.delete(proc.pid);
  }

  // ---- what the kernel reports ----

  private onReaped(reaped: Reaped): void {
    const owner = this.byPid.get(reaped.pid);
    if (owner === undefined) {
      this.publish({ type: 'reaped-orphan', pid: reaped.pid, status: reaped.status });
      return;
    }
    this.byPid.delete(reaped.pid);
    if (this.plain) reclaimTerminal(this.tty);
    const lingering = isGroupAlive(reaped.pid);
    this.dispatch({
      to: 'service', service: owner.service,
      event: { type: 'exited', proc: owner.proc, status: reaped.status, at: Date.now(), lingering, random: Math.random() },
    });
  }

  private reload(service: string | null): Promise<{ ok: boolean; detail: string }> {
    const request = this.nextRequest++;
    const targets = reloadTargets(this.spec, service).map((s) => s.name);
    return new Promise((resolve) => {
      const outcomes = new Map<string, { ok: boolean; detail: string }>();
      const expected = Math.max(1, targets.length);
      const unsubscribe = this.handle().subscribe((event) => {
        if (event.type !== 'reload-finished' || !event.requests.includes(request)) return;
        outcomes.set(event.service, { ok: event.ok, detail: event.detail });
        if (outcomes.size < expected) return;
        unsubscribe();
        const all = [...outcomes.entries()];
        resolve({ ok: all.every(([, o]) => o.ok), detail: all.map(([name, o]) => (all.length > 1 ? `${name}: ${o.detail}` : o.detail)).join('; ') });
      });
      this.dispatch({ to: 'tend', event: { type: 'reload', service, request } });
    });
  }

  private scale(service: string | null, workers: number | { readonly delta: number }): Promise<{ ok: boolean; detail: string }> {
    const rt = this.pickService(service);
    if (typeof rt === 'string') return Promise.resolve({ ok: false, detail: rt });
    const current = rt.state.slots.filter((s) => !s.removed).length;
    const target = typeof workers === 'number' ? workers : current + workers.delta;
    if (!Number.isInteger(target) || target < 0 || target > 1024) return Promise.resolve({ ok: false, detail: `cannot scale ${rt.spec.name} to ${target} worker(s); use 0 to 1024` });
    if (rt.spec.type === 'oneshot') return Promise.resolve({ ok: false, detail: `${rt.spec.name} is a oneshot; it cannot be scaled` });
    const request = this.nextRequest++;
    return new Promise((resolve) => {
      const unsubscribe = this.handle().subscribe((event) => {
        if (event.type !== 'scale-finished' || !event.requests.includes(request)) return;
        unsubscribe();
        resolve({ ok: event.ok, detail: event.detail });
      });
      this.dispatch({ to: 'service', service: rt.spec.name, event: { type: 'scale', workers: target, request } });
    });
  }

  private signalService(service: string | null, signal: SignalName, slot: number | null): { ok: boolean; detail: string } {
    const targets = service === null ? [...this.services.values()] : [this.pickService(service)];
    for (const rt of targets) {
      if (typeof rt === 'string') return { ok: false, detail: rt };
      this.dispatch({ to: 'service', service: rt.spec.name, event: { type: 'forward', signal, ...(slot === null ? {} : { slot }) } });
    }
    return { ok: true, detail: `sent ${signal} to ${service ?? 'every service'}${slot === null ? '' : ` slot ${slot}`}` };
  }

  // One service by name, or the only one; a string says why none fits.
  private pickService(service: string | null): ServiceRuntime | string {
    if (service !== null) return this.services.get(service) ?? `no service named ${JSON.stringify(service)} (services: ${[...this.services.keys()].join(', ')})`;
    if (this.services.size === 1) return [...this.services.values()][0] ?? 'no service';
    return `several services run here (${[...this.services.keys()].join(', ')}): name one`;
  }

  private exit(code: number): void {
    for (const rt of this.services.values()) {
      if (rt.socketsFromSystemd) for (const s of rt.sockets[0] ?? []) { try { native.closeFd(s.fd); } catch { /* closed */ } }
      else closeListenSockets(rt.sockets.map((list, slot) => list.filter((s) => !this.closedFds.has(s.fd) && !(rt.idleSlots.has(slot) && s.spec.kind === 'tcp'))));
      for (const list of rt.sockets) for (const s of list) if (this.closedFds.has(s.fd)) removeSocketFile(s);
    }
    for (const sockets of this.onDemand.values()) sockets.close();
    this.reaper.stop();
    reclaimTerminal(this.tty);
    removeTendRuntimeDir();
    this.publish({ type: 'exit', code });
    this.lifetime.end();
    // What the workers wrote last is read to the end of their pipes before tend goes (at most PUMP_DRAIN_MS). With no
    // pumps (a plain run's inherited stdio) there is nothing to bound, and no Node timer is armed.
    if (this.pumps.size === 0) {
      this.resolveDone(code);
      return;
    }
    const drained = Promise.all([...this.pumps]);
    const bound = new Promise<void>((resolve) => { setTimeout(resolve, PUMP_DRAIN_MS).unref(); });
    void Promise.race([drained, bound]).then(() => { this.resolveDone(code); });
  }

  // ---- Node IPC channels and sockets on demand (ipc-channel.ts, on-demand.ts) ----

  // A Node worker's channel: socket requests from the preload, and PM2's process.send('ready') as readiness.
  private openIpc(rt: ServiceRuntime, proc: ProcRuntime): IpcChannel {
    const where = `${rt.spec.name}.${proc.slot}`;
    const channel: IpcChannel = openIpcChannel((message) => {
      const declared = declaredSockets(rt, proc.slot);
      const opened = (address: string, fd: number): void => { this.log('info', `listening on ${address} (fd ${fd}, opened on demand for service ${rt.spec.name})`); };
      if (answerSocketRequest(message, channel, this.onDemandOf(rt), declared, opened)) return;
      if (message === 'ready') this.dispatch({ to: 'service', service: rt.spec.name, event: { type: 'ready-signal', proc: proc.id, source: 'notify', at: Date.now() } });
    }, (why) => { this.log('debug', `${where}: ${why}`); });
    return channel;
  }

  private onDemandOf(rt: ServiceRuntime): OnDemandSockets {
    let sockets = this.onDemand.get(rt.spec.name);
    if (sockets === undefined) {
      const port = Number(rt.spec.env['PORT'] ?? this.deps.env['PORT']);
      const owner = rt.credentials === null ? null : { uid: rt.credentials.uid, gid: rt.credentials.gid };
      sockets = new OnDemandSockets(owner, Number.isInteger(port) && port > 0 ? port : null);
      this.onDemand.set(rt.spec.name, sockets);
    }
    return sockets;
  }

  // Readiness means the service's own address: a --listen socket, or the main on-demand address; never an extra one.
  private listensOnServiceAddress(rt: ServiceRuntime, proc: ProcRuntime, address: string): boolean {
    const own = this.onDemandOf(rt).isServiceAddress(address, declaredSockets(rt, proc.slot));
    if (!own) this.log('debug', `${rt.spec.name}.${proc.slot}: listening on ${address}, which is not the service's address: not readiness`);
    return own;
  }

  // Auto readiness of a service known to listen waits for the listen; staying up a second is for queue workers.
  private waitsForListen(rt: ServiceRuntime): boolean {
    return rt.spec.ready.kind === 'auto' && this.onDemandOf(rt).listens;
  }

  private publish(event: TendEvent): void {
    for (const sink of [...this.sinks]) sink(event);
  }

  private log(level: 'error' | 'warn' | 'info' | 'debug', message: string): void {
    this.publish({ type: 'log', level, message });
  }
}

// Whether the workers call listen() on the sockets they are given: Node does (listen({ fd }), also what the preload
// turns listen(PORT) into), so their SO_REUSEPORT copies can be handed over bound but not yet listening. Other
// programs (and launchers such as npm) may only accept(), so theirs listen from the start.
function listensItself(spec: ServiceSpec): boolean {
  return spec.socketStrategy === 'reuseport' && /^node(js)?[\d.]*$/.test(basename(spec.command[0] ?? ''));
}

// The --listen sockets a worker in `slot` gets (one per slot with --socket-strategy reuseport).
function declaredSockets(rt: ServiceRuntime, slot: number): readonly OpenSocket[] {
  return rt.sockets[rt.spec.socketStrategy === 'reuseport' && !rt.socketsFromSystemd ? slot : 0] ?? [];
}

function timerKey(service: string, timer: TimerRef): string {
  switch (timer.kind) {
    case 'restart': return `${service}:restart:${timer.slot}`;
    case 'stage': return `${service}:stage:${timer.proc}`;
    case 'hold-limit': return `${service}:hold-limit:${timer.proc}`;
    case 'ready': return `${service}:ready:${timer.proc}`;
    case 'ready-delay': return `${service}:ready-delay:${timer.proc}`;
  }
}

function resolveOwner(owner: string | null, group: string | null): { uid: number; gid: number } {
  if (owner === null && group === null) return { uid: -1, gid: -1 };
  const c = resolveCredentials({ user: owner ?? String(process.getuid?.() ?? 0), group });
  return { uid: owner === null ? -1 : c.uid, gid: group === null ? -1 : c.gid };
}
