/* eslint-disable @typescript-eslint/no-require-imports -- a .cts file under verbatimModuleSyntax imports with require */
// Closing upgraded connections (WebSocket, other `Upgrade:` protocols, CONNECT tunnels) at the end of a drain, spread
// over time so that their clients do not all reconnect in the same instant.
//
// A WebSocket whose handshake the app completed gets a close frame written by the preload itself: opcode 0x8 with FIN
// (0x88), unmasked (server-to-client frames never are), a 2-byte payload length and the 2-byte status code (RFC 6455
// 5.5.1): 1001 "going away" when the worker stops for good, 1012 "service restart" when it is replaced. The client
// answers with its own close frame and the server side (the `ws` library, or whatever reads the socket) ends the
// connection; whatever is still open CLOSE_WAIT_MS later is ended, and destroyed another CLOSE_WAIT_MS later. Anything
// else upgraded is ended at the end of the spread: there is no generic way to say goodbye in an unknown protocol.
import type net = require('node:net');

/** How long a closed WebSocket's peer has to answer before the socket is ended (and then destroyed). */
const CLOSE_WAIT_MS = 1_000;

/** Close codes (RFC 6455 7.4.1 and the IANA registry). */
const GOING_AWAY = 1001;
const SERVICE_RESTART = 1012;

/** One upgraded connection: the socket the app reads, and whether the upgrade asked for WebSocket. */
interface Upgraded {
  readonly socket: net.Socket;
  readonly websocket: boolean;
}

/** The close code for a stop reason (core/events.ts StopReason): a replaced worker restarts, any other goes away. */
function closeCode(reason: string | null): number {
  return reason === 'reload' || reason === 'unhealthy' ? SERVICE_RESTART : GOING_AWAY;
}

/** A close frame with `code` and no reason text. */
function closeFrame(code: number): Buffer {
  return Buffer.from([0x88, 0x02, (code >> 8) & 0xff, code & 0xff]);
}

/** Ends a socket now, and destroys it if it is still open CLOSE_WAIT_MS later. */
function endSoon(socket: net.Socket): void {
  if (socket.destroyed) return;
  socket.end();
  setTimeout(() => { socket.destroy(); }, CLOSE_WAIT_MS).unref();
}

/**
 * Closes one connection: a close frame for a WebSocket whose handshake response went out (bytes were written), an end
 * for anything else. Resolves once the socket is closed.
 */
function closeOne(conn: Upgraded, code: number): Promise<void> {
  const { socket } = conn;
  if (socket.destroyed) return Promise.resolve();
  const closed = new Promise<void>((resolve) => { socket.once('close', () => { resolve(); }); });
  if (conn.websocket && socket.bytesWritten > 0 && socket.writable) {
    socket.write(closeFrame(code));
    // The peer's close frame normally leads the server side to end the socket; if not, end it ourselves.
    const timer = setTimeout(() => { endSoon(socket); }, CLOSE_WAIT_MS);
    timer.unref();
    socket.once('close', () => { clearTimeout(timer); });
  } else {
    endSoon(socket);
  }
  return closed;
}

/**
 * Closes `conns` one by one, evenly over `spreadMs` (0 = all at once): WebSockets at their turn, other upgrades at the
 * end of the spread. `codeFor()` is read at each turn, so a stop reason that arrives late still counts. Resolves once
 * every connection is closed.
 */
function closeSpread(conns: readonly Upgraded[], spreadMs: number, codeFor: () => number): Promise<void> {
  const n = conns.length;
  const done = conns.map((conn, i) => new Promise<void>((resolve) => {
    const at = conn.websocket ? (spreadMs * (i + 0.5)) / n : spreadMs;
    const go = (): void => { void closeOne(conn, codeFor()).then(resolve); };
    if (spreadMs === 0) go();
    else setTimeout(go, at);
  }));
  return Promise.all(done).then(() => undefined);
}

export = { closeSpread, closeCode, closeFrame, GOING_AWAY, SERVICE_RESTART };
