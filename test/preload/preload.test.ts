// The worker preload in real processes with real sockets: the test plays tend. It creates listening sockets with the
// addon, hands them to Node workers (fd 3…, notify socket after them) with the preload injected, and checks the
// listen redirect, the TEND_LISTENING reports and the graceful drain on SIGTERM, including zero client errors under
// load (and, without the preload, that the same load does see errors, so the test can fail).
import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net, { type Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { native } from '../../src/os/native.js';
import { preloadPath } from '../../src/preload/path.js';

const T = { timeout: 20_000 };
const repoRoot = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const APP = path.join(repoRoot, 'test', 'fixtures', 'preload-app.js');
/** The port the apps ask for; nothing binds it: the map says fd 3 stands for it. */
const APP_PORT = 3000;

// ---- resources, released after every test ----

const cleanups: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) {
    try {
      await fn();
    } catch {
      // keep cleaning up
    }
  }
});

function listenTcp(): { fd: number; port: number } {
  const fd = native.listenTcp('127.0.0.1', 0, 511, false);
  cleanups.push(() => { native.closeFd(fd); });
  return { fd, port: native.socketPort(fd) };
}

function tmpDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tend-preload-'));
  cleanups.push(() => { fs.rmSync(dir, { recursive: true, force: true }); });
  return dir;
}

// ---- waiting for events, bounded ----

/** Resolves with check()'s first truthy value, re-checked whenever `emitter` emits 'change'. */
function until<V>(emitter: EventEmitter, check: () => V | undefined | false | null, what: string, ms = 10_000,
  context: () => string = () => ''): Promise<V> {
  return new Promise((resolve, reject) => {
    const attempt = (): boolean => {
      const value = check();
      if (value === undefined || value === false || value === null) return false;
      done();
      resolve(value);
      return true;
    };
    const done = (): void => {
      clearTimeout(timer);
      emitter.off('change', attempt);
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`timed out after ${ms} ms waiting for ${what}${context()}`));
    }, ms);
    emitter.on('change', attempt);
    attempt();
  });
}

// ---- workers ----

interface Exit { code: number | null; signal: NodeJS.Signals | null }

class Worker {
  readonly events = new EventEmitter();
  stdout = '';
  stderr = '';
  readonly datagrams: string[] = [];
  exit: Exit | null = null;
  constructor(readonly child: ChildProcess, readonly pid: number) {}

  context = (): string => `\n--- stdout:\n${this.stdout}--- stderr:\n${this.stderr}--- datagrams: ${JSON.stringify(this.datagrams)}`;
  private changed(): void { this.events.emit('change'); }
  onStdout(s: string): void { this.stdout += s; this.changed(); }
  onStderr(s: string): void { this.stderr += s; this.changed(); }
  onDatagram(s: string): void { this.datagrams.push(s); this.changed(); }
  onExit(e: Exit): void { this.exit = e; this.changed(); }

  waitStdout(re: RegExp, ms?: number): Promise<RegExpMatchArray> {
    return until(this.events, () => re.exec(this.stdout), `stdout ${re}`, ms, this.context);
  }
  waitStderr(re: RegExp, ms?: number): Promise<RegExpMatchArray> {
    return until(this.events, () => re.exec(this.stderr), `stderr ${re}`, ms, this.context);
  }
  waitDatagram(re: RegExp, ms?: number): Promise<string> {
    return until(this.events, () => this.datagrams.find((d) => re.test(d)), `datagram ${re}`, ms, this.context);
  }
  waitExit(ms?: number): Promise<Exit> {
    return until(this.events, () => this.exit, 'exit', ms, this.context);
  }
  /** The address the app printed when it started listening. */
  async listening(): Promise<string | { address: string; family: string; port: number }> {
    const m = await this.waitStdout(/^listening (.*)$/m);
    return JSON.parse(m[1]!) as string | { address: string; family: string; port: number };
  }
  async listeningPort(): Promise<number> {
    const address = await this.listening();
    assert.equal(typeof address, 'object', `a TCP address, got ${JSON.stringify(address)}`);
    return (address as { port: number }).port;
  }
  kill(sig: NodeJS.Signals): void { this.child.kill(sig); }
  send(line: string): void { this.child.stdin?.write(`${line}\n`); }
}

