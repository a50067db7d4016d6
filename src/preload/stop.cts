/* eslint-disable @typescript-eslint/no-require-imports -- a .cts file under verbatimModuleSyntax imports with require */
// What a stopping worker knows about its stop, and the app's part in it (`onStop`, `hold` from the in-app library).
//
// tend tells a Node worker about its stop over the IPC channel the preload claimed: before each stop stage's signal,
// and whenever the time to the next stage changes (EXTEND_TIMEOUT_USEC, holds), an internal message
// { cmd: 'NODE_TEND_STOP', reason, stage, stages, ms }. From it:
//   - the drain picks WebSocket close codes (1012 when the worker is replaced, 1001 when it goes away);
//   - onStop hooks run once, at the first notice, with an AbortSignal that fires shortly before the next stage is due
//     (re-armed while the time moves) and the time left;
//   - the drain's exit waits until no hold is held and every hook's promise has settled.
// The hub lives on `process` (Symbol.for('tend.stop')) so that the in-app library, loaded as its own module (ESM or
// CommonJS, any copy of tend), finds the preload's without importing it. Holds also go to tend as X_TEND_HOLD= /
// X_TEND_RELEASE= datagrams on TEND_NOTIFY_FD: tend's stop stages wait for them (bounded by its budget).
import fs = require('node:fs');
import contract = require('../contract/env.cjs');
import log = require('./log.cjs');

const NOTICE = contract.IPC.stopNotice;
const HUB = Symbol.for('tend.stop');
/** When there is no notice yet at a signal, how long the exit waits for one before running without it. */
const NOTICE_WAIT_MS = 200;

/** Why tend stops this worker (core/events.ts StopReason), what stage it is in, and how long until the next one. */
interface Notice {
  readonly reason: string;
  readonly stage: number;
  readonly stages: number;
  /** performance.now() when the next stage is due. */
  readonly due: number;
}

type Hook = (signal: AbortSignal, timeLeftMs: number) => unknown;

/** The shape the in-app library looks for on `process` (versioned: a newer library must check `version`). */
interface StopHub {
  readonly version: 1;
  onStop(hook: Hook): () => void;
  hold(name: string): () => void;
}

interface Hub extends StopHub {
  /** The latest notice, or null before the stop began. */
  notice(): Notice | null;
  /** Calls `done` once the stop is known (or NOTICE_WAIT_MS passed) and no hold or hook is pending. */
  whenIdle(done: () => void): void;
  /** Whether the app asked to take part in the stop (hooks or holds). */
  involved(): boolean;
}

/** The time before the next stage at which onStop's signal fires: a tenth of what is left, at most 1 s. */
function leadMs(leftMs: number): number {
  return Math.min(1_000, Math.max(0, leftMs / 10));
}

function parseNotice(message: unknown): Notice | null {
  if (typeof message !== 'object' || message === null) return null;
  const m = message as { cmd?: unknown; reason?: unknown; stage?: unknown; stages?: unknown; ms?: unknown };
  if (m.cmd !== NOTICE || typeof m.reason !== 'string' || typeof m.stage !== 'number' || typeof m.ms !== 'number') return null;
  return { reason: m.reason, stage: m.stage, stages: typeof m.stages === 'number' ? m.stages : m.stage + 1, due: performance.now() + m.ms };
}

/** The stop hub for this process: creates it once and listens for tend's notices when a channel was claimed. */
function install(notifyFd: number | null, listening: boolean): Hub {
  const marks = process as unknown as Record<symbol, unknown>;
  const existing = marks[HUB] as Hub | undefined;
  if (existing !== undefined) return existing;
  const hub = createHub(notifyFd);
  Object.defineProperty(process, HUB, { value: hub, enumerable: false });
  if (listening) {
    process.on('internalMessage', (message: unknown) => {
      const notice = parseNotice(message);
      if (notice !== null) hub.receive(notice);
    });
  }
  return hub;
}

