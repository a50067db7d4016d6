// What ships: `npm run build:prebuilt` output packed by `npm pack`. The tarball installs and runs with no compiler
// on PATH; every prebuilt file is checked (ELF headers, needed libraries, glibc versions) and loaded wherever this
// machine can (natively, through musl's loader, or under qemu-user for arm64); a corrupt prebuilt never crashes tend.
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { killAll, repoRoot, start } from '../helpers/tend.js';

const T = { timeout: 180_000 };
const ARCHES = { x64: { machine: 62, glibcLoader: '/lib64/ld-linux-x86-64.so.2', musl: 'x86_64' }, arm64: { machine: 183, glibcLoader: '/lib/ld-linux-aarch64.so.1', musl: 'aarch64' } } as const;
type Arch = keyof typeof ARCHES;
type Libc = 'glibc' | 'musl';
const TARGETS: { arch: Arch; libc: Libc }[] = [{ arch: 'x64', libc: 'glibc' }, { arch: 'x64', libc: 'musl' }, { arch: 'arm64', libc: 'glibc' }, { arch: 'arm64', libc: 'musl' }];
// The tools a tarball install must not need; none may be reachable on the stripped PATH.
const COMPILERS = ['cc', 'gcc', 'g++', 'c++', 'make', 'python3', 'python'];

function which(name: string, pathVar = process.env['PATH'] ?? ''): string | null {
  for (const dir of pathVar.split(':')) {
    const file = path.join(dir, name);
    if (dir !== '' && fs.existsSync(file)) return file;
  }
  return null;
}

// What keeps the prebuilt builds from running here, or null when they can.
function toolchainMissing(): string | null {
  const needs: [boolean, string][] = [
    [which('musl-gcc') !== null, 'musl-gcc'], [which('aarch64-linux-gnu-gcc') !== null, 'aarch64-linux-gnu-gcc'],
    [fs.existsSync('/usr/aarch64-linux-gnu/include/stdio.h'), 'libc6-dev-arm64-cross'],
    [fs.existsSync('/usr/lib/aarch64-linux-musl/musl-gcc.specs'), 'musl-dev:arm64'], [which('readelf') !== null, 'readelf'],
  ];
  const missing = needs.filter(([ok]) => !ok).map(([, name]) => name);
  return missing.length === 0 ? null : `toolchains missing (${missing.join(', ')}); run scripts/install-toolchains.sh as root`;
}

const skip = os.arch() !== 'x64' ? 'the prebuilds are cross-built from linux-x64' : toolchainMissing();
let tmp = '';
let pkg = ''; // the unpacked tarball
let tarball = '';
let app = ''; // a project that installed the tarball
let strippedPath = '';

// Runs a command to completion within a deadline (the helper kills it and its tree at the end of each test).
async function run(argv: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {}): Promise<{ code: number | null; out: string; err: string }> {
  const p = start(argv, { env: options.env ?? process.env, cwd: options.cwd ?? repoRoot });
  const exit = await p.exited(options.timeoutMs ?? 60_000);
  return { code: exit.code, out: p.stdout(), err: p.stderr() };
}

// A PATH of symlinks to just what npm, npx and bin/tend need, so no compiler, make or python is reachable.
function makeStrippedPath(dir: string): string {
  fs.mkdirSync(dir);
  fs.symlinkSync(process.execPath, path.join(dir, 'node'));
  for (const name of ['npm', 'npx', 'sh', 'env', 'readlink', 'uname', 'true']) {
    const file = which(name, '/usr/local/bin:/usr/bin:/bin');
    if (file !== null) fs.symlinkSync(file, path.join(dir, name));
  }
  return dir;
}

