// Contract tests for the sd_notify sockets: socketpair and bound sockets, sender credentials, truncation, fd passing
// (received fds are closed at once, which is what releases sd_notify barriers) and callback exceptions.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as native from '../../src/os/native.js';
import type { ReapedChild, SpawnRequest } from '../../src/os/native.js';
import { ChildReaper } from './child-reaper.js';
import { inbox } from '../helpers/inbox.js';

const T = { timeout: 10_000 };
const PATH = process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin';
const PYTHON = fs.existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
const SYSTEMD_NOTIFY = '/usr/bin/systemd-notify';
const nativeUrl = new URL('../../src/os/native.js', import.meta.url).href;
const isRoot = process.getuid?.() === 0;


const reaper = new ChildReaper();
let tmp = '';
let devnull = -1;
let seq = 0;

before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tend-dgram-'));
  devnull = fs.openSync('/dev/null', 'r+');
  reaper.start();
});

after(() => {
  reaper.stop();
  fs.closeSync(devnull);
  fs.rmSync(tmp, { recursive: true, force: true });
});

function start(over: Partial<SpawnRequest> & Pick<SpawnRequest, 'file' | 'args'>): number {
  return native.spawn({
    env: [`PATH=${PATH}`], searchPath: PATH, cwd: null, newProcessGroup: false, foregroundTty: -1, rlimits: [],
    uid: -1, gid: -1, groups: null, fds: [devnull, 1, 2], ...over,
  });
}

/** Runs a program with stdout captured; resolves with its exit and output. */
async function run(over: Partial<SpawnRequest> & Pick<SpawnRequest, 'file' | 'args'>): Promise<ReapedChild & { stdout: string }> {
  const outPath = path.join(tmp, `out-${++seq}`);
  const out = fs.openSync(outPath, 'w');
  let pid: number;
  try {
    pid = start({ fds: [devnull, out, 2], ...over });
  } finally {
    fs.closeSync(out);
  }
  return { ...(await reaper.exit(pid)), stdout: fs.readFileSync(outPath, 'utf8') };
}


function socketPath(name: string): string {
  return path.join(tmp, `${name}-${++seq}.sock`);
}