interface HubImpl extends Hub {
  receive(notice: Notice): void;
}

function createHub(notifyFd: number | null): HubImpl {
  const hooks = new Set<Hook>();
  const holds = new Map<string, number>();
  const pending = new Set<Promise<unknown>>();
  const idleWaiters: (() => void)[] = [];
  let current: Notice | null = null;
  let controller: AbortController | null = null;
  let abortTimer: NodeJS.Timeout | undefined;
  let waitingSince: number | null = null;

  const send = (line: string): void => {
    if (notifyFd === null) return;
    try {
      fs.writeSync(notifyFd, Buffer.from(`${line}\n`));
    } catch (e) {
      log.debug(`could not tell tend ${line}: ${log.describe(e)}`);
    }
  };

  const idle = (): boolean => holds.size === 0 && pending.size === 0 &&
    (hooks.size === 0 || current !== null || (waitingSince !== null && performance.now() - waitingSince >= NOTICE_WAIT_MS));

  const checkIdle = (): void => {
    if (idleWaiters.length === 0 || !idle()) return;
    for (const done of idleWaiters.splice(0)) setImmediate(done);
  };

  const run = (hook: Hook): void => {
    if (controller === null || current === null) return;
    try {
      const result = hook(controller.signal, Math.max(0, Math.round(current.due - performance.now())));
      if (result instanceof Promise) {
        const settled = result.then(() => undefined, (e: unknown) => { log.warnOnce(`hook:${log.describe(e)}`, `an onStop hook failed: ${log.describe(e)}`); });
        pending.add(settled);
        void settled.then(() => { pending.delete(settled); checkIdle(); });
      }
    } catch (e) {
      log.warnOnce(`hook:${log.describe(e)}`, `an onStop hook threw: ${log.describe(e)}`);
    }
  };

  const armAbort = (): void => {
    if (controller === null || current === null || controller.signal.aborted) return;
    if (abortTimer !== undefined) clearTimeout(abortTimer);
    const left = current.due - performance.now();
    const active = controller;
    // Not unref'd on purpose: a worker whose hooks still work must not exit before they are told time is up.
    abortTimer = setTimeout(() => { active.abort(new Error('tend: the next stop stage is due')); }, Math.max(0, left - leadMs(left)));
    if (pending.size === 0 && holds.size === 0) abortTimer.unref();
  };

  const hub: HubImpl = {
    version: 1,
    onStop(hook) {
      hooks.add(hook);
      if (controller !== null) run(hook); // the stop already began: at once, with what is left
      return () => { hooks.delete(hook); };
    },
    hold(name) {
      holds.set(name, (holds.get(name) ?? 0) + 1);
      send(`${contract.NOTIFY_HOLD}=${name}`);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        const count = (holds.get(name) ?? 1) - 1;
        if (count > 0) holds.set(name, count);
        else holds.delete(name);
        send(`${contract.NOTIFY_RELEASE}=${name}`);
        checkIdle();
      };
    },
    notice: () => current,
    involved: () => hooks.size > 0 || holds.size > 0,
    whenIdle(done) {
      waitingSince ??= performance.now();
      idleWaiters.push(done);
      checkIdle();
      // The notice may never come (no channel): look again once the wait for it is over.
      if (!idle()) setTimeout(checkIdle, NOTICE_WAIT_MS).unref();
    },
    receive(notice) {
      const previous = current;
      current = notice;
      log.debug(`stop notice: ${notice.reason}, stage ${notice.stage + 1}/${notice.stages}, next in ${Math.round(notice.due - performance.now())} ms`);
      if (controller === null) {
        controller = new AbortController();
        for (const hook of [...hooks]) run(hook);
      } else if (previous !== null && notice.stage > previous.stage && !controller.signal.aborted) {
        controller.abort(new Error('tend: the next stop stage began'));
      }
      armAbort();
      checkIdle();
    },
  };
  return hub;
}

export = { install };
