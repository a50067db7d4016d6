// Sockets on demand, the way node:cluster's primary shares them, without cluster: a Node worker's listen() on an
// address tend does not already own becomes a request over the worker's IPC channel; tend opens that socket once for
// the whole service, hands the same socket to every worker that asks, and keeps it like a --listen socket (across
// crashes, reloads and replacements) until tend exits. A service without --listen has a main address: the one on
// the service's $PORT once a worker asks for it, else the first address it asked for. A worker is ready (auto) when
// it listens there, never because of an extra listener (a metrics server opened first, tsx's IPC server).
import { chownSync } from 'node:fs';
import { closeListenSockets, type OpenSocket } from '../os/listen-sockets.js';
import { isNativeError, native } from '../os/native.js';
import address from '../contract/address.cjs';
import contract from '../contract/env.cjs';
import type { SocketRequest } from '../contract/types.cjs';
import type { IpcChannel } from './ipc-channel.js';

const { listenRequest: LISTEN_REQUEST, listenReply: LISTEN_REPLY } = contract.IPC;
const BACKLOG = 511;

/** What a request gets: a socket tend owns (with its address in the preload's map format), or the error to raise. */
export type SocketGrant =
  | { readonly ok: true; readonly fd: number; readonly address: string; readonly opened: boolean }
  | { readonly ok: false; readonly code: string; readonly errno: number; readonly syscall: string };

/** One service's on-demand sockets. */
export class OnDemandSockets {
  private readonly open = new Map<string, OpenSocket>();
  /** The first address the service asked for on demand (only when it has no --listen socket). */
  private mainAddress: string | null = null;
  private asked = false;

  /** `port`: the service's $PORT, whose address becomes the main one even when another was asked for first. */
  constructor(private readonly owner: { uid: number; gid: number } | null, private readonly port: number | null) {}

  /** The socket for `request`: a --listen socket of this worker when one matches, else one opened (once) on demand. */
  grant(request: SocketRequest, declared: readonly OpenSocket[]): SocketGrant {
    const listen = matchDeclared(request, declared);
    if (listen !== null) return { ok: true, fd: listen.fd, address: listen.address, opened: false };
    this.asked = true;
    const key = keyOf(request);
    let socket = this.open.get(key);
    let opened = false;
    if (socket === undefined) {
      try {
        socket = openSocket(request, this.owner);
      } catch (error) {
        return failure(error);
      }
      this.open.set(key, socket);
      opened = true;
    }
    if (declared.length === 0 && (this.mainAddress === null || (request.kind === 'tcp' && request.port === this.port))) this.mainAddress = socket.address;
    return { ok: true, fd: socket.fd, address: socket.address, opened };
  }

  /** Whether a listening report names the service's own address: a --listen socket, or else its main address. */
  isServiceAddress(address: string, declared: readonly OpenSocket[]): boolean {
    if (declared.length > 0) return declared.some((s) => s.address === address);
    return this.mainAddress !== null && this.mainAddress === address;
  }

  /** True once a worker asked for a socket (even one tend could not open): the service is known to listen, so
   *  staying up is not readiness. */
  get listens(): boolean {
    return this.asked;
  }

  /** Closes every on-demand socket and removes unix socket files (at tend's exit). */
  close(): void {
    closeListenSockets([[...this.open.values()]]);
    this.open.clear();
  }
}

