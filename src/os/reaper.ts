// Orphan reaping for PID 1 and subreapers that never steals the exit status of a child Node itself spawned.
// libuv reaps its own children pid by pid (waitpid(pid, WNOHANG)), so a blind waitpid(-1) here would swallow
// their status and Node would never emit 'exit'. We therefore reap every child of ours *except* the pids that
// child_process started; tend starts those only through os/child-process.ts, which registers each one as it spawns.
import { libuvOwnedPids } from './child-process.js';
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

// Start reaping on SIGCHLD; `onReaped` hears about every child reaped, ours and orphans alike.
export function startReaper(onReaped: (reaped: Reaped) => void): Reaper {
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
