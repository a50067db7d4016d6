// The control socket of a running tend: a unix socket only its owner (and, with --control-group, one group for
// read-only requests) can open. It is created 0600 from the start (bind under umask 0177, so there is no moment when
// another user could connect), bind never replaces whatever is at the path, every request is checked against the
// peer's SO_PEERCRED, lines are capped in size and idle connections are closed. One JSON request per line; answers are
// JSON lines, streamed (events, log lines) before a final line with "done": true.
import { chmodSync, chownSync, lstatSync, unlinkSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { parseSignal } from '../config/signal-names.js';
import type { TendEvent } from '../core/events.js';
import { TendError } from '../errors.js';
import type { Logger } from '../log.js';
import { native, type PeerCredentials } from '../os/native.js';
import type { TendHandle } from '../runner/runner.js';
import type { History } from './history.js';
import { richStatus } from './status-view.js';

/** The longest request line accepted; a longer one closes the connection. */
export const MAX_REQUEST_BYTES = 64 * 1024;
/** A connection with no complete request for this long is closed (streams being answered are exempt). */
export const IDLE_TIMEOUT_MS = 5_000;

/** Requests anyone allowed to connect may make; every other one changes something and needs tend's uid or root. */
const READ_ONLY = new Set(['status', 'logs']);

/** An open, not yet serving, control socket. */
export interface ControlSocket {
  readonly path: string;
  // Answer requests for `tend`; the history subscriber must already be subscribed to it.
  serve(tend: TendHandle, history: History): void;
  close(): void;
}

/** What a request may carry. */
interface Request {
  readonly request?: unknown;
  readonly service?: unknown;
  readonly slot?: unknown;
  readonly workers?: unknown;
  readonly delta?: unknown;
  readonly signal?: unknown;
  readonly force?: unknown;
  readonly lines?: unknown;
  readonly follow?: unknown;
  readonly verbose?: unknown;
}

type Write = (line: object) => boolean;

// Bind `path` (0600, or 0660 for `group`); any failure is a TendError the caller treats as fatal.
export async function openControlSocket(path: string, group: number | null, log: Logger): Promise<ControlSocket> {
  refuseNonSocket(path);
  let tend: TendHandle | null = null;
  let history: History | null = null;
  const server: Server = createServer((socket) => {
    if (tend === null || history === null) { socket.destroy(); return; }
    onConnection(socket, tend, history, log);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      reject(new TendError('TEND_ERR_LISTEN', `unable to open the control socket --control ${path}: ${error.code ?? error.message}${error.code === 'EADDRINUSE' ? ' (something is already at that path; tend never replaces it)' : ''}; choose another path or remove what is there`));
    });
    // bind() runs synchronously inside listen(): the umask makes the socket 0600 as it is created.
    const previous = process.umask(0o177);
    try {
      server.listen(path, () => { resolve(); });
    } finally {
      process.umask(previous);
    }
  });
  if (group !== null) {
    chownSync(path, process.getuid?.() ?? 0, group);
    chmodSync(path, 0o660);
  }
  server.on('error', (error) => { log.error(`control socket ${path}: ${error.message}`); });
  server.unref();
  return {
    path,
    serve(handle, recorded) {
      tend = handle;
      history = recorded;
    },
    close() {
      server.close();
      try {
        if (lstatSync(path).isSocket()) unlinkSync(path);
      } catch { /* gone */ }
    },
  };
}

// A regular file (or directory, or anything but a socket) at the path is the operator's: never deleted, never used.
function refuseNonSocket(path: string): void {
  let isSocket: boolean;
  try {
    isSocket = lstatSync(path).isSocket();
  } catch {
    return;
  }
  if (!isSocket) throw new TendError('TEND_ERR_LISTEN', `unable to open the control socket --control ${path}: a file that is not a socket is there, and tend never deletes it; choose another path`);
}

