// Smoke test of the systemd test harness (test/helpers/systemd.ts): boots the real systemd as PID 1 of
// private namespaces, runs a Type=notify python fixture under it (readiness, status, stop, watchdog)
// and checks that a second, concurrent box sees the repo, runs node and leaves nothing behind.
// Skips with the reason when systemd cannot be booted here (see docs/testing-systemd.md).
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { bootSystemd, repoRoot, systemdUnavailableReason, waitForJournal, type SystemdBox } from '../helpers/systemd.js';

const PYTHON = ['/usr/bin/python3', '/usr/local/bin/python3'].find((p) => fs.existsSync(p)) ?? null;
const FIXTURE = path.join(repoRoot, 'test', 'systemd', 'fixtures', 'notify_fixture.py');
const PROPS = ['ActiveState', 'SubState', 'Result', 'StatusText', 'MainPID'];

const reason = systemdUnavailableReason() ?? (PYTHON === null ? 'python3 not found in /usr/bin or /usr/local/bin' : null);

function notifyUnit(description: string, fixtureArgs: string, extra = ''): string {
  return `[Unit]
Description=${description}
DefaultDependencies=no

[Service]
Type=notify
ExecStart=${PYTHON ?? 'python3'} ${FIXTURE} ${fixtureArgs}
TimeoutStartSec=20
TimeoutStopSec=10
LimitCORE=0
${extra}`;
}

const hostMounts = (): string => fs.readFileSync('/proc/self/mountinfo', 'utf8');


if (reason !== null && process.env['TEND_SYSTEMD_REQUIRED'] === '1') {
  it('a real systemd can be booted here (TEND_SYSTEMD_REQUIRED=1)', () => {
    assert.fail(reason);
  });
}

// Each test (not just the suite) carries the skip reason, so the summary counts them as skipped.
const T = { timeout: 30_000, skip: reason ?? false };