interface WorkerOptions {
  /** Our fds to pass as 3, 4, …; the notify socket follows them. */
  listenFds?: readonly number[];
  env?: Record<string, string>;
  /** Inject the preload with --require (default true). */
  preload?: boolean;
}

function startWorker(options: WorkerOptions = {}): Worker {
  const listenFds = options.listenFds ?? [];
  const [tendEnd, childEnd] = native.dgramSocketPair();
  let worker: Worker | null = null;
  const watcher = native.dgramWatch(tendEnd, (msg) => { worker?.onDatagram(msg.data.toString()); });
  cleanups.push(() => {
    watcher.close();
    native.closeFd(tendEnd);
  });
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    LISTEN_FDS: String(listenFds.length),
    TEND_NOTIFY_FD: String(3 + listenFds.length),
    APP_STDIN: '1',
    ...options.env,
  };
  const args = options.preload === false ? [APP] : ['--require', preloadPath, APP];
  let child: ChildProcess;
  try {
    child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'pipe', ...listenFds, childEnd], env });
  } finally {
    native.closeFd(childEnd);
  }
  if (child.pid === undefined) throw new Error('spawn failed');
  const w = new Worker(child, child.pid);
  worker = w;
  child.stdout?.setEncoding('utf8').on('data', (s: string) => { w.onStdout(s); });
  child.stderr?.setEncoding('utf8').on('data', (s: string) => { w.onStderr(s); });
  child.stdin?.on('error', () => undefined);
  child.on('close', (code, signal) => { w.onExit({ code, signal }); });
  cleanups.push(async () => {
    if (w.exit === null) {
      child.kill('SIGKILL');
      await w.waitExit(5000);
    }
  });
  return w;
}

// ---- clients ----

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  reusedSocket: boolean;
  socket: Socket;
}

function request(options: http.RequestOptions & { tls?: boolean }): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const { tls, ...rest } = options;
    let socket: Socket | null = null;
    const req = (tls === true ? https : http).request({ host: '127.0.0.1', ...rest }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (s: string) => { body += s; });
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, reusedSocket: req.reusedSocket, socket: socket! });
      });
      res.on('error', reject);
    });
    req.on('socket', (s) => { socket = s; });
    req.on('error', reject);
    req.end();
  });
}

function keepAliveAgent(maxSockets = 1): http.Agent {
  const agent = new http.Agent({ keepAlive: true, maxSockets });
  cleanups.push(() => { agent.destroy(); });
  return agent;
}

/** Resolves with the time the socket closed; rejects if it errors (a reset) instead. */
function socketClosed(socket: Socket): Promise<number> {
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.once('close', () => { resolve(performance.now()); });
  });
}

/** Map for one inherited TCP socket standing for APP_PORT. */
function tcpEnv(extra: Record<string, string> = {}): Record<string, string> {
  return { TEND_LISTEN_MAP: `3=tcp:127.0.0.1:${APP_PORT}`, APP_PORT: String(APP_PORT), ...extra };
}

// ---- the tests ----

