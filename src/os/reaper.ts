// Orphan reaping for PID 1 and subreapers that never steals the exit status of a child Node itself spawned.
// libuv reaps its own children pid by pid (waitpid(pid, WNOHANG)), so a blind waitpid(-1) here would swallow
// their status and Node would never emit 'exit'. We therefore reap every child of ours *except* the pids that
// child_process started; those are learned by wrapping ChildProcess.prototype.spawn, which every child_process
// API goes through (spawnSync reaps its own child before returning).
import { ChildProcess } from 'node:child_process';
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

const libuvChildren = new Set<number>();
let spawnWrapped = false;

// Track pids that Node's child_process started, so the reaper leaves them to libuv.
function trackLibuvChildren(): void {
  if (spawnWrapped) return;
  spawnWrapped = true;
  // ChildProcess#spawn is public at run time (every child_process API calls it) but missing from @types/node.
  const proto = ChildProcess.prototype as unknown as { spawn: (this: ChildProcess, ...args: unknown[]) => unknown };
  const original = proto.spawn;
  proto.spawn = function spawn(this: ChildProcess, ...args: unknown[]) {
    const result = original.apply(this, args);
    const pid = this.pid;
    if (pid !== undefined) {
      libuvChildren.add(pid);
      this.once('exit', () => libuvChildren.delete(pid));
    }
    return result;
  };
}

// Pids the reaper must leave alone (exported for tests of the no-steal rule).
export function libuvOwnedPids(): readonly number[] {
  return [...libuvChildren];
}

// Start reaping on SIGCHLD; `onReaped` hears about every child reaped, ours and orphans alike.
export function startReaper(onReaped: (reaped: Reaped) => void): Reaper {
  trackLibuvChildren();
  const reapNow = (): Reaped[] => {
    const results = native.reapChildren([...libuvChildren]).map(({ pid, code, signal }) => ({
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
    adoptedChildren: () => native.listChildren().filter((pid) => !libuvChildren.has(pid)),
    stop: stopListening,
  };
}