function onConnection(socket: Socket, tend: TendHandle, history: History, log: Logger): void {
  let peer: PeerCredentials;
  try {
    peer = native.peerCredentials((socket as unknown as { _handle: { fd: number } })._handle.fd);
  } catch {
    socket.destroy();
    return;
  }
  const owner = peer.uid === process.getuid?.() || peer.uid === 0;
  let buffered = '';
  let busy = false;
  socket.setEncoding('utf8');
  socket.setTimeout(IDLE_TIMEOUT_MS, () => { if (!busy) socket.destroy(); });
  socket.on('error', () => undefined);
  const write: Write = (line) => !socket.destroyed && socket.write(`${JSON.stringify(line)}\n`);
  socket.on('data', (chunk: string) => {
    buffered += chunk;
    if (buffered.length > MAX_REQUEST_BYTES && !buffered.slice(0, MAX_REQUEST_BYTES + 1).includes('\n')) {
      write({ ok: false, done: true, error: `request longer than ${MAX_REQUEST_BYTES} bytes` });
      socket.destroySoon();
      return;
    }
    for (let nl = buffered.indexOf('\n'); nl >= 0 && !busy; nl = buffered.indexOf('\n')) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      busy = true;
      socket.setTimeout(0);
      void answer(line, { tend, history, log, owner, peer, socket, write }).finally(() => {
        busy = false;
        socket.setTimeout(IDLE_TIMEOUT_MS);
      });
    }
  });
}

interface Context {
  readonly tend: TendHandle;
  readonly history: History;
  readonly log: Logger;
  readonly owner: boolean;
  readonly peer: PeerCredentials;
  readonly socket: Socket;
  readonly write: Write;
}

async function answer(line: string, ctx: Context): Promise<void> {
  let req: Request;
  try {
    const parsed: unknown = JSON.parse(line);
    if (typeof parsed !== 'object' || parsed === null) throw new Error('not an object');
    req = parsed;
  } catch {
    ctx.write({ ok: false, done: true, error: 'not a JSON object' });
    return;
  }
  const kind = typeof req.request === 'string' ? req.request : '';
  if (!READ_ONLY.has(kind) && !ctx.owner) {
    ctx.log.warn(`control socket: refused ${JSON.stringify(kind)} from uid ${ctx.peer.uid} (pid ${ctx.peer.pid}): only tend's user or root may change it`);
    ctx.write({ ok: false, done: true, denied: true, error: `permission denied: only tend's user (uid ${process.getuid?.() ?? 0}) or root may ${kind}` });
    return;
  }
  const { service, slot } = target(req);
  switch (kind) {
    case 'status':
      ctx.write({ ok: true, done: true, status: richStatus(ctx.tend, ctx.history, req.verbose === true && ctx.owner) });
      return;
    case 'logs':
      await streamLogs(ctx, service, slot, typeof req.lines === 'number' ? req.lines : 20, req.follow === true);
      return;
    case 'reload':
    case 'restart':
      ctx.log.info(`${kind} requested over the control socket by uid ${ctx.peer.uid}`);
      await withProgress(ctx, () => ctx.tend.reload(service));
      return;
    case 'scale':
      await scale(ctx, service, req);
      return;
    case 'signal':
      signal(ctx, service, slot, req);
      return;
    case 'stop':
      await stop(ctx);
      return;
    default:
      ctx.write({ ok: false, done: true, error: `unknown request ${JSON.stringify(kind)}` });
  }
}

function target(req: Request): { service: string | null; slot: number | null } {
  return {
    service: typeof req.service === 'string' ? req.service : null,
    slot: typeof req.slot === 'number' && Number.isInteger(req.slot) ? req.slot : null,
  };
}

// Run a reload or scale, streaming the events about it, then the outcome.
async function withProgress(ctx: Context, run: () => Promise<{ ok: boolean; detail: string }>): Promise<void> {
  const unsubscribe = ctx.tend.subscribe((event) => { if (isProgress(event)) ctx.write({ event }); });
  try {
    const result = await run();
    ctx.write({ ok: result.ok, done: true, detail: result.detail, status: richStatus(ctx.tend, ctx.history, false) });
  } finally {
    unsubscribe();
  }
}

