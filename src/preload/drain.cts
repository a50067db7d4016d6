/* eslint-disable @typescript-eslint/no-require-imports -- a .cts file under verbatimModuleSyntax imports with require */
// Graceful drain of http/https servers on SIGTERM/SIGINT, for apps that have no drain logic of their own.
//
// Per connection we track the responses in flight and when it was last active (a response finished, a request
// started, or bytes arrived). On the signal:
//   1. every tracked server stops accepting (net-level close: our copy of the listening fd goes, tend's stays);
//   2. every response whose headers are not sent yet gets `Connection: close`, and so does every request that
//      arrives on an existing keep-alive connection during the drain, so clients stop reusing those sockets;
//   3. a keep-alive connection with nothing in flight is closed only once it has been idle for TEND_DRAIN_IDLE_MS
//      (closing it at once races the client's next request on it and the client sees a reset);
//   4. when every tracked server has no connection left: process.exit(0) if the app had no listener for the signal
//      (the graceful version of Node's default), otherwise nothing: the app decides.
// Requests and responses are observed through Node's public diagnostics channels, which fire for http and https
// servers alike before the app's 'request' handler runs, so no listener is added that could change behaviour.
import dc = require('node:diagnostics_channel');
import net = require('node:net');
import log = require('./log.cjs');

/** The parts of a ServerResponse the drain touches. */
interface Response {
  readonly headersSent: boolean;
  shouldKeepAlive: boolean;
  getHeader(name: string): string | number | readonly string[] | undefined;
  setHeader(name: string, value: string): unknown;
}

/** A socket as the http layer uses it: `parser` is null once the connection was upgraded (WebSocket, CONNECT). */
type HttpSocket = net.Socket & { parser?: unknown; _parent?: unknown };

interface Conn {
  /** The TCP (or unix) socket the server accepted. */
  readonly raw: net.Socket;
  /** The socket the http layer reads: `raw` for http, the TLSSocket wrapping it for https. */
  http: HttpSocket;
  /** Responses not finished yet (a request in flight, or pipelined ones waiting). */
  readonly pending: Set<Response>;
  /** performance.now() of the last sign of life: connect, request start, response finish, bytes read. */
  lastActive: number;
  /** raw.bytesRead when lastActive was last set, so new bytes (a request being read) count as activity. */
  lastBytes: number;
}

interface ServerState {
  readonly server: net.Server;
  readonly conns: Set<Conn>;
  /** 'close' was emitted since the last 'listening'. */
  closed: boolean;
}

const SIGNALS: readonly NodeJS.Signals[] = ['SIGTERM', 'SIGINT'];

/** True for http.Server and https.Server (and subclasses) without loading either module. */
function isHttpServer(server: net.Server): boolean {
  const s = server as unknown as Record<string, unknown>;
  return typeof s.closeIdleConnections === 'function' && typeof s.closeAllConnections === 'function' &&
    typeof s.keepAliveTimeout === 'number';
}

function bytesRead(socket: net.Socket): number {
  try {
    return socket.bytesRead;
  } catch {
    return 0;
  }
}

/** Responses the drain turned from keep-alive to close, so a pipelined follower can take the mark over. */
const marked = new WeakSet<Response>();

/** Makes a response that has not started yet the last one on its connection. */
function markClose(res: Response): void {
  try {
    if (res.headersSent) return;
    if (res.shouldKeepAlive) {
      res.shouldKeepAlive = false;
      marked.add(res);
    }
    const explicit = res.getHeader('connection');
    const text = Array.isArray(explicit) ? explicit.join(',') : String(explicit);
    if (explicit !== undefined && !/\bclose\b/i.test(text)) res.setHeader('Connection', 'close');
  } catch (e) {
    log.warnOnce('mark-close', `could not add Connection: close to a response: ${log.describe(e)}`);
  }
}

/**
 * Only the last response queued on a connection closes it: with pipelined requests, closing after an earlier one
 * would leave the later ones unanswered.
 */
function markLast(pending: ReadonlySet<Response>): void {
  let last: Response | undefined;
  for (const res of pending) {
    if (last !== undefined && marked.has(last) && !last.headersSent) {
      last.shouldKeepAlive = true;
      marked.delete(last);
    }
    last = res;
  }
  if (last !== undefined) markClose(last);
}

