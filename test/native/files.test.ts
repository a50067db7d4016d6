// Contract tests for the addon's whole-file reads (native/files.c), through which the start-up loader reads the CLI
// bundle and its V8 code cache: the text and identity are the file's, and a cache file is read only if it is the
// user's own and nobody else can write it.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { native } from '../../src/os/native.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tend-files-'));
process.on('exit', () => { fs.rmSync(dir, { recursive: true, force: true }); });

function file(name: string, content: string | Buffer, mode = 0o600): string {
  const p = path.join(dir, name);
  fs.writeFileSync(p, content, { mode });
  fs.chmodSync(p, mode);
  return p;
}

describe('readLatin1File', () => {
  test('returns the whole text and the identity statSync reports', () => {
    const text = `(function () { ${'x'.repeat(300_000)} })\n`;
    const p = file('bundle.cjs', text, 0o644);
    const read = native.readLatin1File(p);
    const stat = fs.statSync(p);
    assert.equal(read.text, text);
    assert.deepEqual({ ino: read.ino, size: read.size, mtimeMs: read.mtimeMs }, { ino: stat.ino, size: stat.size, mtimeMs: stat.mtimeMs });
  });
  test('reads an empty file as an empty string', () => {
    assert.equal(native.readLatin1File(file('empty', '')).text, '');
  });
  test('throws an errno error for a missing file or a directory', () => {
    assert.throws(() => native.readLatin1File(path.join(dir, 'missing')), { code: 'ENOENT' });
    assert.throws(() => native.readLatin1File(dir), { code: 'EINVAL' });
  });
});

describe('readOwnFile', () => {
  test('returns the bytes of a file of this user that only it can write', () => {
    const bytes = Buffer.from(Array.from({ length: 70_000 }, (_, i) => i % 251));
    const read = native.readOwnFile(file('cache.v8', bytes));
    assert.ok(Buffer.isBuffer(read));
    assert.deepEqual(read, bytes);
  });
  test('maps the file privately: writing to the Buffer leaves the file as it was', () => {
    const p = file('private.v8', Buffer.alloc(8192, 7));
    const read = native.readOwnFile(p);
    assert.ok(read !== null);
    read.fill(1);
    assert.deepEqual(fs.readFileSync(p), Buffer.alloc(8192, 7));
  });
  test('returns null for a missing file, a directory, an empty file, and a file others can write', () => {
    assert.equal(native.readOwnFile(file('empty.v8', '')), null);
    assert.equal(native.readOwnFile(path.join(dir, 'missing')), null);
    assert.equal(native.readOwnFile(path.join(dir, 'missing', 'below')), null);
    assert.equal(native.readOwnFile(dir), null);
    assert.equal(native.readOwnFile(file('group-writable', 'x', 0o620)), null);
    assert.equal(native.readOwnFile(file('world-writable', 'x', 0o602)), null);
  });
  test("returns null for another user's file", (t) => {
    if (process.geteuid?.() !== 0) { t.skip('needs root to give a file to another user'); return; }
    const p = file('theirs', 'x', 0o600);
    fs.chownSync(p, 65534, 65534);
    assert.equal(native.readOwnFile(p), null);
  });
});