describe('listen redirect', () => {
  test('listen(3000) serves on the inherited socket and reports TEND_LISTENING', T, async () => {
    const sock = listenTcp();
    const w = startWorker({ listenFds: [sock.fd], env: tcpEnv({ APP_LISTEN: 'port' }) });
    assert.equal(await w.waitDatagram(/^TEND_LISTENING=/), `TEND_LISTENING=tcp:127.0.0.1:${APP_PORT}\n`);
    assert.equal(await w.listeningPort(), sock.port, 'server.address() is the inherited socket');
    const reply = await request({ port: sock.port, path: '/fast' });
    assert.equal(reply.status, 200);
    assert.equal(reply.body, `${w.pid}\n`);
    assert.match(w.stdout, /^sigterm-listeners 1$/m);
  });

  for (const [convention, extra] of [
    ['options', {}],
    ['string-port', {}],
    ['port-host-cb', { APP_HOST: '0.0.0.0' }],
    ['port-host-cb', { APP_HOST: 'localhost' }],
  ] as const) {
    test(`listen convention ${convention} ${JSON.stringify(extra)} is redirected`, T, async () => {
      const sock = listenTcp();
      const w = startWorker({ listenFds: [sock.fd], env: tcpEnv({ APP_LISTEN: convention, ...extra }) });
      assert.equal(await w.listeningPort(), sock.port);
      await w.waitDatagram(new RegExp(`^TEND_LISTENING=tcp:127\\.0\\.0\\.1:${APP_PORT}\\n$`));
      if (convention === 'port-host-cb') await w.waitStdout(/^callback$/m);
      const reply = await request({ port: sock.port, path: '/fast' });
      assert.equal(reply.body, `${w.pid}\n`);
    });
  }

  for (const convention of ['path', 'options-path'] as const) {
    test(`listen convention ${convention} on a unix socket is redirected`, T, async () => {
      const socketPath = path.join(tmpDir(), 'app.sock');
      // Bound by the test: if the app bound it itself it would fail with EADDRINUSE.
      const fd = native.listenUnix(socketPath, 511);
      cleanups.push(() => { native.closeFd(fd); });
      const w = startWorker({ listenFds: [fd], env: { TEND_LISTEN_MAP: `3=unix:${socketPath}`, APP_LISTEN: convention, APP_PATH: socketPath } });
      assert.equal(await w.listening(), socketPath, 'server.address() is the path');
      assert.equal(await w.waitDatagram(/^TEND_LISTENING=/), `TEND_LISTENING=unix:${socketPath}\n`);
      const reply = await request({ socketPath, path: '/fast' });
      assert.equal(reply.body, `${w.pid}\n`);
    });
  }

  test('an unmatched listen(0) listens normally and is reported too', T, async () => {
    const sock = listenTcp();
    const w = startWorker({ listenFds: [sock.fd], env: tcpEnv({ APP_LISTEN: 'zero' }) });
    const address = await w.listening();
    assert.ok(typeof address === 'object');
    assert.notEqual(address.port, sock.port);
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    assert.equal(await w.waitDatagram(/^TEND_LISTENING=/), `TEND_LISTENING=tcp:${host}:${address.port}\n`);
    const reply = await request({ port: address.port, path: '/fast' });
    assert.equal(reply.body, `${w.pid}\n`);
  });

  test('a second listen on an already used inherited socket listens normally (here: EADDRINUSE) and is logged', T, async () => {
    const socketPath = path.join(tmpDir(), 'app.sock');
    const fd = native.listenUnix(socketPath, 511);
    cleanups.push(() => { native.closeFd(fd); });
    const w = startWorker({ listenFds: [fd], env: { TEND_LISTEN_MAP: `3=unix:${socketPath}`, APP_LISTEN: 'twice-path', APP_PATH: socketPath } });
    await w.waitStdout(/^error EADDRINUSE$/m);
    await w.waitStderr(/^tend-preload: listen on ".*app\.sock": the inherited socket for it is already used/m);
    const reply = await request({ socketPath, path: '/fast' });
    assert.equal(reply.body, `${w.pid}\n`, 'the first server still serves');
    assert.equal(w.exit, null);
  });

  test('LISTEN_PID of another process (a launcher above this one): its inherited fds are not used', T, async () => {
    const sock = listenTcp();
    // The app asks for the very address the test holds: only a redirect could make that work.
    const w = startWorker({
      listenFds: [sock.fd],
      env: { TEND_LISTEN_MAP: `3=tcp:127.0.0.1:${sock.port}`, LISTEN_PID: '1', APP_LISTEN: 'port-host-cb', APP_PORT: String(sock.port), APP_HOST: '127.0.0.1' },
    });
    await w.waitStdout(/^error EADDRINUSE$/m);
    assert.deepEqual(w.datagrams, []);
  });
});

// ---- drain ----

interface LoadResult {
  a: Worker;
  b: Worker;
  aExit: Exit;
  ok: number;
  errors: string[];
  statuses: Map<number, number>;
  servedBy: Map<number, number>;
  /** Responses from A with Connection: close to requests that did not ask for it: the drain at work. */
  drainClosed: number;
  bAfterAExit: number;
}

/**
 * Two workers share one inherited socket; 50 keep-alive connections send requests in a loop (every 10th request
 * closes its connection, so connections spread over both workers); A gets SIGTERM mid-load.
 */
