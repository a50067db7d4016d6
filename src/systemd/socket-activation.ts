// Socket activation, upward: the listening sockets systemd passes to tend (LISTEN_FDS/LISTEN_PID/LISTEN_FDNAMES, fds
// from 3) become the pool's sockets, exactly as if tend had opened them for --listen. Workers then get them by the
// same convention, renumbered from 3 and with their own LISTEN_PID.
import type { ListenSpec } from '../config/pool-config.js';
import { TendError } from '../errors.js';
import type { OpenSocket } from '../os/listen-sockets.js';
import { isNativeError, native, type SocketAddress } from '../os/native.js';

/** SD_LISTEN_FDS_START: the first passed fd. */
export const FIRST_LISTEN_FD = 3;
/** More passed sockets than this is a broken environment, not a configuration (systemd caps fds per unit too). */
const MAX_LISTEN_FDS = 1024;

/** The facade calls used here, replaceable in tests. */
export interface SocketActivationDeps {
  readonly pid: number;
  readonly socketAddress: (fd: number) => SocketAddress;
  readonly setCloexec: (fd: number) => void;
}

const realDeps = (): SocketActivationDeps => ({ pid: process.pid, socketAddress: native.socketAddress, setCloexec: native.setCloexec });

// The sockets systemd passed to this process, or null when there are none for us (no LISTEN_FDS, or LISTEN_PID names
// another process, e.g. the variables leaked from a parent). Each fd is made close-on-exec so it reaches a worker only
// through the pool's explicit fd map (systemd passes them inheritable; Node marks inherited fds close-on-exec at
// start-up, but only up to the first gap after fd 15, so this does not rely on it). Throws TendError(TEND_ERR_LISTEN)
// for an fd that is not a listening stream socket.
export function inheritedSockets(env: Readonly<Record<string, string | undefined>>, deps: SocketActivationDeps = realDeps()): OpenSocket[] | null {
  const pidText = env['LISTEN_PID'];
  const fdsText = env['LISTEN_FDS'];
  if (pidText === undefined || fdsText === undefined) return null;
  if (!/^\d{1,10}$/.test(pidText) || Number(pidText) !== deps.pid) return null;
  if (!/^\d{1,10}$/.test(fdsText)) {
    throw new TendError('TEND_ERR_LISTEN', `LISTEN_FDS=${JSON.stringify(fdsText.slice(0, 40))} is not a count; check the .socket unit that started tend`);
  }
  const count = Number(fdsText);
  if (count === 0) return null;
  if (count > MAX_LISTEN_FDS) {
    throw new TendError('TEND_ERR_LISTEN', `LISTEN_FDS=${count} is more sockets than tend accepts (${MAX_LISTEN_FDS})`);
  }
  const names = fdNames(env['LISTEN_FDNAMES'], count);
  const sockets: OpenSocket[] = [];
  for (let i = 0; i < count; i++) {
    const fd = FIRST_LISTEN_FD + i;
    const name = names[i] ?? 'unknown';
    let address: SocketAddress;
    try {
      address = deps.socketAddress(fd);
      deps.setCloexec(fd);
    } catch (error) {
      throw new TendError('TEND_ERR_LISTEN', `socket ${i + 1} of ${count} passed by systemd (fd ${fd}, name ${JSON.stringify(name)}) ${describeProblem(error)}`, { cause: error });
    }
    sockets.push(toOpenSocket(fd, name, address));
  }
  return sockets;
}

// LISTEN_FDNAMES is colon-separated, one per fd; systemd's default for a missing or mismatched list is "unknown".
function fdNames(text: string | undefined, count: number): readonly string[] {
  if (text === undefined) return [];
  const names = text.split(':');
  return names.length === count ? names.map((n) => (n === '' ? 'unknown' : n)) : [];
}

function toOpenSocket(fd: number, name: string, address: SocketAddress): OpenSocket {
  if (address.family === 'tcp') {
    const spec: ListenSpec = { kind: 'tcp', host: address.host, port: address.port, name };
    const host = address.host.includes(':') ? `[${address.host}]` : address.host;
    return { spec, fd, address: `tcp:${host}:${address.port}`, port: address.port };
  }
  const spec: ListenSpec = { kind: 'unix', path: address.path, mode: null, owner: null, group: null, name };
  return { spec, fd, address: `unix:${address.path}`, port: null };
}

function describeProblem(error: unknown): string {
  const code = isNativeError(error) ? error.code : error instanceof Error ? error.message : String(error);
  switch (code) {
    case 'EBADF': return 'is not open; LISTEN_FDS does not match the fds tend got';
    case 'ENOTSOCK': return 'is not a socket; tend only serves stream sockets (ListenStream=)';
    case 'EPROTOTYPE': return 'is not a stream socket; tend only serves ListenStream= sockets (not ListenDatagram=/ListenSequentialPacket=)';
    case 'EINVAL': return 'is not listening; use Accept=no (the default) in the .socket unit';
    case 'EAFNOSUPPORT': return 'has an address family tend does not serve (only TCP and unix sockets)';
    default: return `cannot be used: ${code}`;
  }
}
