// The systemd notifier as a subscriber of the event stream: READY=1 once every long-running service is ready,
// RELOADING=1/READY=1 around each reload, STATUS= on changes, STOPPING=1 and EXTEND_TIMEOUT_USEC= while stopping.
import type { EventSink, TendEvent } from '../core/events.js';
import type { ManagerObserver } from './notifier.js';

// A sink that reports tend to systemd through `observer`; `summary` renders the current "2/2 workers ready" text.
export function systemdSink(observer: ManagerObserver, summary: () => string): { sink: EventSink; stop(): void } {
  let progress: NodeJS.Timeout | null = null;
  let reloading = 0;
  const stop = (): void => {
    if (progress !== null) clearInterval(progress);
    progress = null;
  };
  const sink = (event: TendEvent): void => {
    if (event.type === 'all-ready') observer.onReady(summary());
    else if (event.type === 'reload-started') {
      if (reloading++ === 0) observer.onReloading();
    } else if (event.type === 'reload-finished') {
      if (reloading === 0) return;
      reloading -= 1;
      if (reloading === 0) observer.onReloaded(event.ok, summary());
    } else if (event.type === 'service-status' || event.type === 'service-ready') {
      observer.onStatus(summary());
    } else if (event.type === 'stopping') {
      observer.onStopping();
      const startedAt = Date.now();
      progress = setInterval(() => { observer.onStopProgress(Math.max(0, event.deadlineMs - (Date.now() - startedAt))); }, 1_000);
    } else if (event.type === 'exit') {
      stop();
    }
  };
  return { sink, stop };
}
