// Contract tests for tend-launcher and bin/tend: the limits tend was started with survive Node's start-up, the exec
// time is on Node's monotonic clock, and bin/tend finds the launcher through symlinks.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as native from '../../src/os/native.js';
import type { ReapedChild, SpawnRequest } from '../../src/os/native.js';
import { waitExit } from './child-reaper.js';
import { addonCandidates, detectLibc } from '../../src/os/native-loader.js';

const T = { timeout: 10_000 };
const PATH = process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin';
const root = fileURLToPath(new URL('../../../', import.meta.url));
const launcher = path.join(root, 'build/Release/tend-launcher');
const binTend = path.join(root, 'bin/tend');

let tmp = '';
let devnull = -1;
let seq = 0;

before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tend-launcher-'));
  devnull = fs.openSync('/dev/null', 'r+');
});

after(() => {
  fs.closeSync(devnull);
  fs.rmSync(tmp, { recursive: true, force: true });
});


async function run(over: Partial<SpawnRequest> & Pick<SpawnRequest, 'file' | 'args'>): Promise<ReapedChild & { stdout: string; stderr: string }> {
  const outPath = path.join(tmp, `out-${++seq}`);
  const errPath = path.join(tmp, `err-${seq}`);
  const out = fs.openSync(outPath, 'w');
  const err = fs.openSync(errPath, 'w');
  let pid: number;
  try {
    pid = native.spawn({
      env: [`PATH=${PATH}`, `TEND_NODE=${process.execPath}`], searchPath: PATH, cwd: null, newProcessGroup: false,
      foregroundTty: -1, rlimits: [], uid: -1, gid: -1, groups: null, fds: [devnull, out, err], ...over,
    });
  } finally {
    fs.closeSync(out);
    fs.closeSync(err);
  }
  const exit = await waitExit(pid);
  return { ...exit, stdout: fs.readFileSync(outPath, 'utf8'), stderr: fs.readFileSync(errPath, 'utf8') };
}