async function loadScenario(withPreload: boolean): Promise<LoadResult> {
  const sock = listenTcp();
  const env = withPreload ? tcpEnv({ APP_LISTEN: 'port' }) : { APP_LISTEN: 'fd3' };
  const a = startWorker({ listenFds: [sock.fd], env, preload: withPreload });
  const b = startWorker({ listenFds: [sock.fd], env, preload: withPreload });
  await Promise.all([a.listening(), b.listening()]);
  if (withPreload) await Promise.all([a.waitDatagram(/^TEND_LISTENING=/), b.waitDatagram(/^TEND_LISTENING=/)]);

  const agent = keepAliveAgent(50);
  const progress = new EventEmitter();
  progress.setMaxListeners(0);
  const result: LoadResult = {
    a, b, aExit: { code: null, signal: null }, ok: 0, errors: [], statuses: new Map(), servedBy: new Map(), drainClosed: 0, bAfterAExit: 0,
  };
  let stop = false;
  let termSent = false;
  const deadline = performance.now() + 14_000;
  const loop = async (): Promise<void> => {
    for (let n = 0; n < 1000 && !stop && performance.now() < deadline; n++) {
      const askClose = n % 10 === 9;
      try {
        const reply = await request({ port: sock.port, path: '/', agent, headers: askClose ? { connection: 'close' } : {} });
        result.statuses.set(reply.status, (result.statuses.get(reply.status) ?? 0) + 1);
        const pid = Number(reply.body.trim());
        result.servedBy.set(pid, (result.servedBy.get(pid) ?? 0) + 1);
        if (reply.status === 200) result.ok++;
        if (pid === a.pid && termSent && !askClose && reply.headers.connection === 'close') result.drainClosed++;
        if (pid === b.pid && a.exit !== null) result.bAfterAExit++;
      } catch (e) {
        const err = e as NodeJS.ErrnoException;
        result.errors.push(err.code ?? err.message);
      }
      progress.emit('change');
    }
  };
  const loops = Array.from({ length: 50 }, loop);
  try {
    const served = (w: Worker): number => result.servedBy.get(w.pid) ?? 0;
    await until(progress, () => served(a) >= 100 && served(b) >= 100 && result.ok + result.errors.length >= 1000, 'both workers serving', 10_000,
      () => ` (served ${JSON.stringify([...result.servedBy])}, errors ${result.errors.length})`);
    termSent = true;
    a.kill('SIGTERM');
    result.aExit = await a.waitExit(10_000);
    await until(progress, () => result.bAfterAExit >= 500, 'B serving after A exited', 10_000,
      () => ` (${result.bAfterAExit} so far)`);
  } finally {
    stop = true;
    await Promise.all(loops);
  }
  if (process.env.PRELOAD_TEST_STATS === '1') {
    console.error(JSON.stringify({ withPreload, ok: result.ok, errors: result.errors.length, kinds: [...new Set(result.errors)], servedBy: [...result.servedBy], drainClosed: result.drainClosed, exit: result.aExit }));
  }
  return result;
}

