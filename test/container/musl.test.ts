// The Alpine-style (musl) half of the package, in a container with no glibc at all. No musl build of Node exists in
// Debian or on the npm registry, so Node itself cannot run there; this checks what can be checked without it: bin/tend
// picks the musl launcher, the launcher runs and execs "node" with its record of the inherited state, and the musl
// addon links against musl alone (every symbol it lacks is N-API or libuv, which Node provides).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { baseImage, cleanup, exec, label, podman, skipReason, sweepStale } from './podman.js';

const T = { timeout: 180_000 };
const MUSL_ARCH: Record<string, string> = { x64: 'x86_64', arm64: 'aarch64' };
const arch = os.arch();
let skip: string | null = null;
let image = '';
let tmp = '';

before(async () => {
  skip = MUSL_ARCH[arch] === undefined ? `no musl prebuilt for ${arch}` : await skipReason();
  if (skip !== null) return;
  if (!fs.existsSync(`/lib/ld-musl-${MUSL_ARCH[arch]}.so.1`)) { skip = 'musl\'s loader missing: run scripts/container-setup.sh as root (musl)'; return; }
  await sweepStale();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tend-musl-'));
  const prebuilt = await exec(process.execPath, ['scripts/build-prebuilt.js', '--only', `${arch}-musl`], { timeoutMs: 120_000 });
  assert.equal(prebuilt.code, 0, `build:prebuilt failed:\n${prebuilt.err}`);
  const pack = await exec('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', tmp], { timeoutMs: 60_000 });
  assert.equal(pack.code, 0, pack.err);
  const [info] = JSON.parse(pack.out) as { filename: string }[];
  execFileSync('tar', ['-xzf', path.join(tmp, info?.filename ?? ''), '-C', tmp]);
  // a stand-in for node that shows what the launcher handed it
  fs.writeFileSync(path.join(tmp, 'fake-node'), '#!/bin/sh\necho "node $*"\nenv | grep ^TEND_ | sort\n', { mode: 0o755 });
  image = await baseImage('musl');
}, T);

after(async () => {
  if (skip === null) await cleanup();
  if (tmp !== '') fs.rmSync(tmp, { recursive: true, force: true });
}, T);

// Runs a command in the musl root with the unpacked package at /w/package (read-only).
const inMusl = (args: string[], env: string[] = []): ReturnType<typeof podman> =>
  podman(['run', '--rm', '--label', label, '-v', `${tmp}:/w:ro`, ...env.flatMap((e) => ['-e', e]), image, ...args]);

test('the musl root has no glibc: the glibc launcher cannot even start there', T, async (t) => {
  if (skip !== null) { t.skip(skip); return; }
  const launcher = `package/prebuilds/linux-${arch}/tend-launcher.glibc`;
  assert.ok(fs.existsSync(path.join(tmp, launcher)), `${launcher} is not in the tarball`);
  // the file is there; the kernel's ENOENT is for its interpreter, glibc's dynamic loader
  const r = await inMusl([`/w/${launcher}`]);
  assert.notEqual(r.code, 0);
  assert.match(r.err, /no such file or directory/, r.err);
  const glibc = await inMusl(['find', '/', '-xdev', '(', '-name', 'ld-linux*', '-o', '-name', 'libc.so.6', ')']);
  assert.deepEqual([glibc.code, glibc.out], [0, ''], `glibc in the musl root: ${glibc.out}${glibc.err}`);
});

test('bin/tend picks the musl launcher, which records the inherited state and execs node', T, async (t) => {
  if (skip !== null) { t.skip(skip); return; }
  const r = await inMusl(['sh', '-x', '/w/package/bin/tend', 'run', '--', 'true'], ['TEND_NODE=/w/fake-node']);
  assert.equal(r.code, 0, r.err);
  assert.match(r.err, new RegExp(`exec \\S+/prebuilds/linux-${arch}/tend-launcher\\.musl \\S+/dist/bundle/entry\\.cjs run -- true`), r.err);
  assert.match(r.out, /^node --preserve-symlinks-main \S+\/dist\/bundle\/entry\.cjs run -- true$/m, r.out);
  assert.match(r.out, /^TEND_INHERITED_RLIMITS=(\d+=\w+:\w+,?)+$/m, r.out);
  assert.match(r.out, /^TEND_INHERITED_SIGNALS=ignore=[\d,]*;block=[\d,]*$/m, r.out);
});

test('the musl addon links against musl alone: every missing symbol is one Node provides (napi_*, uv_*)', T, async (t) => {
  if (skip !== null) { t.skip(skip); return; }
  const addon = `/w/package/prebuilds/linux-${arch}/tend_native.napi.musl.node`;
  const r = await inMusl([`/lib/ld-musl-${MUSL_ARCH[arch]}.so.1`, '--list', addon]);
  assert.match(r.out, /libc\.so => \/lib\/ld-musl-/, r.out);
  assert.doesNotMatch(r.out + r.err, /Error loading shared library|not found \(/, r.out + r.err);
  const missing = [...r.err.matchAll(/Error relocating [^:]+: (\w+): symbol not found/g)].map((m) => m[1] ?? '');
  const unexplained = r.err.split('\n').filter((line) => line !== '' && !/Error relocating [^:]+: (napi|uv)_\w+: symbol not found/.test(line));
  assert.ok(missing.length > 0, `musl's loader resolved every symbol without Node, which cannot be: ${r.err}`);
  assert.deepEqual(unexplained, []);
});
