// The log: one subscriber of the event stream that renders events as `tend:` lines on stderr. Tests never read these
// lines; they read the event stream itself (`--event-log`).
import { formatDuration } from '../config/duration.js';
import type { EventSink, TendEvent } from '../core/events.js';
import type { Logger } from '../log.js';
import { describeStatus } from '../os/exit-status.js';

// A sink that writes each event as a human line. `shape` names a lone service ("pool": workers are "worker N";
// "command": the single command) or null for several services ("web.1", "service web").
export function logView(log: Logger, shape: 'pool' | 'command' | null): EventSink {
  const single = shape !== null;
  const who = (service: string, slot: number): string => (shape === 'command' ? 'command' : single ? `worker ${slot}` : `${service}.${slot}`);
  const svc = (service: string): string => shape ?? `service ${service}`;
  const lastExit = new Map<string, string>();
  return (event: TendEvent) => {
    const line = render(event, { who, svc, single, lastExit });
    if (line !== null && log.enabled(line.level)) log[line.level](line.text());
  };
}

// The text is made only for a line the logger prints: without --verbose a run prints none of its info lines.
type Line = { level: 'error' | 'warn' | 'info' | 'debug'; text: () => string } | null;

interface View {
  readonly who: (service: string, slot: number) => string;
  readonly svc: (service: string) => string;
  readonly single: boolean;
  readonly lastExit: Map<string, string>;
}

function render(e: TendEvent, view: View): Line {
  return renderProcess(e, view) ?? renderLiveness(e, view) ?? renderHold(e, view) ?? renderService(e, view) ?? renderTend(e);
}

// Lines about the app's holds (`hold(name)`) and the stop stages they postpone.
function renderHold(e: TendEvent, { who }: View): Line | undefined {
  switch (e.type) {
    case 'held': return { level: 'debug', text: () => `${who(e.service, e.slot)} (pid ${e.pid}) holds ${JSON.stringify(e.name)} (${e.holds} held)` };
    case 'released': return { level: 'debug', text: () => `${who(e.service, e.slot)} (pid ${e.pid}) released ${JSON.stringify(e.name)} (${e.holds} held)` };
    case 'stage-held': return { level: 'info', text: () => `${who(e.service, e.slot)} (pid ${e.pid}): its stop waits for ${e.holds.map((h) => JSON.stringify(h)).join(', ')} (at most ${formatDuration(e.ms)} more)` };
    default: return undefined;
  }
}

// Lines about liveness probes: a failure, a recovery, and the service-wide degraded state (said once, and once cleared).
function renderLiveness(e: TendEvent, view: View): Line | undefined {
  const { who } = view;
  switch (e.type) {
    case 'probe-failed':
      // While the service is degraded every worker fails every round: the degraded line said it once.
      return { level: e.degraded ? 'debug' : 'warn', text: () => `${who(e.service, e.slot)} (pid ${e.pid}) failed its liveness probe (${e.failures} in a row; replaced at ${e.threshold}): ${e.detail}` };
    case 'probe-recovered': return { level: 'info', text: () => `${who(e.service, e.slot)} (pid ${e.pid}) answered its liveness probe again after ${e.failures} failure(s)` };
    case 'liveness-degraded':
      return { level: 'error', text: () => `service ${e.service} is degraded: ${e.failing} of ${e.ready} ready workers fail their liveness probes at once (a shared cause?); replacing none until it clears` };
    case 'liveness-cleared': return { level: 'info', text: () => `service ${e.service}: liveness probes pass again; replacements resume` };
    default: return undefined;
  }
}

// Lines about one process: started, ready, signalled, exited, restarted, replaced.
function renderProcess(e: TendEvent, view: View): Line | undefined {
  const { who, svc } = view;
  switch (e.type) {
    case 'spawned':
      return { level: 'info', text: () => e.role === 'step' ? `${svc(e.service)}: started step ${e.step + 1} as pid ${e.pid}` : `${who(e.service, e.slot)} started as pid ${e.pid} (generation ${e.generation})` };
    case 'spawn-failed': return { level: 'error', text: () => e.message };
    case 'ready': return { level: 'info', text: () => `${who(e.service, e.slot)} (pid ${e.pid}) is ready after ${formatDuration(e.afterMs)}` };
    case 'signalled': return { level: 'info', text: () => `${who(e.service, e.slot)}: sent ${e.signal} to ${e.to === 'group' ? 'process group' : 'pid'} ${e.pid}` };
    case 'exited': return renderExit(e, who, view.lastExit, view.single);
    case 'lingering': return { level: 'info', text: () => `${who(e.service, e.slot)} (pid ${e.pid}) exited while other processes of its group are still running; stopping them` };
    case 'restart-scheduled': {
      const exit = view.lastExit.get(`${e.service}.${e.slot}`) ?? `${who(e.service, e.slot)} exited`;
      const loop = e.crashLooping ? ' (crash loop: retrying at the cap)' : '';
      return { level: e.failures > 1 ? 'warn' : 'info', text: () => `${exit}; restarting in ${formatDuration(e.delayMs)}${loop}` };
    }
    case 'replacing': return { level: 'warn', text: () => `${who(e.service, e.slot)} (pid ${e.pid}) is unhealthy: ${e.why}; starting a replacement before stopping it` };
    case 'replace-failed': return { level: 'error', text: () => `unable to replace unhealthy ${who(e.service, e.slot)}: ${e.detail}` };
    case 'gave-up': {
      // The last crash is the user's only clue to why: say it, with what the worker wrote last.
      const exit = view.lastExit.get(`${e.service}.${e.slot}`);
      return { level: 'error', text: () => `giving up on ${who(e.service, e.slot)}: ${e.detail}; stopping${exit === undefined ? '' : `. Last failure: ${exit}`}` };
    }
    case 'extended': return { level: 'info', text: () => `${who(e.service, e.slot)} (pid ${e.pid}) extended its ${e.deadline} deadline to ${formatDuration(e.ms)}` };
    case 'notified': return { level: 'debug', text: () => `${who(e.service, e.slot)} (pid ${e.pid}) notified${e.status === null ? '' : ` STATUS=${e.status}`}` };
    default: return undefined;
  }
}