describe('drain on SIGTERM', () => {
  test('under load with keep-alive clients: zero errors, every request 200, the worker exits 0 by itself', T, async () => {
    const r = await loadScenario(true);
    assert.deepEqual(r.errors, [], 'no ECONNRESET / socket hang up / EPIPE');
    assert.deepEqual([...r.statuses], [[200, r.ok]], 'every request got a 200');
    assert.deepEqual(r.aExit, { code: 0, signal: null }, `A exits 0${r.a.context()}`);
    assert.equal(r.b.exit, null, 'B keeps running');
    assert.ok(r.bAfterAExit >= 500, 'B keeps serving');
    assert.ok(r.drainClosed > 0, 'A answered requests in flight during the drain with Connection: close');
  });

  test('the same load without the preload (Node default SIGTERM) does see errors: the test above can fail', T, async () => {
    const r = await loadScenario(false);
    assert.deepEqual(r.aExit, { code: null, signal: 'SIGTERM' });
    assert.ok(r.errors.length > 0, `expected client errors, got none (${r.ok} requests ok)`);
  });

  test('an idle keep-alive connection is closed only after TEND_DRAIN_IDLE_MS, then the worker exits 0', T, async () => {
    const sock = listenTcp();
    const w = startWorker({ listenFds: [sock.fd], env: tcpEnv({ APP_LISTEN: 'port', TEND_DRAIN_IDLE_MS: '600' }) });
    await w.waitDatagram(/^TEND_LISTENING=/);
    const reply = await request({ port: sock.port, path: '/fast', agent: keepAliveAgent() });
    const answeredAt = performance.now();
    assert.equal(reply.headers.connection, 'keep-alive');
    const closed = socketClosed(reply.socket);
    w.kill('SIGTERM');
    const closedAt = await closed;
    assert.ok(closedAt - answeredAt >= 500, `closed ${Math.round(closedAt - answeredAt)} ms after going idle, expected ~600`);
    assert.deepEqual(await w.waitExit(), { code: 0, signal: null });
    await w.waitStdout(/^server-close$/m);
  });

  test('in-flight and keep-alive requests during the drain complete with Connection: close; a second SIGTERM keeps draining', T, async () => {
    const sock = listenTcp();
    const w = startWorker({ listenFds: [sock.fd], env: tcpEnv({ APP_LISTEN: 'port', TEND_DRAIN_IDLE_MS: '5000', TEND_PRELOAD_DEBUG: '1' }) });
    await w.waitDatagram(/^TEND_LISTENING=/);
    const keepAlive = keepAliveAgent();
    const first = await request({ port: sock.port, path: '/fast', agent: keepAlive });
    assert.equal(first.headers.connection, 'keep-alive');
    const slow = request({ port: sock.port, path: '/slow', agent: keepAliveAgent() });
    await w.waitStdout(/^request \/slow$/m);

    w.kill('SIGTERM');
    await w.waitStderr(/SIGTERM: draining 1 server\(s\) with 2 connection\(s\)/);
    w.kill('SIGTERM');
    await w.waitStderr(/SIGTERM again: still draining/);

    const during = await request({ port: sock.port, path: '/fast', agent: keepAlive });
    assert.equal(during.reusedSocket, true, 'sent on the existing keep-alive connection');
    assert.equal(during.status, 200);
    assert.equal(during.headers.connection, 'close');
    assert.equal(w.exit, null, 'still draining: the slow request is in flight');

    w.send('release');
    const slowReply = await slow;
    assert.equal(slowReply.status, 200);
    assert.equal(slowReply.headers.connection, 'close');
    assert.equal(slowReply.body, `${w.pid}\n`);
    assert.deepEqual(await w.waitExit(), { code: 0, signal: null });
  });

  test('pipelined requests in flight: all are answered, only the last one closes the connection', T, async () => {
    const sock = listenTcp();
    const w = startWorker({ listenFds: [sock.fd], env: tcpEnv({ APP_LISTEN: 'port', TEND_PRELOAD_DEBUG: '1' }) });
    await w.waitDatagram(/^TEND_LISTENING=/);
    const client = net.connect(sock.port, '127.0.0.1');
    cleanups.push(() => { client.destroy(); });
    let received = '';
    const ended = new Promise<string>((resolve, reject) => {
      client.setEncoding('utf8');
      client.on('data', (s: string) => { received += s; });
      client.on('error', reject);
      client.on('close', () => { resolve(received); });
    });
    client.write('GET /slow HTTP/1.1\r\nHost: x\r\n\r\nGET /slow HTTP/1.1\r\nHost: x\r\n\r\n');
    await w.waitStdout(/^request \/slow\nrequest \/slow$/m);
    w.kill('SIGTERM');
    await w.waitStderr(/SIGTERM: draining/);
    w.send('release');
    const text = await ended;
    const connections = [...text.matchAll(/^Connection: (.*)\r$/gim)].map((m) => m[1]);
    assert.deepEqual(connections, ['keep-alive', 'close'], text);
    assert.equal([...text.matchAll(/^HTTP\/1\.1 200 OK\r$/gm)].length, 2);
    assert.deepEqual(await w.waitExit(), { code: 0, signal: null });
  });

  test('https: the in-flight request gets Connection: close, the idle TLS connection closes after the idle time', T, async () => {
    const sock = listenTcp();
    const w = startWorker({ listenFds: [sock.fd], env: tcpEnv({ APP_LISTEN: 'port', APP_TLS: '1', TEND_DRAIN_IDLE_MS: '600', TEND_PRELOAD_DEBUG: '1' }) });
    await w.waitDatagram(/^TEND_LISTENING=/);
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1, rejectUnauthorized: false });
    cleanups.push(() => { agent.destroy(); });
    const idle = await request({ tls: true, port: sock.port, path: '/fast', agent });
    const answeredAt = performance.now();
    assert.equal(idle.headers.connection, 'keep-alive');
    const idleClosed = socketClosed(idle.socket);
    const slowAgent = new https.Agent({ keepAlive: true, maxSockets: 1, rejectUnauthorized: false });
    cleanups.push(() => { slowAgent.destroy(); });
    const slow = request({ tls: true, port: sock.port, path: '/slow', agent: slowAgent });
    await w.waitStdout(/^request \/slow$/m);

    w.kill('SIGTERM');
    await w.waitStderr(/SIGTERM: draining 1 server\(s\) with 2 connection\(s\)/);
    const closedAt = await idleClosed;
    assert.ok(closedAt - answeredAt >= 500, `closed ${Math.round(closedAt - answeredAt)} ms after going idle, expected ~600`);
    assert.equal(w.exit, null, 'the slow request holds the drain');
    w.send('release');
    const slowReply = await slow;
    assert.equal(slowReply.status, 200);
    assert.equal(slowReply.headers.connection, 'close');
    assert.deepEqual(await w.waitExit(), { code: 0, signal: null });
  });

  test('an app with its own SIGTERM listener is drained but not exited: it decides', T, async () => {
    const sock = listenTcp();
    const w = startWorker({ listenFds: [sock.fd], env: tcpEnv({ APP_LISTEN: 'port', APP_SIGTERM: 'log', TEND_PRELOAD_DEBUG: '1' }) });
    await w.waitDatagram(/^TEND_LISTENING=/);
    await request({ port: sock.port, path: '/fast', agent: keepAliveAgent() });
    w.kill('SIGTERM');
    await w.waitStdout(/^app-sigterm$/m);
    await w.waitStdout(/^server-close$/m);
    await w.waitStderr(/drained \(the app has its own signal listener: not exiting\)/);
    assert.equal(w.exit, null);
    w.send('exit');
    assert.deepEqual(await w.waitExit(), { code: 7, signal: null });
    assert.match(w.stdout, /^app-exit$/m);
  });

  test("an app calling server.close(cb) on SIGTERM: idle keep-alive sockets are not cut at once, cb gets no error", T, async () => {
    const sock = listenTcp();
    const w = startWorker({ listenFds: [sock.fd], env: tcpEnv({ APP_LISTEN: 'port', APP_SIGTERM: 'close', TEND_DRAIN_IDLE_MS: '600' }) });
    await w.waitDatagram(/^TEND_LISTENING=/);
    const reply = await request({ port: sock.port, path: '/fast', agent: keepAliveAgent() });
    const answeredAt = performance.now();
    const closed = socketClosed(reply.socket);
    w.kill('SIGTERM');
    const closedAt = await closed;
    assert.ok(closedAt - answeredAt >= 500, `closed ${Math.round(closedAt - answeredAt)} ms after going idle, expected ~600`);
    await w.waitStdout(/^app-close-cb ok$/m);
    assert.deepEqual(await w.waitExit(), { code: 7, signal: null });
  });

  test('SIGINT drains and exits 0 as well', T, async () => {
    const sock = listenTcp();
    const w = startWorker({ listenFds: [sock.fd], env: tcpEnv({ APP_LISTEN: 'port' }) });
    await w.waitDatagram(/^TEND_LISTENING=/);
    await request({ port: sock.port, path: '/fast', agent: keepAliveAgent() });
    w.kill('SIGINT');
    assert.deepEqual(await w.waitExit(), { code: 0, signal: null });
  });

  test('a process with no http server keeps Node\'s default: SIGTERM kills it', T, async () => {
    const w = startWorker({ env: { TEND_LISTEN_MAP: '', APP_LISTEN: 'none' } });
    await w.waitStdout(/^ready$/m);
    await w.waitStdout(/^sigterm-listeners 1$/m); // the preload is active
    w.kill('SIGTERM');
    assert.deepEqual(await w.waitExit(), { code: null, signal: 'SIGTERM' });
  });
});