describe('tend-launcher', () => {
  test('exports the rlimits it was started with, even though Node then raises its own nofile', T, async () => {
    const r = native.rlimitResources();
    const script = `
      const limits = require('fs').readFileSync('/proc/self/limits', 'utf8');
      console.log(JSON.stringify({
        inherited: process.env.TEND_INHERITED_RLIMITS,
        execNs: process.env.TEND_EXEC_MONOTONIC_NS,
        nowNs: String(process.hrtime.bigint()),
        nofile: /^Max open files\\s+(\\S+)\\s+(\\S+)/m.exec(limits).slice(1),
        argv: process.argv.slice(1),
      }));
    `;
    const rlimits = [
      { resource: r.nofile!, soft: 1111, hard: 4096 },
      { resource: r.core!, soft: 0, hard: Infinity },
      { resource: r.fsize!, soft: Infinity, hard: Infinity },
    ];
    const t0 = process.hrtime.bigint();
    const out = await run({ file: launcher, args: ['tend-launcher', '-e', script, 'a', 'b c'], rlimits });
    assert.equal(out.code, 0, out.stderr);
    const got = JSON.parse(out.stdout) as { inherited: string; execNs: string; nowNs: string; nofile: string[]; argv: string[] };

    const entries = got.inherited.split(',');
    assert.equal(entries.length, 16);
    entries.forEach((e, i) => { assert.match(e, new RegExp(`^${i}=(\\d+|inf):(\\d+|inf)$`)); });
    assert.ok(entries.includes('7=1111:4096'), got.inherited);
    assert.ok(entries.includes('4=0:inf'), got.inherited);
    assert.ok(entries.includes('1=inf:inf'), got.inherited);
    assert.deepEqual(got.nofile, ['4096', '4096'], 'Node raised its own soft limit');

    // Same clock as process.hrtime.bigint(): after our own t0, before the script ran.
    const execNs = BigInt(got.execNs);
    assert.ok(execNs > t0 && execNs < BigInt(got.nowNs), `${t0} < ${execNs} < ${got.nowNs}`);
    assert.deepEqual(got.argv, ['a', 'b c']);
  });

  test('execs `node` from PATH when TEND_NODE is not set', T, async () => {
    const out = await run({
      file: launcher, args: ['tend-launcher', '-p', 'process.execPath'],
      env: [`PATH=${path.dirname(process.execPath)}:${PATH}`],
    });
    assert.equal(out.code, 0, out.stderr);
    assert.equal(fs.realpathSync(out.stdout.trim()), fs.realpathSync(process.execPath));
  });

  test('exits 127 with a message when node cannot be executed', T, async () => {
    const out = await run({ file: launcher, args: ['tend-launcher', 'x.js'], env: ['TEND_NODE=/nonexistent/node'] });
    assert.equal(out.code, 127);
    assert.equal(out.stderr, 'tend: unable to exec node: No such file or directory\n');
  });

  test("gives Node a tend entry by its real path with --preserve-symlinks-main; any other script as it is, with no option", T, async () => {
    const fakeNode = path.join(tmp, 'fake-node-args');
    fs.writeFileSync(fakeNode, '#!/bin/sh\nprintf "%s\\n" "$@"\n', { mode: 0o755 });
    const pkg = installedPackage('through-link/real');
    fs.symlinkSync(pkg, path.join(tmp, 'through-link/link'));
    const viaLink = path.join(tmp, 'through-link/link/dist/bundle/entry.cjs');
    const args = async (script: string): Promise<string[]> => {
      const out = await run({ file: launcher, args: ['tend-launcher', script, 'x'], env: [`PATH=${PATH}`, `TEND_NODE=${fakeNode}`] });
      assert.equal(out.code, 0, out.stderr);
      return out.stdout.split('\n').slice(0, -1);
    };
    assert.deepEqual(await args(viaLink), ['--preserve-symlinks-main', path.join(fs.realpathSync(pkg), 'dist/bundle/entry.cjs'), 'x']);
    assert.deepEqual(await args('other.js'), ['other.js', 'x'], 'not tend\'s entry');
    assert.deepEqual(await args(path.join(tmp, 'missing/dist/bundle/entry.cjs')), [path.join(tmp, 'missing/dist/bundle/entry.cjs'), 'x'], 'no real path: Node says it is missing');
  });

  test('prints usage and exits 64 without an entry script', T, async () => {
    const out = await run({ file: launcher, args: ['tend-launcher'] });
    assert.equal(out.code, 64);
    assert.match(out.stderr, /^usage: tend-launcher <entry\.js>/);
  });
});

// A package directory under tmp whose bin/tend is the launcher, with an empty CLI beside it.
function installedPackage(dir: string): string {
  const pkg = path.join(tmp, dir);
  fs.mkdirSync(path.join(pkg, 'bin'), { recursive: true });
  fs.mkdirSync(path.join(pkg, 'dist/bundle'), { recursive: true });
  fs.writeFileSync(path.join(pkg, 'dist/bundle/entry.cjs'), '');
  fs.copyFileSync(launcher, path.join(pkg, 'bin/tend'));
  fs.chmodSync(path.join(pkg, 'bin/tend'), 0o755);
  return pkg;
}

