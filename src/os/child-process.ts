// The one door to node:child_process in tend's own process. libuv reaps the children child_process starts, pid by
// pid, and only it can report their exit; the reaper reaps everything else of ours with waitpid, so it must know
// these pids first. A child is registered here in the same synchronous step that spawns it, before any SIGCHLD can be
// handled, so the reaper can never take its status. (Lint keeps every other module of tend's own process away from
// node:child_process.) Knowing them here, rather than from the `child_process` diagnostics channel, keeps
// node:diagnostics_channel out of tend's start-up.
import { spawn as nodeSpawn, type ChildProcess, type SpawnOptions } from 'node:child_process';

// ChildProcess objects from creation until libuv has reaped them (or their spawn failed).
const libuvChildren = new Set<ChildProcess>();

// Start a child through node:child_process, registered so the reaper leaves it to libuv.
export function spawnChild(file: string, args: readonly string[], options: SpawnOptions): ChildProcess {
  const child = nodeSpawn(file, args, options);
  libuvChildren.add(child);
  // 'exit' once libuv has reaped it; a failed spawn has no 'exit' but still a 'close' (an 'error' listener here
  // would swallow the error the caller must see).
  const drop = (): void => { libuvChildren.delete(child); };
  child.once('exit', drop);
  child.once('close', drop);
  return child;
}

// The pids the reaper must leave alone: children started by spawnChild that libuv has not reaped yet.
export function libuvOwnedPids(): readonly number[] {
  const pids: number[] = [];
  for (const child of libuvChildren) if (child.pid !== undefined) pids.push(child.pid);
  return pids;
}
