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
//   4. once no http connection is left, upgraded ones (WebSocket: a close frame with 1001 or 1012) are closed one by
//      one over TEND_DRAIN_SPREAD_MS (upgraded.cts), holding tend's next stop stage meanwhile;
//   5. when every tracked server has no connection left: process.exit(0) if the app had no listener for the signal
//      (the graceful version of Node's default), once its onStop hooks and holds are done (stop.cts); otherwise
//      nothing: the app decides.
// Requests and responses are observed through Node's public diagnostics channels, which fire for http and https
// servers alike before the app's 'request' handler runs, so no listener is added that could change behaviour.
import dc = require('node:diagnostics_channel');
import net = require('node:net');
import log = require('./log.cjs');
import upgradedClose = require('./upgraded.cjs');

/** The part of the stop hub (stop.cts) the drain uses. */
interface StopHub {
  notice(): { readonly reason: string } | null;
  hold(name: string): () => void;
  whenIdle(done: () => void): void;
  involved(): boolean;
}

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
/** How long after the signal the upgraded connections wait for tend's stop notice (their close code) at most. */
const NOTICE_WAIT_MS = 200;

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

/** What the drain needs from the rest of the preload. */
interface DrainOptions {
  readonly drainIdleMs: number;
  /** How long closing upgraded connections is spread over (TEND_DRAIN_SPREAD_MS). */
  readonly drainSpreadMs: number;
  readonly hub: StopHub;
}

/** The drain's state for one process: every http server it tracks and what happens on the signal. */
class Drain {
  private readonly states = new WeakMap<net.Server, ServerState>();
  /** Servers listening now, or closed but still serving connections. */
  private readonly tracked = new Set<ServerState>();
  /** Raw socket, TLS socket → its connection. */
  private readonly conns = new WeakMap<object, Conn>();
  /** Sockets whose upgrade asked for WebSocket. */
  private readonly websockets = new WeakSet<object>();
  private readonly drainSet = new Set<ServerState>();
  private draining = false;
  private drained = false;
  private exitWhenDrained = false;
  /** 'idle' until the upgraded connections are being closed ('spreading'), then 'done'. */
  private upgradedPhase: 'idle' | 'spreading' | 'done' = 'idle';
  private timer: NodeJS.Timeout | undefined;
  /** performance.now() at the signal. */
  private signalAt = 0;

  constructor(private readonly options: DrainOptions) {}

  readonly onSignal = (sig: NodeJS.Signals): void => {
    const appListeners = process.listeners(sig).filter((l) => l !== this.onSignal).length;
    try {
      if (this.draining) {
        log.debug(`${sig} again: still draining`);
        return;
      }
      if (this.tracked.size === 0) {
        if (appListeners === 0) this.die(sig);
        return;
      }
      this.startDrain(sig, appListeners === 0);
    } catch (e) {
      log.warnOnce('signal', `drain failed: ${log.describe(e)}`);
      if (appListeners === 0 && !this.draining) this.die(sig);
    }
  };

  observe(server: net.Server): void {
    if (this.states.has(server) || !isHttpServer(server)) return;
    const state: ServerState = { server, conns: new Set(), closed: false };
    this.states.set(server, state);
    server.on('listening', () => {
      state.closed = false;
      this.tracked.add(state);
      if (this.draining && !this.drained) {
        this.enterDrain(state);
        setImmediate(() => { stopAccepting(state); });
      }
    });
    server.on('close', () => {
      state.closed = true;
      this.tracked.delete(state);
      this.checkDrained();
    });
    server.on('connection', (socket: net.Socket) => { this.addConn(state, socket); });
    server.on('secureConnection', (socket: HttpSocket) => { this.connOf(state, socket); });
    this.watchUpgrades(server);
  }

  onRequestStart(message: unknown): void {
    const { server, socket, response } = message as { server: net.Server; socket: HttpSocket; response: Response };
    const state = this.states.get(server);
    if (state === undefined) return;
    const conn = this.connOf(state, socket);
    conn.pending.add(response);
    touch(conn);
    if (this.draining) markLast(conn.pending);
  }

  onResponseFinish(message: unknown): void {
    const { socket, response } = message as { socket: HttpSocket; response: Response };
    const conn = this.conns.get(socket);
    if (conn === undefined) return;
    conn.pending.delete(response);
    touch(conn);
  }