before(async () => {
  if (skip !== null) return;
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tend-pkg-'));
  const build = await run([process.execPath, 'scripts/build-prebuilt.js'], { timeoutMs: 150_000 });
  assert.equal(build.code, 0, `build:prebuilt failed:\n${build.err}`);
  // dist/ is already compiled by the test run; --ignore-scripts keeps pack from recompiling it under running tests.
  const pack = await run(['npm', 'pack', '--ignore-scripts', '--json', '--pack-destination', tmp], { timeoutMs: 60_000 });
  assert.equal(pack.code, 0, pack.err);
  const [info] = JSON.parse(pack.out) as { filename: string }[];
  tarball = path.join(tmp, info?.filename ?? '');
  fs.mkdirSync(path.join(tmp, 'unpacked'));
  execFileSync('tar', ['-xzf', tarball, '-C', path.join(tmp, 'unpacked')]);
  pkg = path.join(tmp, 'unpacked/package');
}, T);

afterEach(killAll);
after(() => { if (tmp !== '') fs.rmSync(tmp, { recursive: true, force: true }); });

interface ElfInfo { elfClass: number; machine: number; interp: string | null; needed: string[]; glibc: string[]; exports: string[] }

// The ELF header and program headers read directly, the dynamic section and versions through readelf (any machine).
function elfInfo(file: string): ElfInfo {
  const b = fs.readFileSync(file);
  assert.equal(b.subarray(0, 4).toString('latin1'), '\x7fELF', `${file} is an ELF file`);
  assert.equal(b[5], 1, 'little-endian');
  const phoff = Number(b.readBigUInt64LE(32));
  let interp: string | null = null;
  for (let i = 0; i < b.readUInt16LE(56); i++) {
    const ph = phoff + i * b.readUInt16LE(54);
    if (b.readUInt32LE(ph) !== 3) continue; // PT_INTERP
    const offset = Number(b.readBigUInt64LE(ph + 8));
    interp = b.subarray(offset, offset + Number(b.readBigUInt64LE(ph + 32)) - 1).toString('latin1');
  }
  const text = execFileSync('readelf', ['-V', '-d', '-W', '--dyn-syms', file], { encoding: 'utf8' });
  return {
    elfClass: b[4] ?? 0, machine: b.readUInt16LE(18), interp,
    needed: [...text.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1] ?? ''),
    glibc: [...new Set([...text.matchAll(/Name: GLIBC_([\d.]+)/g)].map((m) => m[1] ?? ''))],
    exports: [...text.matchAll(/\s(?:FUNC|OBJECT)\s+GLOBAL\s+DEFAULT\s+\d+\s+(\S+)/g)].map((m) => m[1] ?? ''),
  };
}

function atMost228(version: string): boolean {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  return major < 2 || (major === 2 && minor <= 28);
}

// Symbols a dynamic loader in trace mode could not resolve (glibc: "undefined symbol: X", musl: "X: symbol not found").
function unresolved(output: string): string[] {
  return [...output.matchAll(/undefined symbol: (\S+)|: (\S+): symbol not found/g)].map((m) => m[1] ?? m[2] ?? '');
}

// How to run an arm64 or musl program here, or why it cannot be.
function runner(arch: Arch, libc: Libc): { prefix: string[]; loader: string[]; env: (vars: Record<string, string>) => string[]; skip: string | null } {
  const muslLoader = `/lib/ld-musl-${ARCHES[arch].musl}.so.1`;
  if (arch === 'x64') {
    return { prefix: [], loader: libc === 'glibc' ? [ARCHES.x64.glibcLoader] : [muslLoader, '--list'], env: () => [],
      skip: libc === 'musl' && !fs.existsSync(muslLoader) ? `${muslLoader} missing (Debian's musl package)` : null };
  }
  const qemu = which('qemu-aarch64');
  const sysroot = '/usr/aarch64-linux-gnu';
  const skip = qemu === null ? 'qemu-aarch64 not installed (qemu-user; scripts/install-toolchains.sh)'
    : libc === 'glibc' && !fs.existsSync(`${sysroot}/lib/ld-linux-aarch64.so.1`) ? `${sysroot} missing (libc6-arm64-cross)`
      : libc === 'musl' && !fs.existsSync(muslLoader) ? `${muslLoader} missing (musl:arm64)` : null;
  const prefix = libc === 'glibc' ? ['qemu-aarch64', '-L', sysroot] : ['qemu-aarch64'];
  return { prefix, loader: libc === 'glibc' ? [`${sysroot}/lib/ld-linux-aarch64.so.1`] : [muslLoader, '--list'],
    env: (vars) => Object.entries(vars).flatMap(([k, v]) => ['-E', `${k}=${v}`]), skip };
}

