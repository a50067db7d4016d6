// Shared by the addon's tests: reaps natively spawned children on SIGCHLD and lets a test await one pid's exit.
import { native, type ReapedChild } from '../../src/os/native.js';

/** Reaps our native children on SIGCHLD and lets tests await a pid's exit. */
export class ChildReaper {
  readonly reaped: ReapedChild[] = [];
  #waiters: { check: () => boolean; resolve: () => void }[] = [];
  readonly #onSigchld = (): void => { this.poll(); };
  start(): void { process.on('SIGCHLD', this.#onSigchld); }
  stop(): void { process.off('SIGCHLD', this.#onSigchld); }
  poll(): void {
    const got = native.reapChildren([]);
    if (got.length === 0) return;
    this.reaped.push(...got);
    this.#waiters = this.#waiters.filter((w) => (w.check() ? (w.resolve(), false) : true));
  }
  async exit(pid: number): Promise<ReapedChild> {
    const find = (): ReapedChild | undefined => this.reaped.find((c) => c.pid === pid);
    if (find() === undefined) {
      // Signal listeners do not keep the event loop alive; this timer does, until the exit arrives.
      const keepAlive = setInterval(() => undefined, 1 << 30);
      await new Promise<void>((resolve) => {
        this.#waiters.push({ check: () => find() !== undefined, resolve });
        this.poll();
      }).finally(() => { clearInterval(keepAlive); });
    }
    return find()!;
  }
}

/** Waits for one native child, for test files that start no other children concurrently. */
export async function waitExit(pid: number): Promise<ReapedChild> {
  const keepAlive = setInterval(() => undefined, 1 << 30); // signal listeners do not keep the loop alive
  try {
    return await new Promise<ReapedChild>((resolve) => {
      const check = (): void => {
        const exit = native.reapChildren([]).find((c) => c.pid === pid);
        if (exit === undefined) return;
        process.off('SIGCHLD', check);
        resolve(exit);
      };
      process.on('SIGCHLD', check);
      check();
    });
  } finally {
    clearInterval(keepAlive);
  }
}
