// Per-slot facts the status snapshot does not keep: how often a slot's worker was restarted, why the last time, and how
// it last exited. A small subscriber to the event stream, so the runner stays free of bookkeeping for the operator.
import type { EventSink, TendEvent } from '../core/events.js';
import { describeStatus, type ExitStatus } from '../os/exit-status.js';

/** One slot's history. */
export interface SlotHistory {
  restarts: number;
  lastReason: string | null;
  lastExit: string | null;
}

/** The history of every slot, keyed `service/slot`, plus the exit code tend announced when it began stopping. */
export interface History {
  readonly sink: EventSink;
  slot(service: string, slot: number): SlotHistory;
  exitCode(): number | null;
}

// Start recording; subscribe `sink` to the runner.
export function recordHistory(): History {
  const slots = new Map<string, SlotHistory>();
  let exitCode: number | null = null;
  const get = (service: string, slot: number): SlotHistory => {
    const key = `${service}/${slot}`;
    let entry = slots.get(key);
    if (entry === undefined) {
      entry = { restarts: 0, lastReason: null, lastExit: null };
      slots.set(key, entry);
    }
    return entry;
  };
  const sink = (event: TendEvent): void => {
    if (event.type === 'exited' && event.role === 'worker') {
      const entry = get(event.service, event.slot);
      entry.lastExit = exitText(event.status);
      // A worker replaced on purpose (reload, scale, shutdown) was not restarted; one that died or was judged unhealthy was.
      if (event.reason === null || event.reason === 'unhealthy' || event.reason === 'not-ready') {
        entry.lastReason = event.reason ?? (event.status === null ? 'exited' : `exited (${exitText(event.status)})`);
      }
    }
    if (event.type === 'restart-scheduled') get(event.service, event.slot).restarts++;
    if (event.type === 'replacing') {
      const entry = get(event.service, event.slot);
      entry.restarts++;
      entry.lastReason = event.why;
    }
    if (event.type === 'exit') exitCode = event.code;
  };
  return { sink, slot: get, exitCode: () => exitCode };
}

function exitText(status: ExitStatus | null): string {
  return status === null ? 'unknown' : describeStatus(status);
}
