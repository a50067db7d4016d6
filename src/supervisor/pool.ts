// The worker pool: N copies of a command in stable slots, with tend-owned sockets, readiness, crash restarts with
// backoff, rolling reloads that roll back a bad build, resource guards and one parallel stop. This file is the
// shell: each worker's lifecycle is the pure worker-machine.ts, restart timing is restart-policy.ts, and the
// reload order is rollout.ts; here those decisions meet processes, sockets and timers.
import { existsSync } from 'node:fs';
import type { PoolConfig } from '../config/pool-config.js';
import type { RunConfig } from '../config/run-config.js';
import type { SignalName } from '../config/signal-names.js';
import { formatDuration } from '../config/duration.js';
import { ExitCode, TendError } from '../errors.js';
import type { Logger } from '../log.js';
import { probeHttp, probeTcp } from '../health/probes.js';
import { describeStatus, type ExitStatus } from '../os/exit-status.js';
import { closeListenSockets, openListenSockets, type OpenSocket } from '../os/listen-sockets.js';
import { native } from '../os/native.js';
import { openNotifyChannel, removeTendRuntimeDir, type NotifyChannel } from '../os/notify-channel.js';
import { OutputTail, pipeOutput } from '../os/output.js';
import { CLOCK_TICKS_PER_SECOND, sampleProcess } from '../os/proc-stats.js';
import { sendSignal } from '../os/process-tree.js';
import { startReaper, type Reaped } from '../os/reaper.js';
import { limitsForChild, parseInheritedLimits } from '../os/rlimits.js';
import type { SignalIntake } from '../os/signals.js';
import { spawnProcess } from '../os/spawn.js';
import { resolveCredentials, type Credentials } from '../os/users.js';
import { preloadPath } from '../preload/path.js';
import type { NotifyMessage } from '../protocol/sd-notify.js';
import { FRESH_HISTORY, markStable, nextRestart, type SlotHistory } from './restart-policy.js';
import { rollOut, type ReplaceResult } from './rollout.js';
import { inheritedSockets } from '../systemd/socket-activation.js';
import { workerTransition, type StopReason, type WorkerEffect, type WorkerEvent, type WorkerState } from './worker-machine.js';

/** What the pool tells the outside world (systemd, the control socket) about itself. */
export interface PoolObserver {
  onReady(status: string): void;
  onReloading(): void;
  onReloaded(ok: boolean, status: string): void;
  onStopping(): void;
  onStatus(status: string): void;
  /** Called regularly while a stop makes progress (workers still draining), for EXTEND_TIMEOUT_USEC. */
  onStopProgress(remainingMs: number): void;
}

/** A snapshot for `tend status` and logs. */
export interface PoolStatus {
  readonly phase: PoolPhase;
  readonly generation: number;
  readonly workers: readonly { slot: number; pid: number; state: WorkerState['kind']; generation: number; status: string | null }[];
  readonly ready: number;
  readonly desired: number;
  readonly lastReload: { readonly ok: boolean; readonly at: string; readonly detail: string } | null;
}

export type PoolPhase = 'booting' | 'running' | 'reloading' | 'stopping';

export interface PoolDeps {
  readonly log: Logger;
  readonly signals: SignalIntake;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly observer?: PoolObserver;
}

/** The pool's handle for the control socket and for tests in-process. */
export interface PoolHandle {
  readonly done: Promise<number>;
  reload(): Promise<ReplaceResult>;
  status(): PoolStatus;
}

interface Worker {
  readonly id: number;
  readonly slot: number;
  readonly generation: number;
  readonly pid: number;
  state: WorkerState;
  readonly lifetime: AbortController;
  readonly notify: NotifyChannel;
  readonly tail: OutputTail;
  readonly readyWaiters: ((result: { ok: true } | { ok: false; why: string }) => void)[];
  readonly exitWaiters: (() => void)[];
  stageTimer: NodeJS.Timeout | null;
  readyTimer: NodeJS.Timeout | null;
  lastPing: number;
  statusText: string | null;
  cpuSamples: { at: number; ticks: number }[];
  overLimitSince: { rss: number | null; cpu: number | null };
  fdWarned: boolean;
}

