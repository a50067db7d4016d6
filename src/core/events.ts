// The typed event stream: the core's only output. The log, the systemd notifier, the control socket, metrics and the
// tests all subscribe to it; none of them reaches into the machines. Types only.
import type { SignalName } from '../config/signal-names.js';
import type { ExitStatus } from '../os/exit-status.js';

/** Why tend stopped a process. `lingering` never appears: a process that exited on its own has reason null. */
export type StopReason = 'shutdown' | 'reload' | 'not-ready' | 'unhealthy' | 'aborted' | 'scale' | 'kill';

/** What a process is for: a setup step (`--before`, run once) or a worker in a slot. */
export type ProcessRole = 'step' | 'worker';

/** Why tend replaced a ready worker it judged unhealthy: a guard (memory, CPU), its watchdog, or its liveness probe. */
export type ReplaceReason = 'memory' | 'cpu' | 'watchdog' | 'liveness';

/** Why a service ended for good. */
export type EndReason = 'exited' | 'gave-up' | 'spawn-failed' | 'step-failed';

/** Every fact the core reports, in the order it happened. `service` is the service's name; `slot` its slot index. */
export type TendEvent =
  | { readonly type: 'service-starting'; readonly service: string; readonly workers: number }
  | {
      readonly type: 'spawned';
      readonly service: string;
      readonly slot: number;
      readonly pid: number;
      readonly generation: number;
      readonly role: ProcessRole;
      readonly step: number;
    }
  | { readonly type: 'spawn-failed'; readonly service: string; readonly slot: number; readonly role: ProcessRole; readonly code: number; readonly message: string }
  | { readonly type: 'ready'; readonly service: string; readonly slot: number; readonly pid: number; readonly generation: number; readonly afterMs: number }
  | {
      readonly type: 'signalled';
      readonly service: string;
      readonly slot: number;
      readonly pid: number;
      readonly signal: SignalName;
      readonly to: 'main' | 'group';
      readonly why: 'stop' | 'forward' | 'kill';
    }
  | {
      readonly type: 'exited';
      readonly service: string;
      readonly slot: number;
      readonly pid: number;
      readonly role: ProcessRole;
      readonly generation: number;
      readonly status: ExitStatus | null;
      readonly reason: StopReason | null;
      readonly uptimeMs: number;
      readonly wasReady: boolean;
      readonly forced: boolean;
      /** The last lines it wrote, added by the runner when it ended on its own or was not ready (crash reports). */
      readonly lastLines?: readonly string[];
    }
  | { readonly type: 'lingering'; readonly service: string; readonly slot: number; readonly pid: number }
  | {
      readonly type: 'restart-scheduled';
      readonly service: string;
      readonly slot: number;
      readonly delayMs: number;
      readonly failures: number;
      readonly crashLooping: boolean;
    }
  | { readonly type: 'replacing'; readonly service: string; readonly slot: number; readonly pid: number; readonly why: string; readonly reason: ReplaceReason }
  /** A ready worker failed a liveness probe; `failures` in a row so far, `degraded`: the service replaces nobody now. */
  | {
      readonly type: 'probe-failed';
      readonly service: string;
      readonly slot: number;
      readonly pid: number;
      readonly failures: number;
      readonly threshold: number;
      readonly detail: string;
      readonly degraded: boolean;
    }
  /** A worker that had failed liveness probes answered one: its count is back to 0. */
  | { readonly type: 'probe-recovered'; readonly service: string; readonly slot: number; readonly pid: number; readonly failures: number }
  /** Half or more of the ready workers fail their liveness probes at once: a shared cause, so none is replaced. */
  | { readonly type: 'liveness-degraded'; readonly service: string; readonly failing: number; readonly ready: number }
  /** The shared failure is over: liveness replacements resume. */
  | { readonly type: 'liveness-cleared'; readonly service: string }
  | { readonly type: 'replace-failed'; readonly service: string; readonly slot: number; readonly detail: string }
  | { readonly type: 'gave-up'; readonly service: string; readonly slot: number; readonly detail: string }
  | { readonly type: 'service-ready'; readonly service: string; readonly ready: number; readonly desired: number; readonly generation: number }
  | { readonly type: 'service-status'; readonly service: string; readonly ready: number; readonly desired: number; readonly generation: number }
  | { readonly type: 'service-done'; readonly service: string }
  | { readonly type: 'service-ended'; readonly service: string; readonly why: EndReason; readonly status: ExitStatus | null; readonly code: number }
  | { readonly type: 'service-stopped'; readonly service: string; readonly status: ExitStatus | null; readonly code: number }
  | { readonly type: 'reload-started'; readonly service: string; readonly generation: number; readonly workers: number; readonly surge: number }
  | {
      readonly type: 'reload-finished';
      readonly service: string;
      readonly generation: number;
      readonly ok: boolean;
      readonly detail: string;
      readonly requests: readonly number[];
    }
  | { readonly type: 'reload-coalesced'; readonly service: string; readonly request: number }
  | { readonly type: 'scale-started'; readonly service: string; readonly from: number; readonly to: number }
  | {
      readonly type: 'scale-finished';
      readonly service: string;
      readonly workers: number;
      readonly ok: boolean;
      readonly detail: string;
      readonly requests: readonly number[];
    }
  | { readonly type: 'extended'; readonly service: string; readonly slot: number; readonly pid: number; readonly deadline: 'ready' | 'stop'; readonly ms: number }
  /** The app took or released a hold (`hold(name)`); `holds` = how many names it holds now. */
  | { readonly type: 'held'; readonly service: string; readonly slot: number; readonly pid: number; readonly name: string; readonly holds: number }
  | { readonly type: 'released'; readonly service: string; readonly slot: number; readonly pid: number; readonly name: string; readonly holds: number }
  /** A stop stage's time is up, but the next stage waits for the app's holds (at most `ms` more). */
  | { readonly type: 'stage-held'; readonly service: string; readonly slot: number; readonly pid: number; readonly stage: number; readonly holds: readonly string[]; readonly ms: number }
  | { readonly type: 'notified'; readonly service: string; readonly slot: number; readonly pid: number; readonly status: string | null; readonly stopping: boolean }
  | { readonly type: 'all-ready' }
  | { readonly type: 'received'; readonly signal: SignalName }
  /** A stop signal arrived with `--stop-delay`: readiness fails now, the workers serve on for delayMs, then the stop. */
  | { readonly type: 'stop-delayed'; readonly signal: SignalName; readonly delayMs: number }
  | { readonly type: 'stopping'; readonly signal: SignalName | null; readonly deadlineMs: number; readonly why: string }
  | { readonly type: 'orphans'; readonly pids: readonly number[]; readonly signal: SignalName }
  | { readonly type: 'reaped-orphan'; readonly pid: number; readonly status: ExitStatus }
  | { readonly type: 'exit'; readonly code: number }
  | { readonly type: 'log'; readonly level: 'error' | 'warn' | 'info' | 'debug'; readonly message: string };

/** Anything that wants the event stream. */
export type EventSink = (event: TendEvent) => void;