describe('each prebuilt file', () => {
  for (const { arch, libc } of TARGETS) {
    const dir = (): string => path.join(pkg, 'prebuilds', `linux-${arch}`);

    test(`${arch} ${libc}: ELF headers, needed libraries and glibc versions`, T, (t) => {
      if (skip !== null) { t.skip(skip); return; }
      const addon = elfInfo(path.join(dir(), `tend_native.napi.${libc}.node`));
      const launcher = elfInfo(path.join(dir(), `tend-launcher.${libc}`));
      for (const elf of [addon, launcher]) {
        assert.equal(elf.elfClass, 2, '64-bit');
        assert.equal(elf.machine, ARCHES[arch].machine, 'machine');
        assert.deepEqual(elf.glibc.filter((v) => !atMost228(v)), [], 'no symbol newer than GLIBC_2.28');
      }
      assert.equal(addon.interp, null);
      assert.deepEqual(addon.needed, [libc === 'glibc' ? 'libc.so.6' : 'libc.so']);
      assert.ok(addon.exports.includes('napi_register_module_v1'), `exports: ${addon.exports.join(' ')}`);
      if (libc === 'glibc') {
        assert.equal(launcher.interp, ARCHES[arch].glibcLoader);
        assert.deepEqual(launcher.needed, ['libc.so.6']);
        assert.ok(addon.glibc.length > 0 && launcher.glibc.length > 0, 'glibc builds carry symbol versions');
      } else {
        assert.equal(launcher.interp, null, 'the musl launcher is static');
        assert.deepEqual(launcher.needed, []);
        assert.deepEqual(addon.glibc, []);
      }
    });

    test(`${arch} ${libc}: the launcher runs and records the rlimits`, T, async (t) => {
      if (skip !== null) { t.skip(skip); return; }
      const how = runner(arch, libc);
      if (how.skip !== null) { t.skip(how.skip); return; }
      // The launcher execs $TEND_NODE with the entry as its first argument: printenv prints what it exported.
      const launcher = path.join(dir(), `tend-launcher.${libc}`);
      const env = { TEND_NODE: which('printenv') ?? '/usr/bin/printenv' };
      const out = await run([...how.prefix, ...how.env(env), launcher, 'TEND_INHERITED_RLIMITS'], { env: { ...process.env, ...env } });
      assert.equal(out.code, 0, out.err);
      assert.match(out.out, /^(\d+=(\d+|inf):(\d+|inf),?)+\n$/);
    });

    test(`${arch} ${libc}: the addon loads (or, where Node cannot run it, links against its libc)`, T, async (t) => {
      if (skip !== null) { t.skip(skip); return; }
      const addon = path.join(dir(), `tend_native.napi.${libc}.node`);
      if (arch === os.arch() && libc === 'glibc' && fs.existsSync(ARCHES[arch].glibcLoader)) {
        // Those not every start uses are created by more() (native/addon.c).
        const script = `const b = require(${JSON.stringify(addon)}).more();
          let code = null; try { b.closeFd(-1); } catch (e) { code = e.code; }
          console.log(JSON.stringify({ pgrp: b.getpgrp(), nofile: typeof b.rlimitResources().nofile, code }));`;
        const out = await run([process.execPath, '-e', script]);
        assert.equal(out.code, 0, out.err);
        const seen = JSON.parse(out.out) as { pgrp: number; nofile: string; code: string };
        assert.deepEqual(seen, { pgrp: seen.pgrp, nofile: 'number', code: 'EBADF' });
        assert.ok(seen.pgrp > 0);
        return;
      }
      // No Node for this libc or arch here: the loader resolves everything but what Node itself provides.
      const how = runner(arch, libc);
      if (how.skip !== null) { t.skip(how.skip); return; }
      const trace = { LD_TRACE_LOADED_OBJECTS: '1', LD_WARN: '1', LD_BIND_NOW: '1' };
      const argv = [...how.prefix, ...(libc === 'glibc' ? how.env(trace) : []), ...how.loader, addon];
      const env = { ...process.env, ...(libc === 'glibc' && arch === 'x64' ? trace : {}) };
      const out = await run(argv, { env });
      const missing = unresolved(out.out + out.err);
      assert.ok(missing.includes('napi_create_error'), `the trace lists unresolved symbols:\n${out.out}${out.err}`);
      assert.deepEqual(missing.filter((s) => !/^(napi|node_api|uv)_/.test(s)), [], 'symbols neither the C library nor Node provides');
    });
  }
});