  /**
   * Records which upgrades ask for WebSocket by looking at the 'upgrade' emit, without adding a listener (a server with
   * no 'upgrade' listener refuses upgrades; one more listener would change that).
   */
  private watchUpgrades(server: net.Server): void {
    const emit = Reflect.get(server, 'emit') as (this: net.Server, event: string | symbol, ...args: unknown[]) => boolean;
    const websockets = this.websockets;
    const watched = function (this: net.Server, event: string | symbol, ...args: unknown[]): boolean {
      if (event === 'upgrade') {
        const [req, socket] = args as [{ headers?: Record<string, unknown> } | undefined, object | undefined];
        const upgrade = req?.headers?.upgrade;
        if (socket !== undefined && typeof upgrade === 'string' && /^websocket$/i.test(upgrade.trim())) websockets.add(socket);
      }
      return emit.call(this, event, ...args);
    };
    Object.defineProperty(server, 'emit', { value: watched, writable: true, configurable: true, enumerable: false });
  }

  private addConn(state: ServerState, raw: net.Socket): Conn {
    const conn: Conn = { raw, http: raw, pending: new Set(), lastActive: performance.now(), lastBytes: bytesRead(raw) };
    state.conns.add(conn);
    this.conns.set(raw, conn);
    raw.once('close', () => { state.conns.delete(conn); });
    return conn;
  }

  /** The connection of the socket the http layer reports (a TLSSocket's `_parent` is the accepted socket). */
  private connOf(state: ServerState, socket: HttpSocket): Conn {
    let conn = this.conns.get(socket);
    if (conn === undefined && typeof socket._parent === 'object' && socket._parent !== null) {
      conn = this.conns.get(socket._parent);
    }
    conn ??= this.addConn(state, socket);
    if (conn.http !== socket) {
      conn.http = socket;
      this.conns.set(socket, conn);
    }
    return conn;
  }

  private finish(): void {
    if (this.drained) return;
    this.drained = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    const exit = this.exitWhenDrained;
    log.debug(`drained${exit ? ': exiting' : ' (the app has its own signal listener: not exiting)'}`);
    // After the other 'close' listeners (the app's), its onStop hooks and its holds.
    if (exit) this.options.hub.whenIdle(() => { process.exit(0); });
  }

  private checkDrained(): void {
    if (!this.draining || this.drained) return;
    for (const state of this.drainSet) if (!state.closed) return;
    this.finish();
  }

  private readonly tick = (): void => {
    try {
      let httpConns = 0;
      const upgraded: Conn[] = [];
      for (const state of this.drainSet) httpConns += this.sweep(state, upgraded);
      // Upgraded connections speak a protocol we cannot drain. Once the http traffic is gone, close them (spread out),
      // but only when we are the ones exiting: an app with its own signal listener closes its own.
      if (this.exitWhenDrained && httpConns === 0 && upgraded.length > 0 && ![...this.drainSet].some((s) => s.server.listening)) {
        this.closeUpgraded(upgraded);
      }
      this.checkDrained();
    } catch (e) {
      log.warnOnce('tick', `drain check failed: ${log.describe(e)}`);
    }
  };

  /** Closes the idle keep-alive connections of one server; returns how many http ones are left, adds upgraded ones. */
  private sweep(state: ServerState, upgraded: Conn[]): number {
    const t = performance.now();
    let httpConns = 0;
    for (const conn of state.conns) {
      if (conn.raw.destroyed && conn.http.destroyed) {
        state.conns.delete(conn);
        continue;
      }
      if (conn.http.parser === null) {
        upgraded.push(conn);
        continue;
      }
      httpConns++;
      const bytes = bytesRead(conn.raw);
      if (bytes !== conn.lastBytes || conn.pending.size > 0) {
        conn.lastBytes = bytes;
        conn.lastActive = t;
      } else if (t - conn.lastActive >= this.options.drainIdleMs) {
        log.debug(`closing a keep-alive connection idle for ${Math.round(t - conn.lastActive)} ms`);
        destroy(conn);
      }
    }
    return httpConns;
  }

