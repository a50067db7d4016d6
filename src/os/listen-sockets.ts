// Listening sockets owned by tend for the life of the pool, so no worker exit ever closes one or drops a
// connection waiting in its accept queue. Workers get them by the systemd socket-activation convention.
import { chmodSync, chownSync, lstatSync, unlinkSync } from 'node:fs';
import address from '../contract/address.cjs';
import type { ListenSpec } from '../config/pool-config.js';
import { TendError } from '../errors.js';
import { isNativeError, native } from './native.js';

/** One open listening socket. */
export interface OpenSocket {
  readonly spec: ListenSpec;
  readonly fd: number;
  /** The address in the preload's map format: "tcp:HOST:PORT" or "unix:/path". */
  readonly address: string;
  /** The bound TCP port (the real one when --listen asked for port 0), or null for unix sockets. */
  readonly port: number | null;
}

const BACKLOG = 511;

// Open every --listen socket once (shared by all workers), or one SO_REUSEPORT socket per slot for TCP. With
// `bindOnly`, the TCP copies of slots 1.. are bound but not listening: each joins the port's SO_REUSEPORT group only
// when its worker calls listen() on it (Node does), so a slot whose worker never got that far gets no connections.
export function openListenSockets(specs: readonly ListenSpec[], copies: number, resolveIds: (owner: string | null, group: string | null) => { uid: number; gid: number }, bindOnly = false): OpenSocket[][] {
  const first = specs.map((spec) => openOne(spec, copies > 1, resolveIds));
  const perSlot: OpenSocket[][] = [first];
  for (let slot = 1; slot < copies; slot++) {
    // Unix sockets are always shared; every further TCP copy binds the port the first one got (port 0 included).
    perSlot.push(first.map((s) => (s.spec.kind === 'tcp' ? openOne({ ...s.spec, port: s.port ?? s.spec.port }, true, resolveIds, bindOnly) : s)));
  }
  return perSlot;
}

function openOne(spec: ListenSpec, reusePort: boolean, resolveIds: (owner: string | null, group: string | null) => { uid: number; gid: number }, bindOnly = false): OpenSocket {
  try {
    if (spec.kind === 'tcp') {
      const fd = native.listenTcp(spec.host, spec.port, bindOnly ? -1 : BACKLOG, reusePort);
      const port = spec.port === 0 ? native.socketPort(fd) : spec.port;
      return { spec, fd, address: address.tcpAddress(spec.host, port), port };
    }
    if (!spec.path.startsWith('@')) removeStaleSocket(spec.path);
    const fd = native.listenUnix(spec.path, BACKLOG);
    if (!spec.path.startsWith('@')) {
      if (spec.mode !== null) chmodSync(spec.path, spec.mode);
      if (spec.owner !== null || spec.group !== null) {
        const { uid, gid } = resolveIds(spec.owner, spec.group);
        chownSync(spec.path, uid, gid);
      }
    }
    return { spec, fd, address: address.unixAddress(spec.path), port: null };
  } catch (error) {
    if (error instanceof TendError) throw error;
    const where = spec.kind === 'tcp' ? `tcp://${spec.host}:${spec.port}` : `unix:${spec.path}`;
    const code = isNativeError(error) || error instanceof Error ? (error as { code?: string }).code ?? error.message : String(error);
    const fix = code === 'EADDRINUSE' ? 'another process holds this address; stop it or pick another port'
      : code === 'EACCES' ? 'ports below 1024 need root (CAP_NET_BIND_SERVICE), and the socket directory must be writable'
      : 'check the address';
    throw new TendError('TEND_ERR_LISTEN', `unable to listen on --listen ${where}: ${code}; ${fix}`, { cause: error });
  }
}

// A socket file left by a previous run (crash, SIGKILL) would make bind fail with EADDRINUSE: remove it, but only
// if it really is a socket.
function removeStaleSocket(path: string): void {
  try {
    if (lstatSync(path).isSocket()) unlinkSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

// Open a fresh SO_REUSEPORT copy of a TCP socket on the same port (a slot's own socket, reopened for its new worker;
// with `bindOnly` not yet listening: the worker's own listen() adds it to the port's group).
export function reopenReusePort(s: OpenSocket, bindOnly = false): OpenSocket {
  return openOne({ ...s.spec, port: s.port ?? 0 } as ListenSpec, true, () => ({ uid: -1, gid: -1 }), bindOnly);
}

// Remove a unix socket's file (at exit, after its fd was closed earlier).
export function removeSocketFile(s: OpenSocket): void {
  if (s.spec.kind !== 'unix' || s.spec.path.startsWith('@')) return;
  try { unlinkSync(s.spec.path); } catch { /* gone */ }
}

// Close every socket and remove unix socket files (at pool exit).
export function closeListenSockets(sockets: readonly OpenSocket[][]): void {
  const seen = new Set<number>();
  for (const slot of sockets) {
    for (const s of slot) {
      if (seen.has(s.fd)) continue;
      seen.add(s.fd);
      try { native.closeFd(s.fd); } catch { /* already closed */ }
      if (s.spec.kind === 'unix' && !s.spec.path.startsWith('@')) {
        try { unlinkSync(s.spec.path); } catch { /* gone */ }
      }
    }
  }
}