describe('systemd test harness', () => {
  let box: SystemdBox | undefined;
  const b = (): SystemdBox => {
    assert.ok(box, 'box did not boot');
    return box;
  };

  let bootMs = 0;
  before(
    async () => {
      if (reason !== null) return;
      const t0 = performance.now();
      box = await bootSystemd();
      bootMs = performance.now() - t0;
    },
    { timeout: 30_000 },
  );

  after(
    async () => {
      await box?.stop();
    },
    { timeout: 30_000 },
  );

  it('Type=notify: activating until READY=1, then active/running with StatusText; stop gives Result=success', T, async (t) => {
    const box = b();
    t.diagnostic(`boot took ${Math.round(bootMs)} ms`);
    const go = path.join(box.stateDir, 'smoke.go'); // /run/harness/smoke.go inside
    await box.installUnit('smoke.service', notifyUnit('harness smoke: notify fixture', '--go /run/harness/smoke.go'));
    const start = await box.ctl('start', '--no-block', 'smoke.service');
    assert.equal(start.code, 0, start.stderr);

    // The fixture says STATUS=... before it waits for the go-file: it is running but not ready.
    const waiting = await box.waitFor('smoke.service', (p) => p['StatusText'] === 'waiting for go-file', PROPS, 10_000);
    assert.equal(waiting['ActiveState'], 'activating');
    assert.equal(waiting['SubState'], 'start');
    assert.ok(Number(waiting['MainPID']) > 0, `MainPID ${waiting['MainPID']}`);

    fs.writeFileSync(go, 'go 1\n');
    const ready = await box.waitFor('smoke.service', (p) => p['ActiveState'] !== 'activating', PROPS, 10_000);
    assert.equal(ready['ActiveState'], 'active');
    assert.equal(ready['SubState'], 'running');
    assert.equal(ready['StatusText'], 'ready: go 1');
    assert.equal(ready['MainPID'], waiting['MainPID']);

    const stop = await box.ctl('stop', 'smoke.service');
    assert.equal(stop.code, 0, stop.stderr);
    const stopped = await box.show('smoke.service', PROPS);
    assert.equal(stopped['ActiveState'], 'inactive');
    assert.equal(stopped['Result'], 'success');
    await waitForJournal(box, 'smoke.service', /sent STOPPING=1 STATUS=stopping/, 5000);
  });

  it('watchdog: when pings stop, systemd kills the service with Result=watchdog', T, async (t) => {
    const box = b();
    const noping = path.join(box.stateDir, 'wd.noping');
    const wdProps = [...PROPS, 'WatchdogUSec', 'WatchdogTimestampMonotonic'];
    await box.installUnit('wd.service', notifyUnit('harness smoke: watchdog', '--noping /run/harness/wd.noping', 'WatchdogSec=1\nRestart=no\n'));
    const start = await box.ctl('start', 'wd.service'); // blocks until READY=1
    assert.equal(start.code, 0, start.stderr);
    const up = await box.show('wd.service', wdProps);
    assert.equal(up['ActiveState'], 'active');
    assert.equal(up['WatchdogUSec'], '1s');

    // Pings arrive: the watchdog timestamp moves forward while the unit stays active.
    const pinged = await box.waitFor(
      'wd.service',
      (p) => p['ActiveState'] !== 'active' || Number(p['WatchdogTimestampMonotonic']) > Number(up['WatchdogTimestampMonotonic']),
      wdProps,
      5000,
    );
    assert.equal(pinged['ActiveState'], 'active');

    fs.writeFileSync(noping, '');
    const t0 = performance.now();
    const dead = await box.waitFor('wd.service', (p) => p['ActiveState'] === 'failed' || p['ActiveState'] === 'inactive', wdProps, 10_000);
    t.diagnostic(`watchdog kill observed ${Math.round(performance.now() - t0)} ms after pings stopped`);
    assert.equal(dead['Result'], 'watchdog');
    assert.equal(dead['ActiveState'], 'failed');
    await waitForJournal(box, 'wd.service', /[Ww]atchdog timeout/, 5000);
  });

  it('a second, concurrent box: repo and node at their host paths, bindPaths writable, stop() leaves nothing', T, async (t) => {
    const shared = fs.mkdtempSync(path.join(os.tmpdir(), 'tend-harness-bind-'));
    let t0 = performance.now();
    const box2 = await bootSystemd({ bindPaths: [shared] });
    t.diagnostic(`second box booted in ${Math.round(performance.now() - t0)} ms`);
    try {
      assert.notEqual(box2.stateDir, b().stateDir);
      assert.notEqual(box2.cgroupDir, b().cgroupDir);
      assert.ok(fs.existsSync(box2.cgroupDir));
      assert.equal(fs.readFileSync(`/proc/${box2.pid}/comm`, 'utf8').trim(), 'systemd');
      // The box's mounts are private: none of them shows up in the host's mount table.
      assert.ok(!hostMounts().includes(box2.stateDir), 'box mounts leaked to the host');

      const node = await box2.exec(process.execPath, '-e', 'process.stdout.write(process.version)');
      assert.equal(node.code, 0, node.stderr);
      assert.equal(node.stdout, process.version);
      const repo = await box2.exec('test', '-f', path.join(repoRoot, 'package.json'));
      assert.equal(repo.code, 0, 'repo not visible inside the box');
      const ro = await box2.exec('touch', path.join(repoRoot, '.harness-write-probe'));
      assert.notEqual(ro.code, 0, 'repo must be read-only inside the box');
      const rw = await box2.exec('sh', '-c', `echo from-box > ${shared}/probe`);
      assert.equal(rw.code, 0, rw.stderr);
      assert.equal(fs.readFileSync(path.join(shared, 'probe'), 'utf8'), 'from-box\n');

      await assert.rejects(box2.installUnit('bad.service', '[Service]\nExecStart=/bin/true\n'), /DefaultDependencies=no/);
    } finally {
      t0 = performance.now();
      await box2.stop();
      t.diagnostic(`second box stopped in ${Math.round(performance.now() - t0)} ms`);
      fs.rmSync(shared, { recursive: true, force: true });
    }
    await box2.stop(); // idempotent
    assert.ok(!fs.existsSync(box2.cgroupDir), `cgroup ${box2.cgroupDir} left behind`);
    assert.ok(!fs.existsSync(box2.stateDir), `state dir ${box2.stateDir} left behind`);
    assert.ok(!fs.existsSync(`/proc/${box2.pid}`) || fs.readFileSync(`/proc/${box2.pid}/comm`, 'utf8').trim() !== 'systemd');
    assert.ok(!hostMounts().includes(box2.stateDir), 'box mounts left on the host');
    await assert.rejects(box2.ctl('status'), /stopped/);
  });
});
