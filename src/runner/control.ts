// The control socket of a running tend: one JSON request per line ({"request":"reload","service":null} or {"request":"status"}),
// one JSON answer per line. `tend reload` waits on it for the reload's outcome, so its exit code tells the truth.
import { chmodSync, lstatSync, unlinkSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import type { Logger } from '../log.js';
import type { TendHandle } from './runner.js';

// Serve `path` for a running tend until the returned close() is called.
export function serveControl(path: string, pool: Pick<TendHandle, 'reload' | 'status'>, log: Logger): { close(): void } {
  try {
    if (lstatSync(path).isSocket()) unlinkSync(path);
  } catch {
    // No stale socket.
  }
  const server: Server = createServer((socket) => {
    let buffered = '';
    socket.setEncoding('utf8');
    socket.on('error', () => undefined);
    socket.on('data', (chunk: string) => {
      buffered += chunk;
      for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        void answer(line).then((reply) => { socket.write(`${JSON.stringify(reply)}\n`); });
      }
    });
  });
  const answer = async (line: string): Promise<object> => {
    let request: unknown;
    let service: string | null = null;
    try {
      const parsed = JSON.parse(line) as { request?: unknown; service?: unknown };
      request = parsed.request;
      if (typeof parsed.service === 'string') service = parsed.service;
    } catch {
      return { ok: false, error: 'not JSON' };
    }
    if (request === 'status') return { ok: true, status: pool.status() };
    if (request === 'reload') {
      log.info('reload requested over the control socket');
      const result = await pool.reload(service);
      return { ok: result.ok, detail: result.detail, status: pool.status() };
    }
    return { ok: false, error: `unknown request ${JSON.stringify(request)}` };
  };
  server.on('error', (error) => { log.error(`control socket ${path}: ${error.message}`); });
  server.listen(path, () => {
    try { chmodSync(path, 0o600); } catch { /* abstract or gone */ }
  });
  server.unref();
  return {
    close() {
      server.close();
      try { unlinkSync(path); } catch { /* gone */ }
    },
  };
}