function isProgress(event: TendEvent): boolean {
  return event.type === 'spawned' || event.type === 'ready' || event.type === 'exited' || event.type === 'reload-started' ||
    event.type === 'reload-finished' || event.type === 'scale-started' || event.type === 'scale-finished' || event.type === 'spawn-failed';
}

async function scale(ctx: Context, service: string | null, req: Request): Promise<void> {
  const workers = typeof req.workers === 'number' && Number.isInteger(req.workers) && req.workers >= 0 ? req.workers : null;
  const delta = typeof req.delta === 'number' && Number.isInteger(req.delta) ? req.delta : null;
  if (workers === null && delta === null) {
    ctx.write({ ok: false, done: true, error: 'scale needs "workers" (a whole number) or "delta"' });
    return;
  }
  ctx.log.info(`scale requested over the control socket by uid ${ctx.peer.uid}`);
  await withProgress(ctx, () => ctx.tend.scale(service, workers ?? { delta: delta ?? 0 }));
}

function signal(ctx: Context, service: string | null, slot: number | null, req: Request): void {
  const name = typeof req.signal === 'string' ? parseSignal(req.signal) : null;
  if (name === null) {
    ctx.write({ ok: false, done: true, error: `unknown signal ${JSON.stringify(req.signal)}` });
    return;
  }
  // These stop workers outright: tend would restart them, which is what `tend restart` does gracefully.
  if ((name === 'SIGTERM' || name === 'SIGINT' || name === 'SIGKILL') && req.force !== true) {
    ctx.write({ ok: false, done: true, error: `${name} stops workers; use tend restart for a graceful replacement, or add --force` });
    return;
  }
  const result = ctx.tend.signal(service, name, slot);
  ctx.write({ ok: result.ok, done: true, detail: result.detail });
}

// The normal stop; answered with the exit code tend announces, once it does.
async function stop(ctx: Context): Promise<void> {
  ctx.log.info(`stop requested over the control socket by uid ${ctx.peer.uid}`);
  const code = await new Promise<number>((resolve) => {
    const unsubscribe = ctx.tend.subscribe((event) => {
      if (event.type === 'stopping') ctx.write({ event });
      if (event.type === 'exit') { unsubscribe(); resolve(event.code); }
    });
    ctx.tend.stop();
  });
  ctx.write({ ok: true, done: true, code });
}

async function streamLogs(ctx: Context, service: string | null, slot: number | null, lines: number, follow: boolean): Promise<void> {
  const rings = ctx.tend.rings(service, slot);
  if (rings.length === 0) {
    ctx.write({ ok: false, done: true, error: `no worker output kept for ${service ?? 'any service'}${slot === null ? '' : ` slot ${slot}`}` });
    return;
  }
  const n = Math.max(0, Math.min(Math.floor(lines), 10_000));
  if (!follow) {
    const all = rings.flatMap((r) => r.ring.entries(n).map((e) => ({ ...e, service: r.service, slot: r.slot, pid: r.pid })));
    all.sort((a, b) => a.time - b.time);
    for (const e of all.slice(-n)) ctx.write({ log: logLine(e) });
    ctx.write({ ok: true, done: true });
    return;
  }
  const followers = rings.map((r) => ({ r, f: r.ring.follow({ backlog: n }) }));
  ctx.socket.once('close', () => { for (const { f } of followers) f.close(); });
  await Promise.all(followers.map(async ({ r, f }) => {
    for await (const e of f) {
      if (!ctx.write({ log: logLine({ ...e, service: r.service, slot: r.slot, pid: r.pid }) }) && ctx.socket.destroyed) break;
    }
  }));
  ctx.write({ ok: true, done: true });
}

function logLine(e: { time: number; stream: string; line: Buffer; service: string; slot: number; pid: number | null }): object {
  return { service: e.service, slot: e.slot, pid: e.pid, time: new Date(e.time).toISOString(), stream: e.stream, line: e.line.toString('utf8') };
}