  /**
   * The first time: close every upgraded connection, spread over TEND_DRAIN_SPREAD_MS, holding tend's next stop stage
   * meanwhile. Connections upgraded later (during the spread) are closed at once when it is over.
   */
  private closeUpgraded(upgraded: readonly Conn[]): void {
    if (this.upgradedPhase === 'spreading') return;
    // tend's stop notice says which close code (it is sent before the signal, but may be read just after it).
    if (this.options.hub.notice() === null && performance.now() - this.signalAt < NOTICE_WAIT_MS) return;
    const list = upgraded.filter((c) => !c.http.writableEnded).map((c) => ({ socket: c.http, websocket: this.websockets.has(c.http) }));
    if (list.length === 0) return;
    const spreadMs = this.upgradedPhase === 'done' ? 0 : this.options.drainSpreadMs;
    this.upgradedPhase = 'spreading';
    const release = this.options.hub.hold('tend:upgraded-connections');
    const codeFor = (): number => upgradedClose.closeCode(this.options.hub.notice()?.reason ?? null);
    log.debug(`closing ${list.length} upgraded connection(s) over ${spreadMs} ms`);
    void upgradedClose.closeSpread(list, spreadMs, codeFor).then(() => {
      this.upgradedPhase = 'done';
      release();
      this.tick();
    });
  }

  /**
   * While draining, server.close() stops accepting without Node's closeIdleConnections() (which cuts idle keep-alive
   * sockets at once, racing their clients' next requests), and close(cb) on a server the drain already closed calls
   * cb when it is drained instead of failing with ERR_SERVER_NOT_RUNNING.
   */
  private overrideClose(state: ServerState): void {
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
  }

  private enterDrain(state: ServerState): void {
    this.drainSet.add(state);
    this.overrideClose(state);
    for (const conn of state.conns) markLast(conn.pending);
  }

  private startDrain(sig: NodeJS.Signals, exit: boolean): void {
    this.draining = true;
    this.signalAt = performance.now();
    this.exitWhenDrained = exit;
    for (const state of this.tracked) this.enterDrain(state);
    let connCount = 0;
    for (const state of this.drainSet) connCount += state.conns.size;
    const idle = this.options.drainIdleMs;
    log.debug(`${sig}: draining ${this.drainSet.size} server(s) with ${connCount} connection(s), idle ${idle} ms` +
      (exit ? '' : '; the app has its own listener, so it decides when to exit'));
    // After the app's own listeners for this signal have run, so that its own server.close(cb) works as usual.
    setImmediate(() => {
      for (const state of this.drainSet) stopAccepting(state);
      this.tick();
    });
    this.timer = setInterval(this.tick, Math.max(5, Math.min(50, Math.floor(idle / 5))));
    this.timer.unref();
  }

  /**
   * Nothing to drain and nobody else listening: Node's default action, death by the signal; or, when the app takes part
   * in the stop (onStop hooks, holds), exit 0 once they are done.
   */
  private die(sig: NodeJS.Signals): void {
    process.removeListener(sig, this.onSignal);
    if (this.options.hub.involved()) {
      log.debug(`${sig}: no http server to drain; exiting once the app's stop hooks and holds are done`);
      this.draining = true;
      this.options.hub.whenIdle(() => { process.exit(0); });
      return;
    }
    log.debug(`${sig}: no http server to drain; default action`);
    process.kill(process.pid, sig);
  }
}

/** net.Server's close: stop accepting, keep the connections (http.Server's also closes the idle ones at once). */
function netClose(server: net.Server, cb?: (err?: Error) => void): void {
  net.Server.prototype.close.call(server, cb);
}

function stopAccepting(state: ServerState): void {
  try {
    if (state.server.listening) netClose(state.server);
  } catch (e) {
    log.warnOnce('close', `could not close a server: ${log.describe(e)}`);
  }
}

function touch(conn: Conn): void {
  conn.lastActive = performance.now();
  conn.lastBytes = bytesRead(conn.raw);
}

function destroy(conn: Conn): void {
  conn.http.destroy();
  if (conn.raw !== conn.http) conn.raw.destroy();
}

/** Starts tracking: the signal listeners and the http diagnostics channels; `observe` each server as it is created. */
function install(options: DrainOptions): { observe(server: net.Server): void } {
  const drain = new Drain(options);
  dc.subscribe('http.server.request.start', (message) => {
    try {
      drain.onRequestStart(message);
    } catch (e) {
      log.warnOnce('request-start', `request tracking failed: ${log.describe(e)}`);
    }
  });
  dc.subscribe('http.server.response.finish', (message) => {
    try {
      drain.onResponseFinish(message);
    } catch (e) {
      log.warnOnce('response-finish', `response tracking failed: ${log.describe(e)}`);
    }
  });
  for (const sig of SIGNALS) process.on(sig, drain.onSignal);
  return { observe: (server) => { drain.observe(server); } };
}

export = { install, isHttpServer };
