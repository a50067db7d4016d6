// Compiled code kept on disk, so later starts of tend skip compiling its JavaScript: V8's code cache for the bundle
// that holds the CLI (every Node version; it includes the functions compiled while tend ran, which is most of the
// saving), and Node's own compile cache (22.8+) for whatever loads after it through require or import (zod and
// yaml for a config file). Both live in a directory private to the user and are optional: a cache that cannot be
// read, written or trusted only makes tend start as it would without one.
// This module is most of dist/bundle/entry.cjs, which V8 compiles from source on every start: it uses no node:path
// (its paths are absolute, and '/'-joined), and as few Node functions as it can, each one costing its first compile.
// It reads the bundle and its cache through the addon (native/files.c), which cli/start.ts loads first for the signals.
import { closeSync, fstatSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { Script } from 'node:vm';

/** The addon's whole-file reads (native/files.c). */
export interface FileReads {
  /** The file as a Latin-1 string, and the identity its cache entry is keyed by. */
  readLatin1File(path: string): { text: string; ino: number; size: number; mtimeMs: number };
  /** The file if it is a regular, non-empty file of this user's that nobody else can write, else null. */
  readOwnFile(path: string): Buffer | null;
}

// The same reads through node:fs, where the addon does not load (the first spawn then says so).
const FS_READS: FileReads = {
  readLatin1File(path) {
    const { ino, size, mtimeMs } = statSync(path);
    return { text: readFileSync(path, 'latin1'), ino, size, mtimeMs };
  },
  readOwnFile(path) {
    // The checks are on the opened file, as native/files.c makes them: a file swapped in after a check is never read.
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch {
      return null;
    }
    try {
      const stat = fstatSync(fd);
      if (!stat.isFile() || stat.uid !== process.geteuid?.() || (stat.mode & 0o022) !== 0 || stat.size === 0) return null;
      return readFileSync(fd);
    } finally {
      closeSync(fd);
    }
  },
};

type EnableCompileCache = (directory: string) => { status: number; message?: string; directory?: string };

// The cache directory: $XDG_CACHE_HOME/tend or ~/.cache/tend, created private to the user running tend; null when
// neither variable says where that is.
function compileCacheDir(env: NodeJS.ProcessEnv): string | null {
  const xdg = env['XDG_CACHE_HOME'];
  if (xdg !== undefined && xdg.startsWith('/')) return `${xdg}/tend`;
  const home = env['HOME'];
  if (home !== undefined && home.startsWith('/')) return `${home}/.cache/tend`;
  return null;
}

// The directory part of an absolute path ('/' for a file at the root).
function dirname(path: string): string {
  return path.slice(0, Math.max(1, path.lastIndexOf('/')));
}

// The file name part of a path.
function basename(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

// Creates `dir` (and its parent, at most) one level at a time: Node's own recursive mkdir never returns where a
// parent can never be created (under /proc), so it is not trusted with a path that comes from the environment.
// Most starts find it there already: a stat that does not throw comes first, as an exception (EEXIST from mkdir)
// costs start-up memory.
function ensureOwnDirectory(dir: string): boolean {
  try {
    let stat = statSync(dir, { throwIfNoEntry: false });
    if (stat === undefined) {
      for (const path of [dirname(dir), dir]) {
        try {
          mkdirSync(path, { mode: 0o700 });
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'EEXIST') return false;
        }
      }
      stat = statSync(dir);
    }
    return stat.isDirectory() && stat.uid === process.getuid?.() && (stat.mode & 0o022) === 0;
  } catch {
    return false;
  }
}

let usable: string | null | undefined;

// The cache directory if caching is on and the directory is ours (decided once per process), else null.
function cacheDir(env: NodeJS.ProcessEnv): string | null {
  if (usable === undefined) {
    const disabled = (env['NODE_DISABLE_COMPILE_CACHE'] ?? '') !== '';
    const dir = disabled ? null : compileCacheDir(env);
    usable = dir !== null && ensureOwnDirectory(dir) ? dir : null;
  }
  return usable;
}

// Turn on Node's compile cache where the Node version has it (22.8+) and the cache directory is usable; never throws.
// Called only before something loads through require or import (a config file's zod and yaml): node:module itself
// costs start-up time (~0.8 ms on Node 22), so a plain `tend run` never loads it.
export function enableCompileCache(env: NodeJS.ProcessEnv = process.env): void {
  // process.getBuiltinModule is Node 20.16+/22.3+, and enableCompileCache 22.8+: without either there is nothing to do.
  const getBuiltin = (process as { getBuiltinModule?: (id: string) => unknown }).getBuiltinModule;
  const nodeModule = getBuiltin?.('node:module') as { enableCompileCache?: EnableCompileCache } | undefined;
  const enable = nodeModule?.enableCompileCache;
  if (typeof enable !== 'function') return;
  try {
    const dir = cacheDir(env);
    if (dir !== null) enable(dir);
  } catch {
    // A cache is an optimisation: any failure leaves tend exactly as fast as without it.
  }
}

// A short name for the directory `file` is in (FNV-1a of its path), so that two installations of tend used by the
// same user keep one entry each instead of replacing each other's on every run.
function installation(file: string): string {
  // By UTF-16 unit with an index: a string iterator allocates a string per character, in code that runs once per start.
  const dir = dirname(file);
  let hash = 0x811c9dc5;
  for (let i = 0; i < dir.length; i++) hash = Math.imul(hash ^ dir.charCodeAt(i), 0x01000193) >>> 0;
  return hash.toString(16).padStart(8, '0');
}

// Set by withholdCodeCache. On `process`: the loader's bundle and the CLI's each have their own copy of this module.
const WITHHELD = Symbol.for('tend.codeCacheWithheld');
const holder = process as unknown as { [WITHHELD]?: boolean };

/** Keep this run from writing a code cache entry: it stopped on an error (a bad flag, a config error) before most of
 * tend ran, so its entry would hold only what ran, and every later start would compile the rest from source, as the
 * entry is never rewritten while V8 accepts it. The next run that gets through writes it. */
export function withholdCodeCache(): void {
  holder[WITHHELD] = true;
}

type ModuleFunction = (exports: unknown, require: NodeJS.Require, module: { exports: unknown }, filename: string, dirname: string) => void;

// Load the CommonJS file `file` (ASCII, as scripts/bundle.js checks) as require() would, compiling it with V8's
// cached code for it when there is a valid entry, and writing one at exit when there was not (so it includes what
// was compiled while tend ran). `variant` names what this run does (the command word): each keeps its own entry, so
// that the first command run after an install (`tend --version`, say) does not leave every later `tend run` an entry
// without the supervisor's code, compiling it from source on every start. An entry is read only if it is the user's
// own file and nobody else can write it: it is code tend will run. The file is written already wrapped in Node's
// module wrapper (scripts/bundle.js), so its text is compiled as it is: wrapping it here would hold a second copy of
// the whole bundle in memory. `require` is the caller's own, which resolves as the file's would when both are in one
// directory (the bundles are): making one costs start-up time. `addon` does the reads when it loaded, else node:fs
// does.
export function requireWithCodeCache(file: string, require: NodeJS.Require, addon: FileReads | null, variant: string, env: NodeJS.ProcessEnv = process.env): unknown {
  let reads = addon ?? FS_READS;
  let source;
  try {
    source = reads.readLatin1File(file);
  } catch {
    reads = FS_READS; // an addon that cannot read (a kernel without newfstatat…): as require() would read it
    source = reads.readLatin1File(file);
  }
  const dir = (env['NODE_DISABLE_COMPILE_CACHE'] ?? '') !== '' ? null : compileCacheDir(env);
  // V8 checks its version, its flags and the source's length, not its content: the key adds the file's identity.
  const prefix = `${basename(file)}-${installation(file)}-`;
  const build = `-${process.version}-${process.arch}-${source.ino}-${source.size}-${Math.trunc(source.mtimeMs)}.v8`;
  const entry = dir === null ? null : `${dir}/${prefix}${variant}${build}`;
  let cachedData: Buffer | null = null;
  try {
    if (entry !== null) cachedData = reads.readOwnFile(entry);
  } catch {
    cachedData = null; // unreadable: compile from source
  }
  const script = new Script(source.text, { filename: file, ...(cachedData === null ? {} : { cachedData }) });
  if (entry !== null && (cachedData === null || script.cachedDataRejected === true)) {
    const target = entry;
    process.once('exit', () => { if (holder[WITHHELD] !== true && cacheDir(env) !== null) saveCodeCache(script, target, prefix, build); });
  }
  const module = { exports: {} as unknown };
  (script.runInThisContext() as ModuleFunction)(module.exports, require, module, file, dirname(file));
  return module.exports;
}

// Write the code cache entry atomically and drop the entries (`prefix`…, any variant) of earlier builds of the same
// installed file, whose names do not end in `build`; never throws.
function saveCodeCache(script: Script, entry: string, prefix: string, build: string): void {
  try {
    const tmp = `${entry}.${process.pid}.tmp`;
    writeFileSync(tmp, script.createCachedData(), { mode: 0o600 });
    renameSync(tmp, entry);
    for (const name of readdirSync(dirname(entry))) {
      if (name.startsWith(prefix) && name.endsWith('.v8') && !name.endsWith(build)) unlinkSync(`${dirname(entry)}/${name}`);
    }
  } catch {
    // Not cached this time; the next start tries again.
  }
}
