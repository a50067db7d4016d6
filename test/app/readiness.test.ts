// Any sd_notify client signals readiness to tend, not just the Node library: a python3 stdlib script, a shell script
// using systemd's own `systemd-notify`, and a Node app using `import { ready } from 'tend'`, each run as a one-worker
// pool with --ready notify. tend must say "pool ready" only after the worker did, and show the worker's STATUS=.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { fixture, killAll, shellCode, start, startTend, tendBin } from '../helpers/tend.js';

const PYTHON = ['/usr/bin/python3', '/usr/local/bin/python3'].find((p) => fs.existsSync(p)) ?? null;
const SYSTEMD_NOTIFY = ['/usr/bin/systemd-notify', '/bin/systemd-notify'].find((p) => fs.existsSync(p)) ?? null;
const T = { timeout: 30_000 };

afterEach(() => { killAll(); });

const cases: { name: string; argv: () => string[]; ready: RegExp; status: string; skip: string | false }[] = [
  { name: 'python3 (stdlib socket to $NOTIFY_SOCKET)', argv: () => [PYTHON ?? 'python3', fixture('notify-python.py')], ready: /python \d+ ready \(sent: True\)/, status: 'python ready', skip: PYTHON === null ? 'python3 not found' : false },
  { name: 'a shell script with systemd-notify --ready', argv: () => ['/bin/sh', fixture('notify-shell.sh')], ready: /shell \d+ ready \(systemd-notify exit 0\)/, status: 'shell ready', skip: SYSTEMD_NOTIFY === null ? 'systemd-notify not installed' : false },
  { name: "a Node app using the library (import { ready } from 'tend')", argv: () => [process.execPath, fixture('notify-app.mjs')], ready: /app \d+ ready \(build good, sent: true\)/, status: 'serving build good', skip: false },
];

describe('readiness from any sd_notify client', () => {
  for (const c of cases) {
    it(c.name, { ...T, skip: c.skip }, async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tend-ready-'));
      const control = path.join(dir, 'ctl.sock');
      try {
        const env = { ...process.env };
        for (const k of ['NOTIFY_SOCKET', 'TEND_NOTIFY_FD', 'WATCHDOG_USEC', 'WATCHDOG_PID', 'LISTEN_FDS', 'LISTEN_PID']) Reflect.deleteProperty(env, k);
        const t = startTend(['run', '-v', '--workers', '1', '--ready', 'notify', '--ready-timeout', '20s', '--control', control, '--', ...c.argv()], { env });
        await t.waitFor(/pool ready: 1\/1 workers ready/, 20_000);
        await t.waitFor(c.ready, 5_000);
        assert.match(t.stderr(), /worker 0 \(pid \d+\) is ready after/);
        const status = start([tendBin, 'status', '--control', control]);
        assert.equal(shellCode(await status.exited(10_000)), 0, status.stderr());
        const parsed = JSON.parse(status.stdout()) as { ready: number; workers: { status: string | null; state: string }[] };
        assert.equal(parsed.ready, 1);
        assert.equal(parsed.workers[0]?.state, 'ready');
        assert.equal(parsed.workers[0].status, c.status);
        t.child.kill('SIGTERM');
        assert.equal(shellCode(await t.exited(15_000)), 0, t.stderr());
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  }

  it('a worker that never sends READY=1 is never declared ready (the library is silent without a reason to speak)', T, async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tend-ready-'));
    try {
      const build = path.join(dir, 'build');
      fs.writeFileSync(build, 'never');
      const env = { ...process.env, BUILD_FILE: build };
      Reflect.deleteProperty(env, 'NOTIFY_SOCKET');
      const t = startTend(['run', '-v', '--workers', '1', '--ready', 'notify', '--ready-timeout', '1500ms', '--max-restarts', '1', '--', process.execPath, fixture('notify-app.mjs')], { env });
      await t.waitFor(/not ready within 1\.5s|was not ready within/, 15_000);
      assert.doesNotMatch(t.stderr(), /pool ready/);
      t.child.kill('SIGTERM');
      await t.exited(15_000);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