describe('the npm tarball', () => {
  test('ships the four prebuilds, the loader and the install script, and nothing of the dev tree', T, (t) => {
    if (skip !== null) { t.skip(skip); return; }
    for (const { arch, libc } of TARGETS) {
      for (const file of [`tend_native.napi.${libc}.node`, `tend-launcher.${libc}`]) {
        assert.ok(fs.existsSync(path.join(pkg, 'prebuilds', `linux-${arch}`, file)), `${arch}/${file}`);
      }
      const launcher = fs.statSync(path.join(pkg, 'prebuilds', `linux-${arch}`, `tend-launcher.${libc}`));
      assert.ok((launcher.mode & 0o111) !== 0, 'the launcher is executable');
    }
    for (const file of ['dist/src/os/native-loader.js', 'scripts/install.js', 'bin/tend', 'binding.gyp', 'native/errors.c']) {
      assert.ok(fs.existsSync(path.join(pkg, file)), file);
    }
    for (const file of ['src', 'test', 'dist/test', 'bench', 'scripts/build-prebuilt.js', 'dist/src/os/native.js.map']) {
      assert.ok(!fs.existsSync(path.join(pkg, file)), `${file} is not shipped`);
    }
    assert.ok(fs.statSync(tarball).size < 512 * 1024, `tarball is ${fs.statSync(tarball).size} bytes`);
  });

  test('installs with no compiler on PATH, then `tend run` works and passes on the exit status', T, async (t) => {
    if (skip !== null) { t.skip(skip); return; }
    strippedPath = makeStrippedPath(path.join(tmp, 'bin'));
    for (const tool of COMPILERS) assert.equal(which(tool, strippedPath), null, `${tool} is not reachable`);
    const dir = path.join(tmp, 'app');
    fs.mkdirSync(dir);
    // allowScripts lets npm 11 run tend's install script (older npm runs it anyway).
    fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'app', private: true, allowScripts: { tend: true } }));
    const env = { HOME: os.homedir(), PATH: strippedPath, npm_config_update_notifier: 'false' };
    // Dependencies come from npm's cache when it has them.
    const install = await run(['npm', 'install', '--prefer-offline', '--no-audit', '--no-fund', '--foreground-scripts', tarball],
      { env, cwd: dir, timeoutMs: 120_000 });
    assert.equal(install.code, 0, `${install.out}${install.err}`);
    assert.match(install.out, /tend: using the prebuilt native parts in prebuilds\/linux-x64 \(no compiler needed\)/);
    assert.ok(!fs.existsSync(path.join(dir, 'node_modules/tend/build')), 'nothing was compiled');
    // The launcher that fits is the command itself: no shell runs before Node.
    const bin = fs.readFileSync(path.join(dir, 'node_modules/tend/bin/tend'));
    assert.deepEqual([...bin.subarray(0, 4)], [0x7f, 0x45, 0x4c, 0x46], 'bin/tend is the prebuilt launcher (an ELF file)');
    // The static one, on glibc too: it starts sooner than the dynamically linked glibc build.
    assert.ok(bin.equals(fs.readFileSync(path.join(dir, 'node_modules/tend/prebuilds/linux-x64/tend-launcher.musl'))));
    app = dir;
    const ok = await run(['npx', '--offline', 'tend', 'run', '--', 'true'], { env, cwd: app });
    assert.equal(ok.code, 0, ok.err);
    const three = await run(['npx', '--offline', 'tend', 'run', '--', 'sh', '-c', 'exit 3'], { env, cwd: app });
    assert.equal(three.code, 3, three.err);
  });

  test('a corrupt local build falls back to the prebuilt', T, async (t) => {
    if (skip !== null) { t.skip(skip); return; }
    if (app === '') { t.skip('the tarball did not install (see the test before)'); return; }
    const release = path.join(app, 'node_modules/tend/build/Release');
    fs.mkdirSync(release, { recursive: true });
    fs.writeFileSync(path.join(release, 'tend_native.node'), 'not an ELF file\n');
    const env = { HOME: os.homedir(), PATH: strippedPath };
    const out = await run(['npx', '--offline', 'tend', 'run', '--', 'sh', '-c', 'exit 5'], { env, cwd: app });
    assert.equal(out.code, 5, out.err);
    fs.rmSync(path.join(app, 'node_modules/tend/build'), { recursive: true });
  });

  test('corrupt or missing prebuilts: one line saying what to do, never a stack trace', T, async (t) => {
    if (skip !== null) { t.skip(skip); return; }
    if (app === '') { t.skip('the tarball did not install (see the test before)'); return; }
    const tend = path.join(app, 'node_modules/tend');
    const prebuilds = path.join(tend, 'prebuilds/linux-x64');
    for (const libc of ['glibc', 'musl']) fs.writeFileSync(path.join(prebuilds, `tend_native.napi.${libc}.node`), 'corrupt\n');
    const env = { HOME: os.homedir(), PATH: strippedPath };
    const noAddon = await run(['npx', '--offline', 'tend', 'run', '--', 'true'], { env, cwd: app });
    assert.equal(noAddon.code, 70);
    assert.match(noAddon.err, /^tend: native build missing: no loadable addon for linux-x64 \(glibc\) \(prebuilds\/linux-x64\/tend_native\.napi\.glibc\.node: [^\n]*; prebuilds\/linux-x64\/tend_native\.napi\.musl\.node: [^\n]*\); reinstall tend \(npm install\)[^\n]*\n$/);

    // The install script finds no prebuilt that fits and no compiler: one line with what to install.
    const install = await run([process.execPath, 'scripts/install.js'], { env, cwd: tend });
    assert.equal(install.code, 1);
    assert.match(install.err, /^tend: native build missing: no prebuilt fits linux-x64 here and compiling failed; install a C compiler, make and python3 [^\n]*\n$/);

    // The shipped script, put back in place of the launcher, says what to do when no launcher is left either.
    fs.copyFileSync(path.join(pkg, 'bin', 'tend'), path.join(tend, 'bin', 'tend'));
    for (const libc of ['glibc', 'musl']) fs.rmSync(path.join(prebuilds, `tend-launcher.${libc}`));
    const noLauncher = await run(['npx', '--offline', 'tend', 'run', '--', 'true'], { env, cwd: app });
    assert.equal(noLauncher.code, 70);
    assert.match(noLauncher.err, /^tend: native build missing: no build\/Release\/tend-launcher and no prebuilt for linux-x64 \(glibc\); [^\n]*\n$/);
  });
});
