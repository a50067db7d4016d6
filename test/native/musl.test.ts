// The addon must build on musl (Alpine's C library): every native/*.c compiles with musl-gcc under the project's
// flags, and the linked addon needs nothing from the C library that musl lacks, so a glibc-only call (such as
// strerrorname_np) cannot creep back.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from '../helpers/tend.js';

const T = { timeout: 120_000 };
const CFLAGS = ['-D_GNU_SOURCE', '-Wall', '-Wextra', '-Werror', '-std=gnu11', '-fPIC'];
const MUSL_LOADER = `/lib/ld-musl-${os.arch() === 'arm64' ? 'aarch64' : 'x86_64'}.so.1`;

function onPath(name: string): boolean {
  return (process.env['PATH'] ?? '').split(':').some((dir) => dir !== '' && fs.existsSync(path.join(dir, name)));
}

// The headers node-gyp compiles against (N-API and libuv), as scripts/build-prebuilt.js finds them.
function nodeHeaders(): string | null {
  const dirs = [path.join(process.execPath, '../../include/node'), path.join(os.homedir(), '.cache/node-gyp', process.versions.node, 'include/node')];
  return dirs.find((d) => fs.existsSync(path.join(d, 'node_api.h')) && fs.existsSync(path.join(d, 'uv.h'))) ?? null;
}

const sources = fs.readdirSync(path.join(repoRoot, 'native')).filter((f) => f.endsWith('.c')).sort();
const skip = !onPath('musl-gcc') ? 'musl-gcc not installed (run scripts/install-toolchains.sh, or apt-get install musl-tools)'
  : nodeHeaders() === null ? 'no Node headers with node_api.h and uv.h next to this node or in ~/.cache/node-gyp' : null;
let tmp = '';

before(() => { tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tend-musl-')); });
after(() => { fs.rmSync(tmp, { recursive: true, force: true }); });

describe('native/*.c on musl', () => {
  test('every file compiles with musl-gcc -Wall -Wextra -Werror', T, (t) => {
    if (skip !== null) { t.skip(skip); return; }
    assert.ok(sources.length > 10, `found native sources: ${sources.join(' ')}`);
    for (const file of sources) {
      const out = spawnSync('musl-gcc', [...CFLAGS, `-I${nodeHeaders() ?? ''}`, '-c', `native/${file}`, '-o', path.join(tmp, `${file}.o`)], { cwd: repoRoot, encoding: 'utf8', timeout: 60_000 });
      assert.equal(out.status, 0, `musl-gcc native/${file}:\n${out.stderr}`);
    }
  });

  test('the linked addon leaves only symbols Node provides (napi_*, uv_*) unresolved by musl', T, (t) => {
    if (skip !== null) { t.skip(skip); return; }
    if (!fs.existsSync(MUSL_LOADER)) { t.skip(`${MUSL_LOADER} missing (musl's dynamic loader, from Debian's musl package)`); return; }
    const addon = path.join(tmp, 'tend_native.node');
    const objects = sources.filter((f) => f !== 'launcher.c').map((f) => path.join(tmp, `${f}.o`));
    const link = spawnSync('musl-gcc', ['-shared', '-o', addon, ...objects], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(link.status, 0, link.stderr);
    // musl's loader in ldd mode lists every symbol it cannot resolve ("Error relocating ...: NAME: symbol not found").
    const trace = spawnSync(MUSL_LOADER, ['--list', addon], { encoding: 'utf8', timeout: 30_000 });
    const missing = [...trace.stderr.matchAll(/: (\S+): symbol not found/g)].map((m) => m[1] ?? '');
    assert.ok(missing.includes('napi_create_error'), `the trace lists unresolved symbols:\n${trace.stderr}`);
    assert.deepEqual(missing.filter((s) => !/^(napi|node_api|uv)_/.test(s)), [], 'symbols neither musl nor Node provides');
  });
});
