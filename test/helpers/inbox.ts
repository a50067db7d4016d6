// A test's stand-in for systemd's NOTIFY_SOCKET: datagrams arriving on an fd, each awaited with a time bound.
import { native, type DgramMessage } from '../../src/os/native.js';

/** Datagrams arriving on fd, each awaited with a time bound. */
export function inbox(fd: number): { next(timeoutMs?: number): Promise<DgramMessage>; pending(): number; close(): void } {
  const queue: DgramMessage[] = [];
  const waiting: ((m: DgramMessage) => void)[] = [];
  const watcher = native.dgramWatch(fd, (m) => {
    const w = waiting.shift();
    if (w) w(m);
    else queue.push(m);
  });
  return {
    next(timeoutMs = 5_000) {
      const m = queue.shift();
      if (m) return Promise.resolve(m);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiting.splice(waiting.indexOf(done), 1);
          reject(new Error(`no datagram within ${timeoutMs} ms`));
        }, timeoutMs);
        const done = (msg: DgramMessage): void => { clearTimeout(timer); resolve(msg); };
        waiting.push(done);
      });
    },
    pending: () => queue.length,
    close() { watcher.close(); },
  };
}