// Answer one IPC message if it is a socket request; false when it is something else.
export function answerSocketRequest(
  message: unknown,
  channel: IpcChannel,
  sockets: OnDemandSockets,
  declared: readonly OpenSocket[],
  onOpened: (address: string, fd: number) => void,
): boolean {
  if (typeof message !== 'object' || message === null || (message as { cmd?: unknown }).cmd !== LISTEN_REQUEST) return false;
  const m = message as Record<string, unknown>;
  const id = m['id'];
  const request = parseRequest(m);
  if (request === null) {
    channel.send({ cmd: LISTEN_REPLY, id, error: { code: 'EINVAL', errno: 22, syscall: 'listen' } });
    return true;
  }
  const grant = sockets.grant(request, declared);
  if (!grant.ok) {
    channel.send({ cmd: LISTEN_REPLY, id, error: { code: grant.code, errno: grant.errno, syscall: grant.syscall } });
    return true;
  }
  if (grant.opened) onOpened(grant.address, grant.fd);
  native.setNonblocking(grant.fd);
  channel.sendHandle({ cmd: LISTEN_REPLY, id, address: grant.address }, grant.fd);
  return true;
}

function parseRequest(m: Record<string, unknown>): SocketRequest | null {
  if (m['kind'] === 'tcp') {
    const port = m['port'];
    const host = m['host'];
    if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) return null;
    if (host !== null && (typeof host !== 'string' || host === '' || host.includes('\0'))) return null;
    return { kind: 'tcp', host, port };
  }
  if (m['kind'] === 'unix') {
    const path = m['path'];
    if (typeof path !== 'string' || path === '' || path.includes('\0') || (!path.startsWith('/') && !path.startsWith('@'))) return null;
    return { kind: 'unix', path };
  }
  return null;
}

function keyOf(request: SocketRequest): string {
  return request.kind === 'tcp' ? `tcp:${request.host ?? '*'}:${request.port}` : `unix:${request.path}`;
}

/** The preload's rule for inherited sockets: TCP by port (an exact host wins), unix by path. */
function matchDeclared(request: SocketRequest, declared: readonly OpenSocket[]): OpenSocket | null {
  if (request.kind === 'unix') return declared.find((s) => s.spec.kind === 'unix' && s.spec.path === request.path) ?? null;
  const byPort = declared.filter((s) => s.spec.kind === 'tcp' && s.port === request.port);
  return byPort.find((s) => s.spec.kind === 'tcp' && s.spec.host === request.host) ?? byPort[0] ?? null;
}

function openSocket(request: SocketRequest, owner: { uid: number; gid: number } | null): OpenSocket {
  if (request.kind === 'unix') {
    // No stale-file removal here (unlike --listen): a file that exists may be another program's live socket, and
    // the app's listen() would have failed with EADDRINUSE too.
    const fd = native.listenUnix(request.path, BACKLOG);
    if (owner !== null && !request.path.startsWith('@')) {
      try {
        chownSync(request.path, owner.uid, owner.gid);
      } catch (error) {
        native.closeFd(fd);
        throw error;
      }
    }
    return { spec: { kind: 'unix', path: request.path, mode: null, owner: null, group: null, name: 'on-demand' }, fd, address: address.unixAddress(request.path), port: null };
  }
  const hosts = request.host === null ? ['::', '0.0.0.0'] : [request.host];
  let lastError: unknown = null;
  for (const host of hosts) {
    try {
      const fd = native.listenTcp(host, request.port, BACKLOG, false);
      return { spec: { kind: 'tcp', host, port: request.port, name: 'on-demand' }, fd, address: address.tcpAddress(host, request.port), port: request.port };
    } catch (error) {
      lastError = error;
      // Node falls back from :: to 0.0.0.0 when the host has no IPv6 (net.js createServerHandle).
      const code = (error as { code?: string }).code;
      if (code !== 'EAFNOSUPPORT' && code !== 'EADDRNOTAVAIL') break;
    }
  }
  throw lastError;
}

function failure(error: unknown): SocketGrant {
  if (isNativeError(error)) return { ok: false, code: error.code, errno: error.errno, syscall: error.syscall };
  const e = error as { code?: unknown; errno?: unknown; syscall?: unknown };
  return {
    ok: false,
    code: typeof e.code === 'string' ? e.code : 'EIO',
    errno: typeof e.errno === 'number' ? Math.abs(e.errno) : 5,
    syscall: typeof e.syscall === 'string' ? e.syscall : 'listen',
  };
}
