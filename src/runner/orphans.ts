// The last step of every stop: processes tend adopted that left their group (daemons that called setsid) get the
// stop sequence too, and tend waits for them, bounded by the sequence's timeouts and KILL's grace.
import type { StopStage } from '../config/run-config.js';
import type { TendEvent } from '../core/events.js';
import { KILL_GRACE_MS } from '../core/process-machine.js';
import { sendSignal } from '../os/process-tree.js';
import type { Reaper } from '../os/reaper.js';
import type { Lifetime } from './lifetime.js';

const POLL_MS = 50;

// Stop every adopted orphan with `stop`, then KILL; resolves once none is left (or KILL's grace has passed, or
// `lifetime` has ended).
export async function stopOrphans(reaper: Reaper, stop: readonly StopStage[], lifetime: Lifetime, publish: (event: TendEvent) => void): Promise<void> {
  const stages = [...stop.map((s) => ({ signal: s.signal === 'received' ? 'SIGTERM' as const : s.signal, ms: s.timeoutMs })), { signal: 'SIGKILL' as const, ms: KILL_GRACE_MS }];
  for (const stage of stages) {
    reaper.reapNow();
    const pids = reaper.adoptedChildren();
    if (pids.length === 0) return;
    publish({ type: 'orphans', pids, signal: stage.signal });
    for (const pid of pids) {
      if (sendSignal(pid, stage.signal) && stage.signal !== 'SIGKILL' && stage.signal !== 'SIGTSTP') sendSignal(pid, 'SIGCONT');
    }
    const deadline = Date.now() + stage.ms;
    while (Date.now() < deadline && !lifetime.ended) {
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      reaper.reapNow();
      if (reaper.adoptedChildren().length === 0) return;
    }
  }
}
