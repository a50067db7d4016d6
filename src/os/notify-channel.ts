// A private sd_notify channel per child: a NOTIFY_SOCKET path (for any language's sd_notify, python's socket
// module, systemd-notify) and an already-connected datagram fd (TEND_NOTIFY_FD, writable with fs.writeSync, so an
// app under tend needs no native build). Datagrams from processes that are not the child or its descendants are
// ignored, as are malformed ones; fds that arrive with a message are closed at once (BARRIER=1 returns promptly).
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isRejection, parseNotify, type NotifyMessage } from '../protocol/sd-notify.js';
import { native, type DgramMessage, type DgramWatcher } from './native.js';
import { processGroupOf } from './process-tree.js';

/** One child's channel. */
export interface NotifyChannel {
  /** NOTIFY_SOCKET for the child. */
  readonly path: string;
  /** The child's end of the connected pair; map it into the child and close it in tend after spawn. */
  readonly childFd: number;
  /** Tell the channel which pid it belongs to (known only after spawn); closes tend's copy of the child's end. */
  bind(pid: number): void;
  close(): void;
}

let runtimeDir: string | null = null;
/** A socket bound in the runtime directory for tend's whole life (see tendRuntimeDir), and its reader. */
let alive: { readonly fd: number; readonly watcher: DgramWatcher } | null = null;

// The directory for tend's sockets: /run/tend/<pid>-<random> when /run is writable, else under $TMPDIR/tend/.
// The random part keeps two tends apart that share /run but not a PID namespace (both may be PID 1).
export function tendRuntimeDir(): string {
  if (runtimeDir !== null) return runtimeDir;
  for (const base of ['/run/tend', join(tmpdir(), 'tend')]) {
    try {
      mkdirSync(base, { recursive: true, mode: 0o711 });
      const dir = mkdtempSync(join(base, `${process.pid}-`));
      chmodSync(dir, 0o711);
      // Another tend judges a directory stale when its pid is gone and none of its sockets is bound. The pid in the
      // name means nothing to a tend in another PID namespace, and a pool between restarts has no worker channel
      // bound: this socket, bound until exit, is what says the directory is in use.
      // Its reader drops the probes' empty datagrams, so a full queue never blocks a probing tend's send.
      const fd = native.dgramBind(join(dir, 'tend-alive.sock'));
      alive = { fd, watcher: native.dgramWatch(fd, () => undefined) };
      runtimeDir = dir;
      return dir;
    } catch {
      // Try the next base.
    }
  }
  throw new Error('unable to create a runtime directory under /run/tend or $TMPDIR');
}

// Remove tend's runtime directory and whatever is left in it (at exit; it only ever holds tend's own sockets).
export function removeTendRuntimeDir(): void {
  if (runtimeDir === null) return;
  if (alive !== null) {
    alive.watcher.close();
    native.closeFd(alive.fd);
    alive = null;
  }
  rmSync(runtimeDir, { recursive: true, force: true });
  runtimeDir = null;
}

// Open a channel named `name`; `onMessage` hears every valid datagram from the child, `onIgnored` why others were dropped.
export function openNotifyChannel(
  name: string,
  owner: { uid: number; gid: number } | null,
  onMessage: (message: NotifyMessage, senderPid: number) => void,
  onIgnored: (why: string) => void,
): NotifyChannel {
  const path = join(tendRuntimeDir(), `notify-${name}.sock`);
  try { unlinkSync(path); } catch { /* not there */ }
  const bound = native.dgramBind(path);
  if (owner !== null) chownSync(path, owner.uid, owner.gid);
  const [tendEnd, childEnd] = native.dgramSocketPair();
  let pid = -1;
  const handle = (fromPath: boolean) => (msg: DgramMessage): void => {
    if (pid < 0) { onIgnored('datagram before the child existed'); return; }
    if (fromPath && !isSelfOrDescendant(msg.pid, pid)) {
      onIgnored(`datagram from pid ${msg.pid}, which is not the child ${pid} or one of its descendants`);
      return;
    }
    const parsed = parseNotify(msg.data, msg.truncated);
    if (isRejection(parsed)) { onIgnored(parsed.rejected); return; }
    onMessage(parsed, msg.pid);
  };
  const watchers: DgramWatcher[] = [native.dgramWatch(bound, handle(true)), native.dgramWatch(tendEnd, handle(false))];
  let closed = false;
  let childEndOpen = true;
  const closeChildEnd = (): void => {
    if (!childEndOpen) return;
    childEndOpen = false;
    native.closeFd(childEnd);
  };
  return {
    path,
    childFd: childEnd,
    bind(childPid) {
      pid = childPid;
      closeChildEnd();
    },
    close() {
      if (closed) return;
      closed = true;
      for (const w of watchers) w.close();
      for (const fd of [bound, tendEnd]) { try { native.closeFd(fd); } catch { /* closed */ } }
      closeChildEnd();
      try { unlinkSync(path); } catch { /* gone */ }
    },
  };
}

// Walk the parent chain from `sender` (at most 32 levels) looking for `ancestor`.
function isSelfOrDescendant(sender: number, ancestor: number): boolean {
  let pid = sender;
  for (let depth = 0; depth < 32 && pid > 1; depth++) {
    if (pid === ancestor) return true;
    pid = parentOf(pid);
  }
  // systemd-notify run as root forges its parent's pid; a sender in the child's process group is the child's too.
  return sender > 0 && processGroupOf(sender) === ancestor;
}

function parentOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return 0;
  }
}