describe('dgram sockets', () => {
  test('socketpair: a child writes to its inherited end; tend sees the data and the sender pid/uid/gid', T, async () => {
    const [ours, theirs] = native.dgramSocketPair();
    const box = inbox(ours);
    try {
      const identity = isRoot ? { uid: 65534, gid: 65534, groups: [] as number[], cwd: '/' } : {};
      const script = "require('fs').writeSync(3, 'READY=1\\nSTATUS=up')";
      const pid = start({ file: process.execPath, args: ['node', '-e', script], fds: [devnull, 1, 2, theirs], ...identity });
      native.closeFd(theirs);
      const msg = await box.next();
      assert.equal(msg.data.toString(), 'READY=1\nSTATUS=up');
      assert.equal(msg.pid, pid);
      assert.equal(msg.uid, isRoot ? 65534 : process.getuid!());
      assert.equal(msg.gid, isRoot ? 65534 : process.getgid!());
      assert.equal(msg.fds, 0);
      assert.equal(msg.truncated, false);
      assert.equal((await reaper.exit(pid)).code, 0);
    } finally {
      box.close();
      native.closeFd(ours);
    }
  });

  test('bind: python sends READY=1 to the path; oversized datagrams are reported as truncated', T, async () => {
    const sock = socketPath('notify');
    const fd = native.dgramBind(sock);
    const box = inbox(fd);
    try {
      const script = [
        'import socket, sys',
        's = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)',
        "for payload in (b'READY=1', b'x' * 4096, b'y' * 4097, b'z' * 5000): s.sendto(payload, sys.argv[1])",
      ].join('\n');
      const pid = start({ file: PYTHON, args: ['python3', '-c', script, sock] });
      const ready = await box.next();
      assert.equal(ready.data.toString(), 'READY=1');
      assert.equal(ready.pid, pid);
      assert.equal(ready.truncated, false);
      const exact = await box.next();
      assert.deepEqual([exact.data.length, exact.truncated], [4096, false]);
      const over = await box.next();
      assert.deepEqual([over.data.length, over.truncated, over.data.every((b) => b === 0x79)], [4096, true, true]);
      const big = await box.next();
      assert.deepEqual([big.data.length, big.truncated], [4096, true]);
      assert.equal((await reaper.exit(pid)).code, 0);
    } finally {
      box.close();
      native.closeFd(fd);
    }
  });

  test('an fd sent along is closed immediately: the sender sees EOF on its pipe', T, async () => {
    const sock = socketPath('fds');
    const fd = native.dgramBind(sock);
    const box = inbox(fd);
    try {
      // The sender passes the write end of a pipe and closes its own copy: its read() returns b'' only once the copy
      // tend received has been closed too.
      const script = [
        'import os, socket, sys',
        'r, w = os.pipe()',
        's = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)',
        's.connect(sys.argv[1])',
        "socket.send_fds(s, [b'FDSTORE=1'], [w])",
        'os.close(w)',
        "print('EOF' if os.read(r, 1) == b'' else 'DATA')",
      ].join('\n');
      const result = run({ file: PYTHON, args: ['python3', '-c', script, sock] });
      const msg = await box.next();
      assert.equal(msg.data.toString(), 'FDSTORE=1');
      assert.equal(msg.fds, 1);
      const exit = await result;
      assert.deepEqual([exit.code, exit.stdout], [0, 'EOF\n']);
    } finally {
      box.close();
      native.closeFd(fd);
    }
  });

  test('systemd-notify --ready returns promptly (its BARRIER=1 fd is closed at once)', { ...T, skip: !fs.existsSync(SYSTEMD_NOTIFY) && 'no systemd-notify' }, async () => {
    const sock = socketPath('systemd');
    const fd = native.dgramBind(sock);
    const box = inbox(fd);
    try {
      const t0 = Date.now();
      const result = run({ file: SYSTEMD_NOTIFY, args: ['systemd-notify', '--ready'], env: [`NOTIFY_SOCKET=${sock}`] });
      const ready = await box.next();
      assert.match(ready.data.toString(), /^READY=1$/m);
      const exit = await result;
      assert.equal(exit.code, 0);
      assert.ok(Date.now() - t0 < 2_000, `systemd-notify took ${Date.now() - t0} ms`);
    } finally {
      box.close();
      native.closeFd(fd);
    }
  });

  test('dgramSend reaches a bound socket, also in the abstract namespace, with our own credentials', T, async () => {
    for (const address of [socketPath('send'), `@tend-test-${process.pid}-${++seq}`]) {
      const fd = native.dgramBind(address);
      const box = inbox(fd);
      try {
        native.dgramSend(address, Buffer.from('STATUS=hello'));
        const msg = await box.next();
        assert.equal(msg.data.toString(), 'STATUS=hello');
        assert.deepEqual([msg.pid, msg.uid, msg.gid], [process.pid, process.getuid!(), process.getgid!()]);
      } finally {
        box.close();
        native.closeFd(fd);
      }
    }
  });

  test('dgramSend to a path nobody listens on is ECONNREFUSED/ENOENT', T, () => {
    const sock = socketPath('nobody');
    assert.throws(() => { native.dgramSend(sock, Buffer.from('x')); }, (e) => native.isNativeError(e) && e.code === 'ENOENT' && e.syscall === 'sendto');
    const fd = native.dgramBind(sock);
    native.closeFd(fd); // the file stays, nobody receives
    assert.throws(() => { native.dgramSend(sock, Buffer.from('x')); }, (e) => native.isNativeError(e) && e.code === 'ECONNREFUSED');
  });

  test('close() stops delivery, is idempotent, and the fd stays usable by its owner', T, () => {
    const [a, b] = native.dgramSocketPair();
    let calls = 0;
    const watcher = native.dgramWatch(a, () => { calls++; });
    watcher.close();
    watcher.close();
    fs.writeSync(b, 'after close');
    const buf = Buffer.alloc(64);
    assert.equal(fs.readSync(a, buf), 'after close'.length); // non-blocking now, and still open
    assert.equal(calls, 0);
    native.closeFd(a);
    native.closeFd(b);
  });

  test('an exception thrown by onMessage is an ordinary uncaught exception; the watcher survives it', T, async () => {
    const script = `
      import { dgramSocketPair, dgramWatch, closeFd } from ${JSON.stringify(nativeUrl)};
      import { writeSync } from 'node:fs';
      const [a, b] = dgramSocketPair();
      process.on('uncaughtException', (e) => console.log('caught ' + e.message));
      let n = 0;
      const w = dgramWatch(a, (m) => {
        if (++n === 1) throw new Error('boom');
        console.log('then ' + m.data.toString());
        w.close();
        closeFd(a);
        closeFd(b);
      });
      writeSync(b, 'one');
      writeSync(b, 'two');
    `;
    // The process exits by itself afterwards: a closed watcher does not hold the event loop.
    const r = await run({ file: process.execPath, args: ['node', '--input-type=module', '-e', script] });
    assert.deepEqual([r.code, r.stdout], [0, 'caught boom\nthen two\n']);
  });

  test('a worker ending with an open or a just-closed watcher ends cleanly', T, async () => {
    // The uv handle's close callback lives in the addon, which Node unloads when a worker's environment goes away
    // (if no other thread loaded it): teardown must wait for that callback. Run in a fresh process whose main thread
    // never loads the addon (workers inherit --input-type=module, so their code is ESM too).
    //   open:   the watcher is still active when the worker is terminated;
    //   closed: close() then process.exit() at once, so the close callback is still pending during teardown.
    const worker = (closeFirst: boolean): string => `
      import { parentPort } from 'node:worker_threads';
      import { writeSync } from 'node:fs';
      import { dgramSocketPair, dgramWatch } from ${JSON.stringify(nativeUrl)};
      const [a, b] = dgramSocketPair();
      const watcher = dgramWatch(a, (m) => {
        parentPort.postMessage(m.data.toString());
        if (${closeFirst}) {
          watcher.close();
          process.exit(5);
        }
      });
      writeSync(b, 'from worker');
    `;
    const script = `
      import { Worker } from 'node:worker_threads';
      for (const [name, code] of ${JSON.stringify([['open', worker(false)], ['closed', worker(true)]])}) {
        const w = new Worker(code, { eval: true });
        const exited = new Promise((resolve) => w.once('exit', resolve));
        const message = await new Promise((resolve) => w.once('message', resolve));
        if (name === 'open') await w.terminate();
        console.log(name, message, await exited);
      }
    `;
    const r = await run({ file: process.execPath, args: ['node', '--input-type=module', '-e', script] });
    assert.deepEqual([r.code, r.signal, r.stdout], [0, null, 'open from worker 1\nclosed from worker 5\n']);
  });

  test('without an uncaughtException handler the exception terminates the process like any other', T, async () => {
    const script = `
      import { dgramSocketPair, dgramWatch } from ${JSON.stringify(nativeUrl)};
      import { writeSync } from 'node:fs';
      const [a, b] = dgramSocketPair();
      dgramWatch(a, () => { throw new Error('boom'); });
      writeSync(b, 'one');
    `;
    const r = await run({ file: process.execPath, args: ['node', '--input-type=module', '-e', script], fds: [devnull, devnull, devnull] });
    assert.equal(r.code, 1);
  });
});
