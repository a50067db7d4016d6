// Leftovers of an earlier tend that died without cleaning up (SIGKILL, the OOM killer): unix socket files and
// runtime directories. Only what is provably stale is removed — a socket file nobody accepts on (connect is refused)
// and a runtime directory none of whose sockets answers — and each removal is reported. A live one is never taken over.
import { readdirSync, rmSync, statSync, unlinkSync, lstatSync } from 'node:fs';
import { connect } from 'node:net';
import type { TendSpec } from '../config/spec.js';
import { TendError } from '../errors.js';
import { native } from '../os/native.js';
import { isProcessAlive } from '../os/process-tree.js';

const RUNTIME_BASE = '/run/tend';
const PROBE_TIMEOUT_MS = 1_000;

// Check every unix address tend is about to bind; resolves with what was removed. Runs before anything binds.
export async function clearStaleSockets(spec: TendSpec): Promise<string[]> {
  const removed: string[] = [];
  const paths = spec.services.flatMap((s) => s.listen).flatMap((l) => (l.kind === 'unix' && !l.path.startsWith('@') ? [{ path: l.path, what: `--listen unix:${l.path}` }] : []));
  if (spec.control !== null) paths.push({ path: spec.control, what: `--control ${spec.control}` });
  for (const { path, what } of paths) {
    if (!isSocketFile(path)) continue;
    if (await acceptsConnections(path)) {
      throw new TendError('TEND_ERR_LISTEN', `unable to use ${what}: another live process accepts connections there; stop it or choose another path`);
    }
    unlinkSync(path);
    removed.push(`stale socket ${path}`);
  }
  return removed;
}

function isSocketFile(path: string): boolean {
  try {
    return lstatSync(path).isSocket();
  } catch {
    return false;
  }
}

// True when something accepts a stream connection on `path` (ECONNREFUSED means nobody listens: stale).
function acceptsConnections(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ path });
    const timer = setTimeout(() => { socket.destroy(); resolve(true); }, PROBE_TIMEOUT_MS);
    socket.once('connect', () => { clearTimeout(timer); socket.destroy(); resolve(true); });
    socket.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      // EPROTOTYPE/ECONNREFUSED/ENOENT: no stream listener; anything else (EACCES) counts as alive, to be safe.
      resolve(!(error.code === 'ECONNREFUSED' || error.code === 'ENOENT'));
    });
  });
}

// Remove tend's runtime directories left by tends that are gone; returns what was removed. A runtime directory
// /run/tend/<pid>-XXXXXX is stale when its tend pid is gone and no notify socket in it is bound. Housekeeping that
// nothing in this run waits for: tend does it once its services have started.
export function clearStaleRuntimeDirs(): string[] {
  let entries: string[];
  try {
    entries = readdirSync(RUNTIME_BASE);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of entries) {
    const pid = ownerPid(name);
    if (pid === null || pid === process.pid) continue;
    // Paths joined by hand, as below: this runs on every start, and node:path's functions compile on first use.
    const dir = `${RUNTIME_BASE}/${name}`;
    if (isProcessAlive(pid) || anyBound(dir)) continue;
    rmSync(dir, { recursive: true, force: true });
    removed.push(`stale runtime directory ${dir}`);
  }
  return removed;
}

// The pid a runtime directory's name starts with (`<pid>-` and mkdtemp's six characters), or null for a name tend
// did not make.
function ownerPid(name: string): number | null {
  const dash = name.indexOf('-');
  if (dash < 1 || dash > 10) return null;
  for (let i = 0; i < dash; i++) {
    const code = name.charCodeAt(i);
    if (code < 0x30 || code > 0x39) return null;
  }
  return Number(name.slice(0, dash));
}

// True when any datagram socket in `dir` is still bound by a live process (a send reaches it).
function anyBound(dir: string): boolean {
  let files: string[];
  try {
    files = readdirSync(dir);
  } catch {
    return false;
  }
  for (const file of files) {
    const path = `${dir}/${file}`;
    try {
      if (!statSync(path).isSocket()) continue;
      native.dgramSend(path, Buffer.alloc(0));
      return true;
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code !== 'ECONNREFUSED' && code !== 'ENOENT') return true;
    }
  }
  return false;
}
