// Node 22.8+ can keep V8's compiled code on disk (module.enableCompileCache), so later starts of tend skip
// compiling the modules loaded after this call. Node 20 has no such cache; there this does nothing.
import { mkdirSync, statSync } from 'node:fs';
import nodeModule from 'node:module';
import { join } from 'node:path';

type EnableCompileCache = (directory: string) => { status: number; message?: string; directory?: string };

// The cache directory: $XDG_CACHE_HOME/tend or ~/.cache/tend, private to the user running tend (a directory
// other users can write to could feed it compiled code); null when neither variable says where that is.
export function compileCacheDir(env: NodeJS.ProcessEnv): string | null {
  const xdg = env['XDG_CACHE_HOME'];
  if (xdg !== undefined && xdg.startsWith('/')) return join(xdg, 'tend');
  const home = env['HOME'];
  if (home !== undefined && home.startsWith('/')) return join(home, '.cache', 'tend');
  return null;
}

// Creates `dir` (and its parent, at most) one level at a time: Node's own recursive mkdir never returns where a
// parent can never be created (under /proc), so it is not trusted with a path that comes from the environment.
function ensureOwnDirectory(dir: string): boolean {
  for (const path of [join(dir, '..'), dir]) {
    try {
      mkdirSync(path, { mode: 0o700 });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') return false;
    }
  }
  try {
    const stat = statSync(dir);
    return stat.isDirectory() && stat.uid === process.getuid?.();
  } catch {
    return false;
  }
}

// Turn on Node's compile cache where the Node version has it and the cache directory is usable; otherwise (Node
// 20, a read-only or unknown home, NODE_DISABLE_COMPILE_CACHE=1) tend starts as before. Never throws.
export function enableCompileCache(env: NodeJS.ProcessEnv = process.env): void {
  const enable = (nodeModule as unknown as { enableCompileCache?: EnableCompileCache }).enableCompileCache;
  if (typeof enable !== 'function' || env['NODE_DISABLE_COMPILE_CACHE'] !== undefined) return;
  try {
    const dir = compileCacheDir(env);
    if (dir !== null && ensureOwnDirectory(dir)) enable(dir);
  } catch {
    // A cache is an optimisation: any failure leaves tend exactly as fast as without it.
  }
}
