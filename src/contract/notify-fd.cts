/* eslint-disable @typescript-eslint/no-require-imports -- a .cts file under verbatimModuleSyntax imports with require */
// The worker's end of the notify channel: TEND_NOTIFY_FD names an already-connected datagram socket to tend, written
// with a plain fs.writeSync (no native code), by the preload (listening reports) and the in-app library (READY=1…).
// The variable is inherited by the app's own children, which do not inherit the fd (Node opens everything
// close-on-exec): there the number may name a file, a pipe or a TCP connection, and writing "READY=1" into those
// would corrupt them, so an fd is used only once it is proven to be a unix datagram socket.
import fs = require('node:fs');

const datagramInodes = new Map<number, boolean>();

/** The fd in `text` (TEND_NOTIFY_FD's value) if it is open and a unix datagram socket here, else null. */
function notifyFdFrom(text: string | undefined): number | null {
  if (text === undefined || !/^\d{1,9}$/.test(text)) return null;
  const fd = Number(text);
  return isNotifySocket(fd) ? fd : null;
}

/** Whether `fd` is open and a unix datagram socket (so it can be tend's notify channel). */
function isNotifySocket(fd: number): boolean {
  let ino: number;
  try {
    const st = fs.fstatSync(fd);
    if (!st.isSocket()) return false;
    ino = st.ino;
  } catch {
    return false;
  }
  let ok = datagramInodes.get(ino);
  if (ok === undefined) {
    ok = isUnixDatagram(ino);
    datagramInodes.set(ino, ok);
  }
  return ok;
}

// /proc/net/unix lists this network namespace's unix sockets: "Num RefCount Protocol Flags Type St Inode [Path]",
// Type 0002 = SOCK_DGRAM. Read once per socket inode.
function isUnixDatagram(ino: number): boolean {
  let table: string;
  try {
    table = fs.readFileSync('/proc/net/unix', 'latin1');
  } catch {
    return true; // no /proc here: a socket is the best proof there is
  }
  const inode = String(ino);
  for (const line of table.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f[6] === inode) return f[4] === '0002';
  }
  return false; // a socket of another family (TCP, UDP)
}

/**
 * Writes one notification to tend; never throws. 'sent'; 'unusable' when the fd is not (or no longer) a socket, so
 * the caller stops using it; 'failed' when tend is gone or not reading (ECONNREFUSED, EAGAIN), which must never take
 * the app down.
 */
function writeNotify(fd: number, data: string | Uint8Array): 'sent' | 'unusable' | 'failed' {
  try {
    fs.writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
    return 'sent';
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    return code === 'EBADF' || code === 'ENOTSOCK' || code === 'EINVAL' || code === 'EISDIR' ? 'unusable' : 'failed';
  }
}

export = { notifyFdFrom, isNotifySocket, writeNotify };
