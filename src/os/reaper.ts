// Orphan reaping for PID 1 and subreapers that never steals the exit status of a child Node itself spawned.
// libuv reaps its own children pid by pid (waitpid(pid, WNOHANG)), so a blind waitpid(-1) here would swallow
// their status and Node would never emit 'exit'. We therefore reap every child of ours *except* the pids that
// child_process started; those are learned from the `child_process` diagnostics channel, on which every
// ChildProcess announces itself when created (spawnSync reaps its own child before returning). Listening there
// instead of importing child_process keeps that module (and net, dgram and streams with it: ~2 MiB) out of
// tend's start-up, and still sees a child_process loaded later.
import type { ChildProcess } from 'node:child_process';
import { subscribe } from 'node:diagnostics_channel';
import type { ExitStatus } from './exit-status.js';
import { native } from './native.js';
import { onChildSignal } from './signals.js';

/** A child that was reaped, with how it ended. */
export interface Reaped {
  readonly pid: number;
  readonly status: ExitStatus;
}

export interface Reaper {
  /** Reap now (also runs on every SIGCHLD); returns what was reaped. */
  reapNow(): Reaped[];
  /** Our children that are not child_process's: the main child, steps, and adopted orphans. */
  adoptedChildren(): number[];
  stop(): void;
}

// ChildProcess objects from creation until libuv has reaped them (or their spawn failed).
const libuvChildren = new Set<ChildProcess>();
let tracking = false;

// Track the children Node's child_process starts, so the reaper leaves them to libuv.
function trackLibuvChildren(): void {
  if (tracking) return;
  tracking = true;
  subscribe('child_process', (message) => {
    const child = (message as { process: ChildProcess }).process;
    libuvChildren.add(child);
    // 'exit' once libuv has reaped it; a failed spawn has no 'exit' but still a 'close' (an 'error' listener here
    // would swallow the error the app's own code must see).
    const drop = (): void => { libuvChildren.delete(child); };
    child.once('exit', drop);
    child.once('close', drop);
  });
}

// Pids the reaper must leave alone (exported for tests of the no-steal rule).
export function libuvOwnedPids(): readonly number[] {
  const pids: number[] = [];
  for (const child of libuvChildren) if (child.pid !== undefined) pids.push(child.pid);
  return pids;
}

// Start reaping on SIGCHLD; `onReaped` hears about every child reaped, ours and orphans alike.
export function startReaper(onReaped: (reaped: Reaped) => void): Reaper {
  trackLibuvChildren();
  const reapNow = (): Reaped[] => {
    const results = native.reapChildren([...libuvOwnedPids()]).map(({ pid, code, signal }) => ({
      pid,
      status: (signal === null ? { code: code ?? 0, signal: null } : { code: null, signal }) satisfies ExitStatus,
    }));
    for (const reaped of results) onReaped(reaped);
    return results;
  };
  const stopListening = onChildSignal(() => {
    reapNow();
  });
  return {
    reapNow,
    adoptedChildren: () => {
      const libuv = new Set(libuvOwnedPids());
      return native.listChildren().filter((pid) => !libuv.has(pid));
    },
    stop: stopListening,
  };
}
