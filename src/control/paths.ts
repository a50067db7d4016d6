// Where the control socket lives: --control PATH, or control.sock in tend's own runtime directory; and how the CLI
// finds it without --control when exactly one tend runs.
import { readdirSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TendSpec } from '../config/spec.js';
import { TendError } from '../errors.js';
import { native } from '../os/native.js';
import { tendRuntimeDir } from '../os/notify-channel.js';

/** The file name of the default control socket inside a runtime directory. */
export const CONTROL_FILE = 'control.sock';
const PROBE_TIMEOUT_MS = 1_000;

// The path tend serves control requests on.
export function controlPathFor(spec: TendSpec): string {
  return spec.control ?? join(tendRuntimeDir(), CONTROL_FILE);
}

// --control-group as a gid: a number, or a name in the group database.
export function resolveControlGroup(group: string | null): number | null {
  if (group === null) return null;
  if (/^\d+$/.test(group)) return Number(group);
  const gid = native.lookupGroup(group);
  if (gid === null) throw new TendError('TEND_ERR_USAGE', `--control-group ${JSON.stringify(group)}: no such group; create it or give a numeric gid`);
  return gid;
}

// The control socket for a CLI command: --control, TEND_CONTROL, or the one live default socket under /run/tend and $TMPDIR/tend.
export async function findControlSocket(command: string, given: string | null): Promise<string> {
  if (given !== null) return given;
  const candidates = ['/run/tend', join(tmpdir(), 'tend')].flatMap((base) => {
    try {
      return readdirSync(base).map((dir) => join(base, dir, CONTROL_FILE));
    } catch {
      return [];
    }
  });
  const live: string[] = [];
  for (const path of candidates) if (await accepts(path)) live.push(path);
  if (live.length === 1 && live[0] !== undefined) return live[0];
  if (live.length === 0) throw new TendError('TEND_ERR_CONTROL', `tend ${command}: no running tend found (no live ${CONTROL_FILE} under /run/tend or ${join(tmpdir(), 'tend')}); pass --control PATH or set TEND_CONTROL`);
  throw new TendError('TEND_ERR_USAGE', `tend ${command}: ${live.length} tends are running (${live.join(', ')}); pass --control PATH to pick one`);
}

// True when a stream connection to `path` succeeds (an EACCES socket belongs to someone else: not a candidate).
function accepts(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ path });
    const timer = setTimeout(() => { socket.destroy(); resolve(false); }, PROBE_TIMEOUT_MS);
    socket.once('connect', () => { clearTimeout(timer); socket.destroy(); resolve(true); });
    socket.once('error', () => { clearTimeout(timer); resolve(false); });
  });
}
