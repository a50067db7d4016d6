#!/usr/bin/env node
// `npm run build:prebuilt`: compiles the addon and the launcher for linux-x64 and linux-arm64, each for glibc and
// musl, into prebuilds/linux-<arch>/ (the prebuildify layout), with Debian's compilers (scripts/install-toolchains.sh)
// and Node's own headers. Each glibc build is refused if it needs a symbol newer than GLIBC_2.28, and each build
// must link only its C library. `--only x64-glibc,...` narrows the set; every requested target must build.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const GLIBC_MAX = [2, 28];
const TRIPLE = { x64: 'x86_64', arm64: 'aarch64' };
const HOST = process.arch;

// The C flags binding.gyp uses, plus what a shipped binary wants: optimised, stripped, only the module entry exported.
const CFLAGS = ['-D_GNU_SOURCE', '-Wall', '-Wextra', '-Werror', '-std=gnu11', '-O2', '-s', '-Wl,-z,relro'];
// The launcher is fully RELRO. The addon binds lazily, as node-gyp's build does: with -z now the loader resolves every
// napi_* import at dlopen against node's own symbol table (hundreds of thousands of symbols), which touches 0.9 MiB
// of node's pages, a fifth of tend's whole start-up memory above a bare node (measured: 41.1 against 40.2 MiB).
const LAUNCHER_FLAGS = ['-Wl,-z,now'];

// One C compiler invocation prefix per target; cross compilers are Debian's, musl for a foreign arch via its specs.
function compilerFor(arch, libc) {
  const triple = TRIPLE[arch];
  if (libc === 'glibc') return arch === HOST ? ['gcc'] : [`${triple}-linux-gnu-gcc`];
  if (arch === HOST) return ['musl-gcc'];
  return [`${triple}-linux-gnu-gcc`, '-specs', `/usr/lib/${triple}-linux-musl/musl-gcc.specs`];
}

// node-gyp builds against <nodedir>/include/node; use the same headers (N-API plus libuv's uv.h).
function nodeHeaders() {
  const candidates = [
    process.env.TEND_NODE_HEADERS,
    process.env.npm_config_nodedir && join(process.env.npm_config_nodedir, 'include/node'),
    join(process.execPath, '../../include/node'),
    join(process.env.HOME ?? '/root', '.cache/node-gyp', process.versions.node, 'include/node'),
  ];
  const dir = candidates.find((d) => d && existsSync(join(d, 'node_api.h')) && existsSync(join(d, 'uv.h')));
  if (dir === undefined) fail('no Node headers with node_api.h and uv.h found; set TEND_NODE_HEADERS=<dir> (e.g. ~/.cache/node-gyp/<version>/include/node after `npx node-gyp install`)');
  return dir;
}

function fail(message) {
  process.stderr.write(`build:prebuilt: ${message}\n`);
  process.exit(1);
}

function compile(cc, args) {
  const result = spawnSync(cc[0], [...cc.slice(1), ...args], { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
  if (result.error !== undefined) fail(`${cc[0]}: ${result.error.message}; run scripts/install-toolchains.sh (as root)`);
  if (result.status !== 0) fail(`${cc[0]} exited with ${result.status} building ${args.at(-1)}`);
}

// The GLIBC_x.y versions a file requires (its version needs) and its NEEDED libraries, read with binutils' readelf,
// which reads any ELF machine; a static executable has neither.
function dynamicInfo(file) {
  const text = execFileSync('readelf', ['-V', '-d', '-W', file], { encoding: 'utf8' });
  const versions = [...new Set([...text.matchAll(/Name: GLIBC_(\d+)\.(\d+)/g)].map((m) => `${m[1]}.${m[2]}`))];
  const needed = [...text.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]);
  return { versions, needed };
}

function check(file, libc) {
  const { versions, needed } = dynamicInfo(file);
  const tooNew = versions.filter((v) => {
    const [major, minor] = v.split('.').map(Number);
    return major > GLIBC_MAX[0] || (major === GLIBC_MAX[0] && minor > GLIBC_MAX[1]);
  });
  if (tooNew.length > 0) fail(`${file} needs GLIBC_${tooNew.join(', GLIBC_')} (at most GLIBC_${GLIBC_MAX.join('.')} allowed)`);
  const allowed = libc === 'glibc' ? ['libc.so.6'] : ['libc.so'];
  const extra = needed.filter((n) => !allowed.includes(n));
  if (extra.length > 0) fail(`${file} links ${extra.join(', ')} (only ${allowed.join(', ')} allowed)`);
}

function build(arch, libc, headers) {
  const cc = compilerFor(arch, libc);
  const dir = join(root, 'prebuilds', `linux-${arch}`);
  mkdirSync(dir, { recursive: true });
  const sources = readdirSync(join(root, 'native')).filter((f) => f.endsWith('.c') && f !== 'launcher.c').sort().map((f) => `native/${f}`);
  const addon = join(dir, `tend_native.napi.${libc}.node`);
  const launcher = join(dir, `tend-launcher.${libc}`);
  // Build to temporary names so a failed build never leaves a half-written prebuilt behind.
  compile(cc, [...CFLAGS, `-I${headers}`, '-fPIC', '-fvisibility=hidden', '-shared', '-o', `${addon}.tmp`, ...sources]);
  // glibc: our own entry point (native/glibc-start.S) keeps __libc_start_main at its oldest version; musl: static.
  const launcherFlags = [...LAUNCHER_FLAGS, ...(libc === 'glibc' ? ['-nostartfiles', 'native/glibc-start.S'] : ['-static'])];
  compile(cc, [...CFLAGS, ...launcherFlags, '-o', `${launcher}.tmp`, 'native/launcher.c']);
  for (const file of [`${addon}.tmp`, `${launcher}.tmp`]) check(file, libc);
  renameSync(`${addon}.tmp`, addon);
  renameSync(`${launcher}.tmp`, launcher);
  process.stdout.write(`build:prebuilt: prebuilds/linux-${arch}/{tend_native.napi.${libc}.node,tend-launcher.${libc}}\n`);
}

const all = ['x64-glibc', 'x64-musl', 'arm64-glibc', 'arm64-musl'];
const only = process.argv.indexOf('--only');
const targets = only === -1 ? all : (process.argv[only + 1] ?? '').split(',');
const unknown = targets.filter((t) => !all.includes(t));
if (unknown.length > 0) fail(`unknown target ${unknown.join(', ')}; choose from ${all.join(', ')}`);
if (!(HOST in TRIPLE)) fail(`cannot cross-build from ${HOST}; build on linux-x64 or linux-arm64`);
const headers = nodeHeaders();
if (only === -1) rmSync(join(root, 'prebuilds'), { recursive: true, force: true });
for (const target of targets) {
  const [arch, libc] = target.split('-');
  build(arch, libc, headers);
}