// Lines about a service as a whole: readiness, reloads, scaling, its end.
function renderService(e: TendEvent, view: View): Line | undefined {
  const { svc, single } = view;
  const reload = single ? 'reload' : `reload ${'service' in e ? e.service : ''}`;
  switch (e.type) {
    case 'service-ready': return { level: 'info', text: () => `${svc(e.service)} ready: ${e.ready}/${e.desired} workers ready, generation ${e.generation}` };
    case 'service-done': return { level: 'info', text: () => `${svc(e.service)} finished its work (oneshot, exit code 0)` };
    case 'service-ended': return { level: e.code === 0 || view.who(e.service, 0) === 'command' ? 'info' : 'warn', text: () => `${svc(e.service)} ended (${e.why}, exit code ${e.code})` };
    case 'service-stopped': return { level: 'info', text: () => `${svc(e.service)} stopped` };
    case 'reload-started': return { level: 'info', text: () => `${reload}: rolling ${e.workers} worker(s) to generation ${e.generation}, ${e.surge} at a time` };
    case 'reload-finished':
      return e.ok
        ? { level: 'info', text: () => `${reload}: generation ${e.generation} is serving (${e.detail})` }
        : { level: 'error', text: () => `${reload} failed: ${e.detail}; the workers not replaced keep serving` };
    case 'reload-coalesced': return { level: 'info', text: () => 'reload requested during a reload: it will run again when this one finishes' };
    case 'scale-started': return { level: 'info', text: () => `scale ${e.service}: ${e.from} → ${e.to} worker(s)` };
    case 'scale-finished': return { level: e.ok ? 'info' : 'error', text: () => `scale ${e.service}: ${e.ok ? 'done' : 'refused'}: ${e.detail}` };
    default: return undefined;
  }
}

// Lines about tend itself: signals, the stop, orphans, the exit.
function renderTend(e: TendEvent): Line {
  switch (e.type) {
    case 'log': return { level: e.level, text: () => e.message };
    case 'received': return { level: 'info', text: () => `received ${e.signal}` };
    case 'stop-delayed': return { level: 'info', text: () => `received ${e.signal}: failing readiness, workers serve on for ${formatDuration(e.delayMs)} before the stop (send it again to skip)` };
    case 'stopping': return { level: 'info', text: () => `stopping: ${e.why} (deadline ${formatDuration(e.deadlineMs)})` };
    case 'orphans': return { level: 'info', text: () => `stop: sent ${e.signal} to ${e.pids.length} adopted orphan(s)` };
    case 'reaped-orphan': return { level: 'info', text: () => `reaped pid ${e.pid} (${describeStatus(e.status)})` };
    case 'exit': return { level: 'info', text: () => `exiting with code ${e.code}` };
    default: return null;
  }
}

function renderExit(e: Extract<TendEvent, { type: 'exited' }>, who: (s: string, n: number) => string, lastExit: Map<string, string>, single: boolean): Line {
  const status = e.status === null ? 'no status (it survived SIGKILL)' : describeStatus(e.status);
  const why = e.reason === 'not-ready' ? 'was not ready within its ready timeout' : `exited with ${status} after ${formatDuration(e.uptimeMs)}`;
  const tail = e.lastLines === undefined || e.lastLines.length === 0 ? '' : `; last output:\n${e.lastLines.map((l) => `  | ${l}`).join('\n')}`;
  const text = (): string => `${who(e.service, e.slot)} (pid ${e.pid}) ${why}${e.reason === null || e.reason === 'not-ready' ? '' : ` (${e.reason})`}${e.forced ? ', killed at the stop deadline' : ''}`;
  lastExit.set(`${e.service}.${e.slot}`, `${who(e.service, e.slot)} ${why}${tail}`);
  return { level: !single && e.reason === null && !e.wasReady && e.role === 'worker' ? 'warn' : 'info', text };
}