function install(drainIdleMs: number): { observe(server: net.Server): void } {
  /** net.Server's close: stop accepting, keep the connections (http.Server's also closes the idle ones at once). */
  const netClose = (server: net.Server, cb?: (err?: Error) => void): void => {
    net.Server.prototype.close.call(server, cb);
  };
  const states = new WeakMap<net.Server, ServerState>();
  /** Servers listening now, or closed but still serving connections. */
  const tracked = new Set<ServerState>();
  /** Raw socket, TLS socket → its connection. */
  const conns = new WeakMap<object, Conn>();

  let draining = false;
  let drained = false;
  let exitWhenDrained = false;
  const drainSet = new Set<ServerState>();
  let timer: NodeJS.Timeout | undefined;
  const now = (): number => performance.now();

  const addConn = (state: ServerState, raw: net.Socket): Conn => {
    const conn: Conn = { raw, http: raw, pending: new Set(), lastActive: now(), lastBytes: bytesRead(raw) };
    state.conns.add(conn);
    conns.set(raw, conn);
    raw.once('close', () => { state.conns.delete(conn); });
    return conn;
  };

  const touch = (conn: Conn): void => {
    conn.lastActive = now();
    conn.lastBytes = bytesRead(conn.raw);
  };

  /** The connection of the socket the http layer reports (a TLSSocket's `_parent` is the accepted socket). */
  const connOf = (state: ServerState, socket: HttpSocket): Conn => {
    let conn = conns.get(socket);
    if (conn === undefined && typeof socket._parent === 'object' && socket._parent !== null) {
      conn = conns.get(socket._parent);
    }
    conn ??= addConn(state, socket);
    if (conn.http !== socket) {
      conn.http = socket;
      conns.set(socket, conn);
    }
    return conn;
  };

  const isUpgraded = (conn: Conn): boolean => conn.http.parser === null;

  const destroy = (conn: Conn): void => {
    conn.http.destroy();
    if (conn.raw !== conn.http) conn.raw.destroy();
  };

  const finish = (): void => {
    if (drained) return;
    drained = true;
    if (timer !== undefined) clearInterval(timer);
    log.debug(`drained${exitWhenDrained ? ': exiting' : ' (the app has its own signal listener: not exiting)'}`);
    // After the other 'close' listeners (the app's) have run.
    if (exitWhenDrained) setImmediate(() => { process.exit(0); });
  };

  const checkDrained = (): void => {
    if (!draining || drained) return;
    for (const state of drainSet) if (!state.closed) return;
    finish();
  };

  const tick = (): void => {
    try {
      const t = now();
      for (const state of drainSet) {
        let httpConns = 0;
        const upgraded: Conn[] = [];
        for (const conn of state.conns) {
          if (conn.raw.destroyed && conn.http.destroyed) {
            state.conns.delete(conn);
            continue;
          }
          if (isUpgraded(conn)) {
            upgraded.push(conn);
            continue;
          }
          httpConns++;
          const bytes = bytesRead(conn.raw);
          if (bytes !== conn.lastBytes || conn.pending.size > 0) {
            conn.lastBytes = bytes;
            conn.lastActive = t;
          } else if (t - conn.lastActive >= drainIdleMs) {
            log.debug(`closing a keep-alive connection idle for ${Math.round(t - conn.lastActive)} ms`);
            destroy(conn);
          }
        }
        // Upgraded connections speak a protocol we cannot drain. Once the http traffic is gone, do what Node's
        // default signal action would have done to them, but only when we are the ones exiting.
        if (exitWhenDrained && httpConns === 0 && upgraded.length > 0 && !state.server.listening) {
          log.debug(`closing ${upgraded.length} upgraded connection(s)`);
          for (const conn of upgraded) destroy(conn);
        }
      }
      checkDrained();
    } catch (e) {
      log.warnOnce('tick', `drain check failed: ${log.describe(e)}`);
    }
  };

  const stopAccepting = (state: ServerState): void => {
    try {
      if (state.server.listening) netClose(state.server);
    } catch (e) {
      log.warnOnce('close', `could not close a server: ${log.describe(e)}`);
    }
  };

  /**
   * While draining, server.close() stops accepting without Node's closeIdleConnections() (which cuts idle keep-alive
   * sockets at once, racing their clients' next requests), and close(cb) on a server the drain already closed calls
   * cb when it is drained instead of failing with ERR_SERVER_NOT_RUNNING.
   */
  const overrideClose = (state: ServerState): void => {
    const server = state.server;
    if (Object.prototype.hasOwnProperty.call(server, 'close')) return; // the app's own; leave it
    const close = function (this: net.Server, ...args: unknown[]): net.Server {
      const cb = typeof args[0] === 'function' ? (args[0] as (err?: Error) => void) : undefined;
      if (this.listening) {
        netClose(this, cb);
      } else if (cb !== undefined) {
        if (state.closed) process.nextTick(cb);
        else this.once('close', () => { cb(); });
      }
      return this;
    };
    Object.defineProperty(server, 'close', { value: close, writable: true, configurable: true, enumerable: false });
  };

  const enterDrain = (state: ServerState): void => {
    drainSet.add(state);
    overrideClose(state);
    for (const conn of state.conns) markLast(conn.pending);
  };

  const startDrain = (sig: NodeJS.Signals, exit: boolean): void => {
    draining = true;
    exitWhenDrained = exit;
    for (const state of tracked) enterDrain(state);
    let connCount = 0;
    for (const state of drainSet) connCount += state.conns.size;
    log.debug(`${sig}: draining ${drainSet.size} server(s) with ${connCount} connection(s), idle ${drainIdleMs} ms` +
      (exit ? '' : '; the app has its own listener, so it decides when to exit'));
    // After the app's own listeners for this signal have run, so that its own server.close(cb) works as usual.
    setImmediate(() => {
      for (const state of drainSet) stopAccepting(state);
      tick();
    });
    timer = setInterval(tick, Math.max(5, Math.min(50, Math.floor(drainIdleMs / 5))));
    timer.unref();
  };

  function onSignal(sig: NodeJS.Signals): void {
    const appListeners = process.listeners(sig).filter((l) => l !== onSignal).length;
    try {
      if (draining) {
        log.debug(`${sig} again: still draining`);
        return;
      }
      if (tracked.size === 0) {
        if (appListeners === 0) die(sig);
        return;
      }
      startDrain(sig, appListeners === 0);
    } catch (e) {
      log.warnOnce('signal', `drain failed: ${log.describe(e)}`);
      if (appListeners === 0 && !draining) die(sig);
    }
  }

  /** Nothing to drain and nobody else listening: Node's default action, death by the signal. */
  function die(sig: NodeJS.Signals): void {
    log.debug(`${sig}: no http server to drain; default action`);
    process.removeListener(sig, onSignal);
    process.kill(process.pid, sig);
  }

  const observe = (server: net.Server): void => {
    if (states.has(server) || !isHttpServer(server)) return;
    const state: ServerState = { server, conns: new Set(), closed: false };
    states.set(server, state);
    server.on('listening', () => {
      state.closed = false;
      tracked.add(state);
      if (draining && !drained) {
        enterDrain(state);
        setImmediate(() => { stopAccepting(state); });
      }
    });
    server.on('close', () => {
      state.closed = true;
      tracked.delete(state);
      checkDrained();
    });
    server.on('connection', (socket: net.Socket) => { addConn(state, socket); });
    server.on('secureConnection', (socket: HttpSocket) => { connOf(state, socket); });
  };

  dc.subscribe('http.server.request.start', (message) => {
    try {
      const { server, socket, response } = message as { server: net.Server; socket: HttpSocket; response: Response };
      const state = states.get(server);
      if (state === undefined) return;
      const conn = connOf(state, socket);
      conn.pending.add(response);
      touch(conn);
      if (draining) markLast(conn.pending);
    } catch (e) {
      log.warnOnce('request-start', `request tracking failed: ${log.describe(e)}`);
    }
  });
  dc.subscribe('http.server.response.finish', (message) => {
    try {
      const { socket, response } = message as { socket: HttpSocket; response: Response };
      const conn = conns.get(socket);
      if (conn === undefined) return;
      conn.pending.delete(response);
      touch(conn);
    } catch (e) {
      log.warnOnce('response-finish', `response tracking failed: ${log.describe(e)}`);
    }
  });

  for (const sig of SIGNALS) process.on(sig, onSignal);
  return { observe };
}

export = { install, isHttpServer };