describe('the launcher as an installed package\'s bin/tend', () => {
  test('runs node <package>/dist/bundle/entry.cjs with the arguments, found from its own path through a symlink', T, async () => {
    const pkg = installedPackage('installed/node_modules/tend');
    const dotBin = path.join(tmp, 'installed/node_modules/.bin');
    fs.mkdirSync(dotBin, { recursive: true });
    fs.symlinkSync('../tend/bin/tend', path.join(dotBin, 'tend'));
    const fakeNode = path.join(tmp, 'fake-node-installed');
    fs.writeFileSync(fakeNode, '#!/bin/sh\nprintf "%s\\n" "$@"\necho "rlimits=${TEND_INHERITED_RLIMITS:+set}"\n', { mode: 0o755 });
    const out = await run({ file: path.join(dotBin, 'tend'), args: ['tend', 'run', 'a b'], env: [`PATH=${PATH}`, `TEND_NODE=${fakeNode}`] });
    assert.equal(out.code, 0, out.stderr);
    // By its real path, which Node then keeps (--preserve-symlinks-main) instead of working it out again.
    assert.deepEqual(out.stdout.split('\n'), ['--preserve-symlinks-main', path.join(fs.realpathSync(pkg), 'dist/bundle/entry.cjs'), 'run', 'a b', 'rlimits=set', '']);
  });

  test('names the addon the loader would pick (TEND_ADDON), by the rule of addonCandidates, or none', T, async () => {
    const pkg = installedPackage('addon-pick');
    const fakeNode = path.join(tmp, 'fake-node-addon');
    fs.writeFileSync(fakeNode, '#!/bin/sh\necho "${TEND_ADDON:-none}"\n', { mode: 0o755 });
    const real = fs.realpathSync(pkg);
    const candidates = addonCandidates(real, process.arch, detectLibc());
    const picked = async (): Promise<string> => {
      const out = await run({ file: path.join(pkg, 'bin/tend'), args: ['tend'], env: [`PATH=${PATH}`, `TEND_NODE=${fakeNode}`, 'TEND_ADDON=/inherited/one'] });
      assert.equal(out.code, 0, out.stderr);
      return out.stdout.trim();
    };
    assert.equal(await picked(), 'none', 'no addon at all: none, and not the one it inherited');
    // Created from the last candidate to the first: each time the first that exists is the one named.
    for (const file of [...candidates].reverse()) {
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, '');
      assert.equal(await picked(), file);
    }
  });

  test('with no CLI beside it, says what to do and exits 70', T, async () => {
    const bin = path.join(tmp, 'stray/bin');
    fs.mkdirSync(bin, { recursive: true });
    fs.copyFileSync(launcher, path.join(bin, 'tend'));
    fs.chmodSync(path.join(bin, 'tend'), 0o755);
    const out = await run({ file: path.join(bin, 'tend'), args: ['tend', 'run', '--', 'true'] });
    assert.equal(out.code, 70);
    assert.match(out.stderr, /^tend: \S+\/stray\/dist\/bundle\/entry\.cjs: No such file or directory; run tend from its package \(node_modules\/\.bin\/tend\), or reinstall it \(npm install\)\n$/);
  });
});

describe('bin/tend', () => {
  test('resolves its real path through a symlink and execs launcher → node dist/bundle/entry.cjs args', T, async () => {
    // A fake node prints what it was given, so this does not depend on the CLI being built.
    const fakeNode = path.join(tmp, 'fake-node');
    fs.writeFileSync(fakeNode, '#!/bin/sh\nprintf "%s\\n" "$@"\necho "rlimits=${TEND_INHERITED_RLIMITS:+set}"\n', { mode: 0o755 });
    const linkDir = path.join(tmp, 'node_modules/.bin');
    fs.mkdirSync(linkDir, { recursive: true });
    fs.symlinkSync(binTend, path.join(linkDir, 'tend'));
    const out = await run({
      file: 'tend', args: ['tend', 'start', 'a b'], searchPath: linkDir,
      env: [`PATH=${PATH}`, `TEND_NODE=${fakeNode}`],
    });
    assert.equal(out.code, 0, out.stderr);
    const [flag, entry, ...rest] = out.stdout.split('\n');
    assert.equal(flag, '--preserve-symlinks-main');
    assert.equal(entry, path.join(fs.realpathSync(root), 'dist/bundle/entry.cjs'), 'the real path, worked out by the launcher');
    assert.deepEqual(rest, ['start', 'a b', 'rlimits=set', '']);
  });

  test('says how to fix a missing native build and exits 70', T, async () => {
    const copy = path.join(tmp, 'pkg/bin');
    fs.mkdirSync(copy, { recursive: true });
    fs.copyFileSync(binTend, path.join(copy, 'tend'));
    fs.chmodSync(path.join(copy, 'tend'), 0o755);
    const out = await run({ file: path.join(copy, 'tend'), args: ['tend'] });
    assert.equal(out.code, 70);
    assert.match(out.stderr, /^tend: native build missing: no build\/Release\/tend-launcher and no prebuilt for linux-(x64|arm64) \((glibc|musl)\); reinstall tend \(npm install\)[^\n]*\n$/);
  });
});
