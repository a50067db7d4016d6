// Contract tests for orphan reaping: this test process makes itself a subreaper, so grandchildren orphaned by its
// children become its own children, exactly as they do for tend.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn as spawnLibuv } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import * as native from '../../src/os/native.js';
import type { ReapedChild, SpawnRequest } from '../../src/os/native.js';

const T = { timeout: 10_000 };
const PATH = process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin';

/** Reaps (all but `exclude`) on SIGCHLD and lets tests await a condition on what has been reaped. */
class Reaper {
  readonly reaped: ReapedChild[] = [];
  exclude: number[] = [];
  #waiters: { check: () => boolean; resolve: () => void }[] = [];
  readonly #onSigchld = (): void => { this.poll(); };
  start(): void { process.on('SIGCHLD', this.#onSigchld); }
  stop(): void { process.off('SIGCHLD', this.#onSigchld); }
  /** Time spent inside reapChildren, in ns. */
  busy = 0n;
  poll(): ReapedChild[] {
    const t0 = process.hrtime.bigint();
    const got = native.reapChildren(this.exclude);
    this.busy += process.hrtime.bigint() - t0;
    if (got.length > 0) {
      this.reaped.push(...got);
      this.#waiters = this.#waiters.filter((w) => (w.check() ? (w.resolve(), false) : true));
    }
    return got;
  }
  async until(check: () => boolean): Promise<void> {
    if (check()) return;
    // Signal listeners do not keep the event loop alive; this timer does, until the condition holds.
    const keepAlive = setInterval(() => undefined, 1 << 30);
    await new Promise<void>((resolve) => {
      this.#waiters.push({ check, resolve });
      this.poll();
    }).finally(() => { clearInterval(keepAlive); });
  }
}

const reaper = new Reaper();
let devnull = -1;
let tmp = '';

before(() => {
  native.setChildSubreaper(true);
  devnull = fs.openSync('/dev/null', 'r+');
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tend-reap-'));
  reaper.start();
});

after(() => {
  reaper.stop();
  native.setChildSubreaper(false);
  fs.closeSync(devnull);
  fs.rmSync(tmp, { recursive: true, force: true });
});

function shell(script: string, fds: readonly number[] = [devnull, devnull, 2]): number {
  const req: SpawnRequest = {
    file: '/bin/sh', args: ['sh', '-c', script], env: [`PATH=${PATH}`], searchPath: PATH, cwd: null,
    newProcessGroup: false, foregroundTty: -1, rlimits: [], uid: -1, gid: -1, groups: null, fds,
  };
  return native.spawn(req);
}

function state(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  } catch {
    return undefined; // already gone
  }
}

describe('subreaper', () => {
  test('setChildSubreaper toggles PR_SET_CHILD_SUBREAPER', T, () => {
    assert.equal(native.isChildSubreaper(), true);
    native.setChildSubreaper(false);
    assert.equal(native.isChildSubreaper(), false);
    native.setChildSubreaper(true);
    assert.equal(native.isChildSubreaper(), true);
  });
});

describe('reapChildren', () => {
  test('reaps a child and all 50 grandchildren it orphaned, leaving no zombies', T, async () => {
    const start = reaper.reaped.length;
    const pid = shell('for i in $(seq 50); do sleep 0 & done; exit 3');
    await reaper.until(() => reaper.reaped.length - start >= 51);
    const mine = reaper.reaped.slice(start);
    assert.equal(mine.length, 51);
    assert.deepEqual(mine.find((c) => c.pid === pid), { pid, code: 3, signal: null });
    assert.equal(mine.filter((c) => c.code === 0 && c.signal === null).length, 50);
    const zombies = native.listChildren().filter((p) => state(p) === 'Z');
    assert.deepEqual(zombies, []);
    assert.deepEqual(native.listChildren(), []);
  });

  test('reports the terminating signal and a null code for killed children', T, async () => {
    const start = reaper.reaped.length;
    const pid = shell('kill -TERM $$');
    await reaper.until(() => reaper.reaped.some((c) => c.pid === pid));
    assert.deepEqual(reaper.reaped.slice(start), [{ pid, code: null, signal: 15 }]);
  });

  test('listChildren sees live and zombie children of every thread', T, async () => {
    const pid = shell('exec sleep 1000');
    try {
      assert.ok(native.listChildren().includes(pid));
    } finally {
      process.kill(pid, 'SIGKILL');
      await reaper.until(() => reaper.reaped.some((c) => c.pid === pid));
    }
    assert.ok(!native.listChildren().includes(pid));
  });

  test('never steals a child that libuv spawned (excluded pids are left alone)', T, async () => {
    const cp = spawnLibuv('sh', ['-c', 'exit 7'], { stdio: 'ignore' });
    const libuvPid = cp.pid!;
    reaper.exclude = [libuvPid];
    const exited = new Promise<number | null>((resolve) => cp.on('exit', (code) => { resolve(code); }));
    try {
      const nativePid = shell('exit 5');
      // Spin synchronously (libuv cannot run, so cannot reap) until the libuv child is a zombie and the native one
      // has been reaped: reapChildren then has a waitable libuv zombie in front of it the whole time.
      const deadline = Date.now() + 5_000;
      let nativeExit: ReapedChild | undefined;
      while (state(libuvPid) !== 'Z' || nativeExit === undefined) {
        nativeExit ??= reaper.poll().find((c) => c.pid === nativePid);
        assert.ok(Date.now() < deadline, 'children did not exit in time');
      }
      assert.deepEqual(reaper.poll(), []);
      assert.equal(state(libuvPid), 'Z', 'still waiting for libuv');
      assert.deepEqual(nativeExit, { pid: nativePid, code: 5, signal: null });
      assert.equal(await exited, 7);
    } finally {
      reaper.exclude = [];
    }
  });

  test('a burst of 1000 orphans is reaped in milliseconds', T, async (t) => {
    // 1000 subshells block reading a FIFO that only we hold open for writing; their parent exits, so they become our
    // children; closing the write end makes all of them exit at once.
    const fifo = path.join(tmp, 'gate');
    execFileSync('mkfifo', [fifo]);
    // Blocking ends without blocking here: a temporary O_RDWR end lets both opens complete at once.
    const both = fs.openSync(fifo, fs.constants.O_RDWR);
    const reader = fs.openSync(fifo, fs.constants.O_RDONLY);
    const writer = fs.openSync(fifo, fs.constants.O_WRONLY);
    fs.closeSync(both);
    const start = reaper.reaped.length;
    try {
      const pid = shell('i=0; while [ $i -lt 1000 ]; do { read x; } <&3 & i=$((i+1)); done; exit 0', [devnull, devnull, 2, reader]);
      await reaper.until(() => reaper.reaped.some((c) => c.pid === pid));
      assert.equal(native.listChildren().length, 1000);
    } finally {
      fs.closeSync(reader);
      fs.closeSync(writer); // EOF for all 1000 at once
    }
    const busyBefore = reaper.busy;
    await reaper.until(() => reaper.reaped.length - start >= 1001);
    assert.deepEqual(native.listChildren(), []);
    const ms = Number(reaper.busy - busyBefore) / 1e6;
    t.diagnostic(`reapChildren: ${ms.toFixed(1)} ms in total for 1000 orphans`);
    assert.ok(ms < 500, `reapChildren spent ${ms.toFixed(1)} ms on 1000 orphans`);
  });
});
