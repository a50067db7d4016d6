// Finds tend's native parts: a local node-gyp build (build/Release) first, else the prebuilt for this machine's
// architecture and C library that the package ships (prebuilds/linux-<arch>/, built by scripts/build-prebuilt.js).
// bin/tend applies the same rule to the launcher in sh, and scripts/install.js asks this module whether a prebuilt
// fits before it falls back to compiling. The start-up loader (cli/start.ts) loads the addon through it too,
// in the one file Node compiles from source on every start: so no node:path here, and TendError only in loadAddon.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { TendError } from '../errors.js';

/** The C library family a prebuilt is linked against. */
export type Libc = 'glibc' | 'musl';

// The package root (this file is dist/src/os/native-loader.js).
const PACKAGE_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

// glibc's dynamic loader for each architecture: a machine that has it runs glibc programs. Its mere presence is
// the test (no fork, no report), and a wrong guess costs nothing: the other libc's prebuilt is tried next.
const GLIBC_LOADER: Readonly<Partial<Record<string, string>>> = {
  x64: '/lib64/ld-linux-x86-64.so.2',
  arm64: '/lib/ld-linux-aarch64.so.1',
};

// Absolute path parts joined with single slashes (no regular expression: V8 compiles one on its first use, and this
// runs in the loader on every start).
function join(...parts: string[]): string {
  let path = parts.join('/');
  while (path.includes('//')) path = path.replaceAll('//', '/');
  return path;
}

/** Which C library this machine's programs use, so the matching prebuilt is tried first. */
export function detectLibc(arch: string = process.arch): Libc {
  const loader = GLIBC_LOADER[arch];
  return loader !== undefined && existsSync(loader) ? 'glibc' : 'musl';
}

/** The prebuilt addon for an arch and libc, in the prebuildify layout. */
export function prebuiltAddon(root: string, arch: string, libc: Libc): string {
  return join(root, 'prebuilds', `linux-${arch}`, `tend_native.napi.${libc}.node`);
}

/** The prebuilt launcher for an arch and libc (the musl one is static). */
export function prebuiltLauncher(root: string, arch: string, libc: Libc): string {
  return join(root, 'prebuilds', `linux-${arch}`, `tend-launcher.${libc}`);
}

/** The prebuilt launchers to try, in order: the static (musl) one on every Linux, since a static program starts
 * ~0.4 ms sooner than a dynamically linked one (no dynamic loader, no relocations) and the launcher asks the kernel
 * itself for what it records; then, on glibc, glibc's. */
export function launcherCandidates(root: string, arch: string, libc: Libc): string[] {
  return libc === 'glibc' ? [prebuiltLauncher(root, arch, 'musl'), prebuiltLauncher(root, arch, 'glibc')] : [prebuiltLauncher(root, arch, 'musl')];
}

/** The addon files to try, in order: the local build, this machine's prebuilt, the other libc's prebuilt. */
export function addonCandidates(root: string = PACKAGE_ROOT, arch: string = process.arch, libc: Libc = detectLibc(arch)): string[] {
  const other: Libc = libc === 'glibc' ? 'musl' : 'glibc';
  return [join(root, 'build/Release/tend_native.node'), prebuiltAddon(root, arch, libc), prebuiltAddon(root, arch, other)];
}

// The fix every "native build missing" message ends with (bin/tend's says the same).
const NATIVE_FIX = 'reinstall tend (npm install), which compiles it when no prebuilt fits (that needs a C compiler, make and python3)';

// Loaded addons by path, shared by every copy of this module in the process (the shipped build has two bundles).
const LOADED = Symbol.for('tend.addons');
const holder = process as unknown as Record<symbol, Map<string, unknown> | undefined>;

// process.dlopen, as require() loads a .node file, without building a require function (createRequire costs
// start-up memory) and at most once per file, as require's cache would: the addon's init runs once per process.
function dlopenOnce(file: string): unknown {
  const loaded = (holder[LOADED] ??= new Map());
  if (loaded.has(file)) return loaded.get(file);
  const module = { exports: {} as unknown };
  process.dlopen(module, file);
  loaded.set(file, module.exports);
  return module.exports;
}

// What the default candidates gave, once a copy of this module in the process has loaded it: the second bundle's
// first use of the addon then neither works out the candidates again nor asks the file system which exist.
const DEFAULT_PICK = Symbol.for('tend.addonDefault');
const picked = process as unknown as Record<symbol, { exports: unknown; path: string } | undefined>;

/** The first candidate that loads (the default ones: addonCandidates()), or what went wrong with each existing one
 * (a file that is missing, corrupt or for another machine is skipped). */
export function loadFirst(given?: readonly string[], root: string = PACKAGE_ROOT): { exports: unknown; path: string } | { failures: string[] } {
  const pick = given === undefined ? picked[DEFAULT_PICK] ?? launcherPick() : undefined;
  if (pick !== undefined) return pick;
  const candidates = given ?? addonCandidates();
  // Already loaded in this process (the start-up loader did, in the other bundle): no file system calls at all.
  const loaded = holder[LOADED];
  const early = loaded === undefined ? undefined : candidates.find((file) => loaded.has(file));
  if (early !== undefined) return { exports: loaded?.get(early), path: early };
  const failures: string[] = [];
  for (const file of candidates) {
    if (!existsSync(file)) continue;
    try {
      const found = { exports: dlopenOnce(file), path: file };
      if (given === undefined) picked[DEFAULT_PICK] = found;
      return found;
    } catch (error) {
      const detail = error instanceof Error ? error.message : String(error);
      failures.push(`${file.startsWith(root) ? file.slice(root.length).replace(/^\//, '') : file}: ${detail.replace(/\s+/g, ' ').trim()}`);
    }
  }
  return { failures };
}

/** The addon the launcher found by the same rule (TEND_ADDON, native/launcher.c), loaded with no search: all the
 * start-up loader (cli/start.ts) loads. Undefined when there is none or it does not load (the search says why). */
export function launcherPick(): { exports: unknown; path: string } | undefined {
  const file = process.env['TEND_ADDON'];
  if (file === undefined || !file.startsWith('/')) return undefined;
  try {
    const found = { exports: dlopenOnce(file), path: file };
    picked[DEFAULT_PICK] = found;
    return found;
  } catch {
    return undefined;
  }
}

/** Loads the first candidate that loads, or throws TEND_ERR_NATIVE_MISSING saying what was tried and the fix. */
export function loadAddon(candidates?: readonly string[], root: string = PACKAGE_ROOT): { exports: unknown; path: string } {
  const loaded = loadFirst(candidates, root);
  if ('exports' in loaded) return loaded;
  const { failures } = loaded;
  const tried = failures.length === 0 ? '' : ` (${failures.join('; ')})`;
  throw new TendError('TEND_ERR_NATIVE_MISSING',
    `native build missing: no loadable addon for linux-${process.arch} (${detectLibc()})${tried}; ${NATIVE_FIX}`);
}
