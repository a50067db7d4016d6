// The reaper adopts and reaps orphans but never steals the status of a child tend started through child_process.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { spawnChild } from '../../src/os/child-process.js';
import { native } from '../../src/os/native.js';
import { startReaper, type Reaped } from '../../src/os/reaper.js';

describe('reaper', () => {
  it('reaps 200 orphans while child_process children keep their exit events', { timeout: 20_000 }, async () => {
    native.setChildSubreaper(true);
    const reaped: Reaped[] = [];
    const reaper = startReaper((r) => { reaped.push(r); });
    const keepAlive = setInterval(() => undefined, 1000);
    try {
      // child_process children that exit at the same time as the orphans, with codes only libuv can report.
      const exits = Array.from({ length: 5 }, (_, i) => new Promise<number | null>((resolve) => {
        spawnChild('sh', ['-c', `exit ${10 + i}`], {}).on('exit', (code) => { resolve(code); });
      }));
      // A natively spawned shell that leaves 200 orphans behind (they become ours: we are a subreaper).
      const pid = native.spawn({
        file: 'sh', args: ['sh', '-c', 'for i in $(seq 200); do (exit 3) & done; exit 0'], env: [`PATH=${process.env['PATH'] ?? ''}`],
        searchPath: process.env['PATH'] ?? '', cwd: null, newProcessGroup: true, foregroundTty: -1, rlimits: [], uid: -1, gid: -1, groups: null, fds: [0, 1, 2],
      });
      assert.deepEqual(await Promise.all(exits), [10, 11, 12, 13, 14]);
      const deadline = Date.now() + 10_000;
      while (reaper.adoptedChildren().length > 0 || !reaped.some((r) => r.pid === pid)) {
        if (Date.now() > deadline) throw new Error(`still ${reaper.adoptedChildren().length} children`);
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.deepEqual(reaped.find((r) => r.pid === pid)?.status, { code: 0, signal: null });
      assert.equal(reaped.filter((r) => r.status.code === 3).length, 200);
      assert.equal(reaped.filter((r) => r.status.code !== null && r.status.code >= 10 && r.status.code <= 14).length, 0, 'no libuv child stolen');
    } finally {
      clearInterval(keepAlive);
      reaper.stop();
      native.setChildSubreaper(false);
    }
  });

  it('leaves alone a child spawnChild started after the reaper, and swallows none of its errors', { timeout: 20_000 }, () => {
    // A fresh Node, so an uncaught 'error' would really be uncaught: the reaper starts, then a child exits with a
    // code only libuv can report, while the reaper reaps on every SIGCHLD.
    const script = `
      import { startReaper } from ${JSON.stringify(new URL('../../src/os/reaper.js', import.meta.url).href)};
      import { spawnChild } from ${JSON.stringify(new URL('../../src/os/child-process.js', import.meta.url).href)};
      const stolen = [];
      const reaper = startReaper((r) => stolen.push(r.pid));
      // A failed spawn's 'error' still reaches the caller: tracking must not add a listener that swallows it.
      let uncaught = null;
      process.once('uncaughtException', (error) => { uncaught = error.code; });
      spawnChild('/nonexistent-command-for-tend-test', [], {});
      const child = spawnChild('sh', ['-c', 'exit 7'], {});
      child.on('exit', (code) => {
        reaper.reapNow();
        reaper.stop();
        setImmediate(() => console.log(JSON.stringify({ code, stolen: stolen.includes(child.pid), uncaught })));
      });
    `;
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 15_000 });
    assert.equal(run.status, 0, run.stderr);
    assert.deepEqual(JSON.parse(run.stdout), { code: 7, stolen: false, uncaught: 'ENOENT' });
  });
});