interface Slot {
  readonly index: number;
  current: Worker | null;
  replacement: Worker | null;
  history: SlotHistory;
  restartTimer: NodeJS.Timeout | null;
  /** A guard or watchdog replacement is under way; do not start another. */
  replacing: boolean;
}

const OUTPUT_TAIL_LINES = 10;
const PROBE_INTERVAL_MS = 100;

// Start the pool; resolves `done` with tend's exit code once everything is stopped.
export function startPool(config: RunConfig, pool: PoolConfig, deps: PoolDeps): PoolHandle {
  const { log } = deps;
  const credentials: Credentials | null = config.user === null ? null : resolveCredentials(config.user);
  const rlimits = limitsForChild(parseInheritedLimits(deps.env['TEND_INHERITED_RLIMITS']), config.limits);
  if (process.pid !== 1 && config.subreaper) native.setChildSubreaper(true);
  native.ignoreSignal(21 /* SIGTTIN */);
  native.ignoreSignal(22 /* SIGTTOU */);

  const preload = pool.preload && existsSync(preloadPath);
  if (pool.preload && !preload) log.warn(`the Node preload is missing (${preloadPath}): run npm run build; workers run without the listen redirect and graceful drain`);

  const fromSystemd = inheritedSockets(deps.env);
  if (fromSystemd !== null && pool.listen.length > 0) log.warn(`--listen is ignored: systemd passed ${fromSystemd.length} socket(s) to tend (socket activation)`);
  const sockets: OpenSocket[][] = fromSystemd !== null ? [fromSystemd] : openListenSockets(
    pool.listen,
    pool.socketStrategy === 'reuseport' ? pool.workers : 1,
    (owner, group) => resolveOwner(owner, group),
  );
  for (const s of sockets[0] ?? []) log.info(`listening on ${s.address} (fd ${s.fd}, ${fromSystemd === null ? 'owned by tend' : `passed by systemd as ${s.spec.name}`})`);

  const slots: Slot[] = Array.from({ length: pool.workers }, (_, index) => ({
    index, current: null, replacement: null, history: FRESH_HISTORY, restartTimer: null, replacing: false,
  }));
  const workersByPid = new Map<number, Worker>();
  let phase: PoolPhase = 'booting';
  let generation = 0;
  let nextWorkerId = 0;
  let exitCode: number = ExitCode.internal;
  let lastReload: PoolStatus['lastReload'] = null;
  let reloadInFlight: Promise<ReplaceResult> | null = null;
  let reloadAgain = false;
  let resolveDone!: (code: number) => void;
  const done = new Promise<number>((resolve) => { resolveDone = resolve; });
  const poolLifetime = new AbortController();
  const keepAlive = setInterval(() => undefined, 1 << 30);
  poolLifetime.signal.addEventListener('abort', () => { clearInterval(keepAlive); }, { once: true });

  const live = (): Worker[] => [...workersByPid.values()];
  // A function, not a comparison, because the phase changes across awaits.
  const isStopping = (): boolean => phase === 'stopping';
  const readyCount = (): number => slots.filter((s) => s.current?.state.kind === 'ready').length;
  const summary = (): string => `${readyCount()}/${pool.workers} workers ready, generation ${generation}${phase === 'reloading' ? ', reloading' : ''}`;

  const reaper = startReaper((reaped) => { onReaped(reaped); });

  // ---- spawning ----

  const spawnWorker = (slot: Slot, gen: number): Worker => {
    const id = nextWorkerId++;
    const slotSockets = sockets[pool.socketStrategy === 'reuseport' && fromSystemd === null ? slot.index : 0] ?? [];
    const [outRead, outWrite] = native.pipe();
    const [errRead, errWrite] = native.pipe();
    let worker: Worker | null = null;
    const notify = openNotifyChannel(
      `w${slot.index}-${id}`,
      credentials === null ? null : { uid: credentials.uid, gid: credentials.gid },
      (message) => { if (worker !== null) onNotify(worker, message); },
      (why) => { log.debug(`worker ${slot.index}: ignored notification: ${why}`); },
    );
    const firstListenFd = 3;
    const notifyFd = firstListenFd + slotSockets.length;
    const env: Record<string, string | undefined> = {
      ...deps.env,
      TEND_WORKER_INDEX: String(slot.index),
      TEND_WORKER_COUNT: String(pool.workers),
      TEND_GENERATION: String(gen),
      NOTIFY_SOCKET: notify.path,
      TEND_NOTIFY_FD: String(notifyFd),
    };
    if (slotSockets.length > 0) {
      env['LISTEN_FDS'] = String(slotSockets.length);
      env['LISTEN_PID'] = ''; // filled with the child's own pid between fork and exec
      env['LISTEN_FDNAMES'] = slotSockets.map((s) => s.spec.name).join(':');
      env['TEND_LISTEN_MAP'] = slotSockets.map((s, i) => `${firstListenFd + i}=${s.address}`).join(',');
      const tcp = slotSockets.find((s) => s.port !== null);
      if (env['PORT'] === undefined && tcp?.port != null) env['PORT'] = String(tcp.port);
    } else {
      delete env['LISTEN_FDS'];
      delete env['LISTEN_PID'];
      delete env['LISTEN_FDNAMES'];
    }
    // systemd's watchdog settings are tend's own; a worker gets tend's (WATCHDOG_PID would name tend, not it).
    delete env['WATCHDOG_PID'];
    if (pool.watchdogMs !== null) env['WATCHDOG_USEC'] = String(pool.watchdogMs * 1000);
    else delete env['WATCHDOG_USEC'];
    if (preload) env['NODE_OPTIONS'] = `${env['NODE_OPTIONS'] ?? ''} --require ${preloadPath}`.trim();
    let pid: number;
    try {
      pid = spawnProcess({
        argv: config.command,
        env,
        cwd: null,
        rlimits,
        credentials,
        foregroundTty: -1,
        fds: [0, outWrite, errWrite, ...slotSockets.map((s) => s.fd), notify.childFd],
      });
    } catch (error) {
      notify.close();
      for (const fd of [outRead, outWrite, errRead, errWrite]) native.closeFd(fd);
      throw error;
    }
    native.closeFd(outWrite);
    native.closeFd(errWrite);
    notify.bind(pid);
    const now = Date.now();
    worker = {
      id, slot: slot.index, generation: gen, pid,
      state: { kind: 'starting', pid, startedAt: now },
      lifetime: new AbortController(),
      notify,
      tail: new OutputTail(OUTPUT_TAIL_LINES),
      readyWaiters: [],
      exitWaiters: [],
      stageTimer: null,
      readyTimer: null,
      lastPing: now,
      statusText: null,
      cpuSamples: [],
      overLimitSince: { rss: null, cpu: null },
      fdWarned: false,
    };
    const w = worker;
    workersByPid.set(pid, w);
    void pipeOutput(outRead, process.stdout, w.tail);
    void pipeOutput(errRead, process.stderr, w.tail);
    log.info(`worker ${slot.index} started as pid ${pid} (generation ${gen})`);
    armReadyTimer(w, pool.readyTimeoutMs);
    startReadiness(w);
    // It may already have exited (and been reaped) before we knew its pid.
    reaper.reapNow();
    return w;
  };

  const armReadyTimer = (w: Worker, ms: number): void => {
    if (w.readyTimer !== null) clearTimeout(w.readyTimer);
    w.readyTimer = setTimeout(() => { dispatch(w, { type: 'ready-timeout' }); }, ms);
    w.lifetime.signal.addEventListener('abort', () => { if (w.readyTimer !== null) clearTimeout(w.readyTimer); }, { once: true });
  };

  const startReadiness = (w: Worker): void => {
    const mode = pool.ready;
    switch (mode.kind) {
      case 'delay':
        setTimeout(() => { dispatch(w, { type: 'ready', at: Date.now() }); }, mode.ms).unref();
        return;
      case 'auto':
        // A worker that does not listen on tend's sockets (a queue worker) is ready once it has stayed up for 1 s.
        if ((sockets[0] ?? []).length === 0) setTimeout(() => { dispatch(w, { type: 'ready', at: Date.now() }); }, 1_000).unref();
        return;
      case 'http':
      case 'tcp': {
        const probe = mode.kind === 'http' ? () => probeHttp(mode.url, 1_000) : () => probeTcp(mode.host, mode.port, 1_000);
        const loop = async (): Promise<void> => {
          while (!w.lifetime.signal.aborted && w.state.kind === 'starting') {
            if (await probe()) {
              dispatch(w, { type: 'ready', at: Date.now() });
              return;
            }
            await new Promise((r) => setTimeout(r, PROBE_INTERVAL_MS));
          }
        };
        void loop();
        return;
      }
      case 'notify':
      case 'listen':
        return;
    }
  };

  const onNotify = (w: Worker, m: NotifyMessage): void => {
    log.debug(`worker ${w.slot} (pid ${w.pid}) notified: ${m.fields.map(([k, v]) => `${k}=${v}`).join(' ')}`);
    if (m.status !== null) w.statusText = m.status;
    if (m.watchdog === 'ping') w.lastPing = Date.now();
    if (m.watchdog === 'trigger') replaceUnhealthy(w, 'it sent WATCHDOG=trigger');
    const wantsNotify = pool.ready.kind === 'notify' || pool.ready.kind === 'auto';
    const wantsListen = pool.ready.kind === 'listen' || pool.ready.kind === 'auto';
    if ((m.ready && wantsNotify) || (m.listening !== null && wantsListen)) dispatch(w, { type: 'ready', at: Date.now() });
    if (m.extendTimeoutUsec !== null) {
      const ms = Math.ceil(m.extendTimeoutUsec / 1000);
      if (w.state.kind === 'starting') armReadyTimer(w, ms);
      if (w.state.kind === 'stopping') armStageTimer(w, w.state.stage, ms);
      log.info(`worker ${w.slot} (pid ${w.pid}) extended its ${w.state.kind === 'stopping' ? 'stop' : 'ready'} deadline by ${formatDuration(ms)}`);
    }
    if (m.stopping) log.info(`worker ${w.slot} (pid ${w.pid}) is stopping`);
  };

  // ---- the worker machine's shell ----

  const dispatch = (w: Worker, event: WorkerEvent): void => {
    const t = workerTransition(config.stop, w.state, event);
    w.state = t.state;
    for (const effect of t.effects) runEffect(w, effect);
    if (w.state.kind === 'stopping' || w.state.kind === 'exited') settleReady(w, { ok: false, why: whyNotReady(w, event) });
  };

  const runEffect = (w: Worker, effect: WorkerEffect): void => {
    switch (effect.type) {
      case 'signal': {
        // The worker's whole process group; a pid that is already gone is never an error.
        const delivered = sendSignal(-w.pid, effect.signal);
        if (delivered && effect.signal !== 'SIGKILL' && effect.signal !== 'SIGTSTP' && effect.signal !== 'SIGCONT') sendSignal(-w.pid, 'SIGCONT');
        log.info(`worker ${w.slot}: sent ${effect.signal} to process group ${w.pid}${delivered ? '' : ' (already gone)'}`);
        return;
      }
      case 'arm-timer':
        armStageTimer(w, effect.stage, effect.ms);
        return;
      case 'became-ready':
        if (w.readyTimer !== null) clearTimeout(w.readyTimer);
        log.info(`worker ${w.slot} (pid ${w.pid}) is ready after ${formatDuration(Date.now() - (w.state.kind === 'ready' ? w.state.startedAt : Date.now()))}`);
        settleReady(w, { ok: true });
        onWorkerReady(w);
        return;
      case 'log':
        if (effect.level === 'info') log.info(effect.message);
        else log.debug(effect.message);
        return;
    }
  };

  const armStageTimer = (w: Worker, stage: number, ms: number): void => {
    if (w.stageTimer !== null) clearTimeout(w.stageTimer);
    w.stageTimer = setTimeout(() => { dispatch(w, { type: 'stage-timeout', stage }); }, ms);
  };

  const whyNotReady = (w: Worker, event: WorkerEvent): string => {
    if (event.type === 'ready-timeout') return `not ready within ${formatDuration(pool.readyTimeoutMs)}`;
    if (w.state.kind === 'exited') return `exited with ${describeStatus(w.state.status)} before it was ready${tailText(w)}`;
    return `stopped before it was ready (${w.state.kind === 'stopping' ? w.state.reason : event.type})`;
  };

  const settleReady = (w: Worker, result: { ok: true } | { ok: false; why: string }): void => {
    for (const waiter of w.readyWaiters.splice(0)) waiter(result);
  };

  const waitReady = (w: Worker): Promise<{ ok: true } | { ok: false; why: string }> => {
    if (w.state.kind === 'ready') return Promise.resolve({ ok: true });
    if (w.state.kind !== 'starting') return Promise.resolve({ ok: false, why: 'not starting' });
    return new Promise((resolve) => { w.readyWaiters.push(resolve); });
  };

  const waitExit = (w: Worker): Promise<void> => {
    if (w.state.kind === 'exited') return Promise.resolve();
    return new Promise((resolve) => { w.exitWaiters.push(resolve); });
  };

  const stopWorker = (w: Worker, reason: StopReason, signal?: SignalName): Promise<void> => {
    dispatch(w, signal === undefined ? { type: 'stop', reason } : { type: 'stop', reason, signal });
    return waitExit(w);
  };

  const tailText = (w: Worker): string => {
    const lines = w.tail.snapshot();
    return lines.length === 0 ? '' : `; last output:\n${lines.map((l) => `  | ${l}`).join('\n')}`;
  };

  // ---- exits ----

  function onReaped(reaped: Reaped): void {
    const w = workersByPid.get(reaped.pid);
    if (w === undefined) {
      log.info(`reaped pid ${reaped.pid} (${describeStatus(reaped.status)})`);
      if (phase === 'stopping') maybeFinish();
      return;
    }
    workersByPid.delete(reaped.pid);
    dispatch(w, { type: 'exited', status: reaped.status, at: Date.now() });
    if (w.stageTimer !== null) clearTimeout(w.stageTimer);
    w.lifetime.abort();
    w.notify.close();
    for (const waiter of w.exitWaiters.splice(0)) waiter();
    onWorkerExited(w, reaped.status);
  }

  const onWorkerExited = (w: Worker, status: ExitStatus): void => {
    const slot = slots[w.slot];
    if (slot === undefined || w.state.kind !== 'exited') return;
    const { reason, uptimeMs, forced } = w.state;
    log.info(`worker ${w.slot} (pid ${w.pid}) exited with ${describeStatus(status)} after ${formatDuration(uptimeMs)}${reason === null ? '' : ` (${reason})`}${forced ? ', killed at the stop deadline' : ''}`);
    if (slot.replacement === w) {
      // The rollout or guard that started it hears about this through waitReady/waitExit.
      return;
    }
    if (slot.current !== w) return;
    slot.current = null;
    if (phase === 'stopping') {
      maybeFinish();
      return;
    }
    if (reason !== null && reason !== 'not-ready' && reason !== 'unhealthy') return;
    // An unexpected exit, or a start that never became ready: restart with backoff.
    const decision = nextRestart(pool.restart, slot.history, uptimeMs, Math.random());
    slot.history = decision.history;
    const cause = reason === 'not-ready' ? `was not ready within ${formatDuration(pool.readyTimeoutMs)}` : `exited with ${describeStatus(status)} after ${formatDuration(uptimeMs)}`;
    if (decision.kind === 'give-up') {
      log.error(`worker ${w.slot} keeps failing: it ${cause}${tailText(w)}`);
      log.error(`giving up: ${decision.reason} (--max-restarts ${pool.restart.maxRestarts}); stopping the pool`);
      beginStop('SIGTERM', ExitCode.gaveUp);
      return;
    }
    const level = decision.history.consecutiveFailures > 1 ? 'warn' : 'info';
    log[level](`worker ${w.slot} ${cause}; restarting in ${formatDuration(decision.delayMs)}${decision.crashLooping ? ' (crash loop: retrying at the cap)' : ''}${level === 'warn' ? tailText(w) : ''}`);
    scheduleRestart(slot, decision.delayMs);
    deps.observer?.onStatus(summary());
  };

  const scheduleRestart = (slot: Slot, delayMs: number): void => {
    if (slot.restartTimer !== null) clearTimeout(slot.restartTimer);
    slot.restartTimer = setTimeout(() => {
      slot.restartTimer = null;
      if (phase === 'stopping' || slot.current !== null) return;
      try {
        slot.current = spawnWorker(slot, generation);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        log.error(`worker ${slot.index}: ${message}`);
        const decision = nextRestart(pool.restart, slot.history, 0, Math.random());
        slot.history = decision.history;
        if (decision.kind === 'give-up') beginStop('SIGTERM', ExitCode.gaveUp);
        else scheduleRestart(slot, decision.delayMs);
      }
    }, delayMs);
  };

  const onWorkerReady = (w: Worker): void => {
    const slot = slots[w.slot];
    if (slot === undefined) return;
    // A worker that stays up for the stable period clears the slot's failure count.
    setTimeout(() => {
      if (w.state.kind === 'ready') slot.history = markStable(pool.restart, slot.history, Date.now() - w.state.startedAt);
    }, pool.restart.stableAfterMs).unref();
    if (phase === 'booting' && readyCount() === pool.workers) {
      phase = 'running';
      log.info(`pool ready: ${summary()}`);
      deps.observer?.onReady(summary());
    } else {
      deps.observer?.onStatus(summary());
    }
  };

  // ---- replacement: start the new one, wait until it is ready, then stop the old one ----

  const replaceSlot = async (slot: Slot, gen: number, reason: StopReason): Promise<ReplaceResult> => {
    if (phase === 'stopping') return { ok: false, detail: 'the pool is stopping' };
    let fresh: Worker;
    try {
      fresh = spawnWorker(slot, gen);
    } catch (error) {
      return { ok: false, detail: `worker ${slot.index}: ${error instanceof Error ? error.message : String(error)}` };
    }
    slot.replacement = fresh;
    const ready = await waitReady(fresh);
    if (!ready.ok || isStopping()) {
      slot.replacement = null;
      const why = ready.ok ? 'the pool is stopping' : ready.why;
      await stopWorker(fresh, 'aborted');
      return { ok: false, detail: `replacement for worker ${slot.index} (pid ${fresh.pid}) ${why}` };
    }
    const old = slot.current;
    slot.current = fresh;
    slot.replacement = null;
    if (old !== null) await stopWorker(old, reason);
    return { ok: true, detail: `worker ${slot.index} replaced by pid ${fresh.pid}` };
  };

  const replaceUnhealthy = (w: Worker, why: string): void => {
    const slot = slots[w.slot];
    if (slot === undefined || slot.current !== w || slot.replacing || phase !== 'running') return;
    slot.replacing = true;
    log.warn(`worker ${w.slot} (pid ${w.pid}) is unhealthy: ${why}; starting a replacement before stopping it`);
    void replaceSlot(slot, generation, 'unhealthy').then((result) => {
      slot.replacing = false;
      if (!result.ok) log.error(`unable to replace unhealthy worker ${w.slot}: ${result.detail}`);
    });
  };

  // ---- reload ----

  const reload = (): Promise<ReplaceResult> => {
    if (phase === 'stopping') return Promise.resolve({ ok: false, detail: 'the pool is stopping' });
    if (reloadInFlight !== null) {
      // A reload asked for during a reload runs once more right after it (several requests coalesce into one).
      reloadAgain = true;
      log.info('reload requested during a reload: it will run again when this one finishes');
      return reloadInFlight.then(() => reloadInFlight ?? { ok: true, detail: 'done' });
    }
    const run = async (): Promise<ReplaceResult> => {
      const previous = phase;
      phase = 'reloading';
      generation += 1;
      const gen = generation;
      log.info(`reload: rolling ${pool.workers} worker(s) to generation ${gen}, ${pool.reloadSurge} at a time`);
      deps.observer?.onReloading();
      const result = await rollOut(slots.map((s) => s.index), pool.reloadSurge, (index) => {
        const slot = slots[index];
        if (slot === undefined) return Promise.resolve({ ok: false, detail: `no slot ${index}` });
        return replaceSlot(slot, gen, 'reload');
      });
      if (!isStopping()) phase = previous === 'booting' && readyCount() < pool.workers ? 'booting' : 'running';
      // A reload that ran while the pool was still booting ends the boot too: systemd must still hear READY=1.
      if (previous === 'booting' && phase === 'running') deps.observer?.onReady(summary());
      lastReload = { ok: result.ok, at: new Date().toISOString(), detail: result.detail };
      if (result.ok) log.info(`reload: generation ${gen} is serving (${summary()})`);
      // A rolled-back reload leaves the pool on the generation that is serving; restarts keep using it.
      else if (generation === gen) generation = gen - 1;
      if (!result.ok) log.error(`reload failed and was rolled back: ${result.detail}; the remaining old workers keep serving`);
      deps.observer?.onReloaded(result.ok, summary());
      return result;
    };
    const current = run().finally(() => {
      reloadInFlight = null;
      if (reloadAgain && phase !== 'stopping') {
        reloadAgain = false;
        reloadInFlight = reload();
      }
    });
    reloadInFlight = current;
    return current;
  };

  // ---- stop ----

  let stopStartedAt = 0;
  let stopProgress: NodeJS.Timeout | null = null;
  const beginStop = (signal: SignalName, code: number): void => {
    if (phase === 'stopping') return;
    phase = 'stopping';
    exitCode = code;
    stopStartedAt = Date.now();
    deps.observer?.onStopping();
    for (const slot of slots) {
      if (slot.restartTimer !== null) clearTimeout(slot.restartTimer);
      slot.restartTimer = null;
    }
    const workers = live();
    log.info(`stopping ${workers.length} worker(s) in parallel (${signal})`);
    for (const w of workers) dispatch(w, { type: 'stop', reason: 'shutdown', signal });
    const totalMs = config.stop.reduce((sum, s) => sum + s.timeoutMs, 0);
    stopProgress = setInterval(() => { deps.observer?.onStopProgress(Math.max(0, totalMs - (Date.now() - stopStartedAt))); }, 1_000);
    maybeFinish();
  };

  const signalledOrphans = new Set<number>();
  let orphanDeadline: NodeJS.Timeout | null = null;
  const maybeFinish = (): void => {
    if (phase !== 'stopping' || workersByPid.size > 0) return;
    const orphans = reaper.adoptedChildren();
    if (orphans.length > 0) {
      // Processes the workers left behind get TERM once, and KILL when the stop sequence's time is up.
      for (const pid of orphans.filter((p) => !signalledOrphans.has(p))) {
        signalledOrphans.add(pid);
        sendSignal(pid, 'SIGTERM');
        log.info(`stop: sent SIGTERM to adopted orphan ${pid}`);
      }
      orphanDeadline ??= setTimeout(() => {
        for (const pid of reaper.adoptedChildren()) sendSignal(pid, 'SIGKILL');
      }, Math.max(0, config.stop.reduce((sum, st) => sum + st.timeoutMs, 0) - (Date.now() - stopStartedAt)));
      return; // their exit brings us back here
    }
    if (orphanDeadline !== null) clearTimeout(orphanDeadline);
    if (stopProgress !== null) clearInterval(stopProgress);
    reaper.stop();
    if (fromSystemd === null) closeListenSockets(sockets);
    else for (const s of fromSystemd) { try { native.closeFd(s.fd); } catch { /* closed */ } }
    poolLifetime.abort();
    removeTendRuntimeDir();
    log.info(`pool stopped in ${formatDuration(Date.now() - stopStartedAt)}; exiting with code ${exitCode}`);
    resolveDone(exitCode);
  };

  // ---- guards: memory, CPU and open files, judged over a window ----

  const guardTimer = setInterval(() => { sampleGuards(); }, pool.guards.sampleMs);
  poolLifetime.signal.addEventListener('abort', () => { clearInterval(guardTimer); }, { once: true });
  const sampleGuards = (): void => {
    const now = Date.now();
    for (const slot of slots) {
      const w = slot.current;
      if (w === null || w.state.kind !== 'ready') continue;
      if (pool.watchdogMs !== null && now - w.lastPing > pool.watchdogMs) {
        replaceUnhealthy(w, `no WATCHDOG=1 for ${formatDuration(now - w.lastPing)} (WATCHDOG_USEC=${pool.watchdogMs * 1000})`);
        continue;
      }
      const sample = sampleProcess(w.pid);
      if (sample === null) continue;
      w.cpuSamples.push({ at: now, ticks: sample.cpuTicks });
      while (w.cpuSamples.length > 2 && now - (w.cpuSamples[1]?.at ?? now) >= pool.guards.windowMs) w.cpuSamples.shift();
      if (sample.fdCount !== null && sample.nofileSoft !== null) {
        const ratio = sample.fdCount / sample.nofileSoft;
        if (ratio >= pool.guards.fdWarnRatio && !w.fdWarned) {
          w.fdWarned = true;
          log.warn(`worker ${w.slot} (pid ${w.pid}) has ${sample.fdCount} open files, ${Math.round(ratio * 100)}% of its limit ${sample.nofileSoft}; at 100% it fails with EMFILE (raise it with --limit nofile=N)`);
        } else if (ratio < pool.guards.fdWarnRatio * 0.9) {
          w.fdWarned = false;
        }
      }
      const rssOver = pool.guards.maxRssBytes !== null && sample.rssBytes > pool.guards.maxRssBytes;
      w.overLimitSince.rss = rssOver ? (w.overLimitSince.rss ?? now) : null;
      const first = w.cpuSamples[0];
      const cpuPercent = first === undefined || now === first.at ? 0 : ((sample.cpuTicks - first.ticks) / CLOCK_TICKS_PER_SECOND) / ((now - first.at) / 1000) * 100;
      const cpuOver = pool.guards.maxCpuPercent !== null && cpuPercent > pool.guards.maxCpuPercent;
      w.overLimitSince.cpu = cpuOver ? (w.overLimitSince.cpu ?? now) : null;
      if (w.overLimitSince.rss !== null && now - w.overLimitSince.rss >= pool.guards.windowMs) {
        replaceUnhealthy(w, `RSS ${Math.round(sample.rssBytes / 1048576)} MiB above --max-memory ${Math.round((pool.guards.maxRssBytes ?? 0) / 1048576)} MiB for ${formatDuration(pool.guards.windowMs)}`);
      } else if (w.overLimitSince.cpu !== null && now - w.overLimitSince.cpu >= pool.guards.windowMs) {
        replaceUnhealthy(w, `CPU ${cpuPercent.toFixed(0)}% above --max-cpu ${pool.guards.maxCpuPercent ?? 0}% for ${formatDuration(pool.guards.windowMs)}`);
      }
    }
  };

  // ---- signals ----

  deps.signals.deliverTo((signal) => {
    log.info(`received ${signal}`);
    if (signal === 'SIGTERM' || signal === 'SIGINT') {
      if (phase === 'stopping') {
        for (const w of live()) sendSignal(-w.pid, signal);
        return;
      }
      beginStop(signal, 0);
      return;
    }
    if (signal === 'SIGHUP') {
      void reload();
      return;
    }
    // Everything else (SIGUSR2 for a profiler, SIGWINCH, ...) goes to every worker.
    for (const w of live()) sendSignal(-w.pid, signal);
    log.info(`forwarded ${signal} to ${workersByPid.size} worker(s)`);
  });

  // ---- boot ----

  try {
    // A SIGTERM that arrived before the pool existed has already begun the stop: start nothing then.
    for (const slot of slots) {
      if (isStopping()) break;
      slot.current = spawnWorker(slot, generation);
    }
  } catch (error) {
    if (!(error instanceof TendError)) throw error;
    log.error(error.message);
    beginStop('SIGTERM', error.exitCode);
  }

  function resolveOwner(owner: string | null, group: string | null): { uid: number; gid: number } {
    if (owner === null && group === null) return { uid: -1, gid: -1 };
    const c = resolveCredentials({ user: owner ?? String(process.getuid?.() ?? 0), group });
    return { uid: owner === null ? -1 : c.uid, gid: group === null ? -1 : c.gid };
  }

  return {
    done,
    reload,
    status: () => ({
      phase,
      generation,
      ready: readyCount(),
      desired: pool.workers,
      lastReload,
      workers: live().map((w) => ({ slot: w.slot, pid: w.pid, state: w.state.kind, generation: w.generation, status: w.statusText })),
    }),
  };
}
