// HTTP helpers for pool tests: one request, and a bounded keep-alive load that counts every failure.
import { Agent, request } from 'node:http';
import { createServer } from 'node:net';

/** A JSON answer from test/fixtures/http-app.js. */
export interface AppAnswer { pid: number; build: string; generation: string | null; slot: string | null; count: string | null }

// GET / on 127.0.0.1:port (or a unix socket path) and parse the fixture's JSON answer.
export function get(target: number | string, agent: Agent | false = false): Promise<AppAnswer> {
  return new Promise((resolve, reject) => {
    const where = typeof target === 'number' ? { host: '127.0.0.1', port: target } : { socketPath: target };
    const req = request({ ...where, path: '/', agent, timeout: 5_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { body += c; });
      res.on('end', () => {
        if (res.statusCode !== 200) { reject(new Error(`status ${res.statusCode}`)); return; }
        try { resolve(JSON.parse(body) as AppAnswer); } catch (e) { reject(e instanceof Error ? e : new Error(String(e))); }
      });
    });
    req.on('timeout', () => { req.destroy(new Error('timeout')); });
    req.on('error', reject);
    req.end();
  });
}

/** Totals of a load run. */
export interface LoadResult { ok: number; errors: number; errorKinds: Record<string, number>; latenciesMs: number[]; pids: Set<number>; generations: Set<string> }

// `connections` keep-alive clients send requests back to back until `stop()` resolves or `maxRequests` is reached.
export function loadUntil(port: number, connections: number, stop: Promise<unknown>, maxRequests = 200_000): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  const result: LoadResult = { ok: 0, errors: 0, errorKinds: {}, latenciesMs: [], pids: new Set(), generations: new Set() };
  let stopped = false;
  void stop.then(() => { stopped = true; });
  let sent = 0;
  const client = async (): Promise<void> => {
    while (!stopped && sent < maxRequests) {
      sent++;
      const t0 = performance.now();
      try {
        const answer = await get(port, agent);
        result.ok++;
        result.pids.add(answer.pid);
        if (answer.generation !== null) result.generations.add(answer.generation);
        result.latenciesMs.push(performance.now() - t0);
      } catch (error) {
        result.errors++;
        const kind = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
        result.errorKinds[kind] = (result.errorKinds[kind] ?? 0) + 1;
      }
    }
  };
  return Promise.all(Array.from({ length: connections }, client)).then(() => { agent.destroy(); return result; });
}

// A TCP port on 127.0.0.1 that was free a moment ago (bind to 0, read it, close).
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => { resolve(typeof address === 'object' && address !== null ? address.port : 0); });
    });
  });
}

/** A whole plain GET on loopback (status, body and how long it took), for endpoints that answer text (/metrics). */
export function httpGet(port: number, path: string, timeoutMs = 10_000): Promise<{ status: number; body: string; ms: number }> {
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { body += c; });
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, body, ms: Date.now() - t0 }); });
    });
    req.on('timeout', () => { req.destroy(new Error('timeout')); });
    req.on('error', reject);
    req.end();
  });
}

/** Prometheus text → name{labels} → value, for every sample line. */
export function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}
