// tend as a real systemd service (systemd booted as PID 1 in namespaces by test/helpers/systemd.ts): a Type=notify
// unit running a worker pool is activating until every worker is ready, reloads are visible as "reloading" (through
// ExecReload=tend reload on systemd 252, and through RELOADING=1 alone as Type=notify-reload uses it on >= 253), a bad
// build's reload leaves the old workers serving, a stalled tend is killed by systemd's watchdog, a stop drains inside
// (or, extended, beyond) TimeoutStopSec, and a .socket unit's sockets reach the workers. Skips with the reason when
// systemd cannot be booted here (docs/testing-systemd.md).
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { bootSystemd, repoRoot, systemdUnavailableReason, waitForJournal, type SystemdBox } from '../helpers/systemd.js';
import { is, watchEventLog, type EventLog } from '../helpers/tend.js';

const TEND = path.join(repoRoot, 'bin', 'tend');
const APP = path.join(repoRoot, 'test', 'fixtures', 'notify-app.mjs');
const NODE = process.execPath;
const PROPS = ['ActiveState', 'SubState', 'Result', 'StatusText', 'MainPID', 'ReloadResult'];

/** The pool must be wired to src/systemd (cli/main.ts → createSystemdObserver, runner.ts → inheritedSockets). */
function wiringMissing(): string | null {
  const read = (rel: string): string => { try { return fs.readFileSync(path.join(repoRoot, 'dist', 'src', rel), 'utf8'); } catch { return ''; } };
  const missing = [
    read('cli/main.js').includes('createSystemdObserver') ? null : 'cli/main.ts does not call createSystemdObserver',
    read('runner/runner.js').includes('inheritedSockets') ? null : 'runner/runner.ts does not call inheritedSockets',
  ].filter((m) => m !== null);
  return missing.length === 0 ? null : `tend is not wired to src/systemd yet: ${missing.join('; ')}`;
}

const reason = systemdUnavailableReason() ?? wiringMissing();
if (reason !== null && process.env['TEND_SYSTEMD_REQUIRED'] === '1') {
  it('tend can be tested under a real systemd here (TEND_SYSTEMD_REQUIRED=1)', () => { assert.fail(reason); });
}
const T = { timeout: 60_000, skip: reason ?? false };

interface UnitOptions {
  /** tend run arguments before `--`. */
  tendArgs: string[];
  env?: Record<string, string>;
  /** Extra [Service] lines. */
  service?: string;
  /** Extra [Unit] lines. */
  unit?: string;
}

/** Where a unit's tend writes its event stream, inside the box (/run/harness is the host's box.stateDir). */
const eventLogIn = (unit: string): string => `/run/harness/${unit}.events`;

function serviceUnit(unit: string, name: string, o: UnitOptions): string {
  const env = { TEND_NODE: NODE, ...o.env };
  return `[Unit]
Description=tend test ${name}
DefaultDependencies=no
${o.unit ?? ''}

[Service]
Type=notify
NotifyAccess=main
KillMode=mixed
ExecStart=${TEND} run -v --event-log ${eventLogIn(unit)} ${o.tendArgs.join(' ')} -- ${NODE} ${APP}
${Object.entries(env).map(([k, v]) => `Environment="${k}=${v}"`).join('\n')}
TimeoutStartSec=30
TimeoutStopSec=15
LimitCORE=0
Restart=no
${o.service ?? ''}
`;
}


/** One HTTP request from inside the box (its own network namespace) to a tcp port or a unix socket path. */
async function request(box: SystemdBox, target: number | string): Promise<{ pid: number; build: string; generation: string; slot: string }> {
  const where = typeof target === 'number' ? `{ host: '127.0.0.1', port: ${target} }` : `{ socketPath: ${JSON.stringify(target)} }`;
  const script = `require('node:http').get({ ...${where}, path: '/', timeout: 10000 }, (res) => {
      let body = ''; res.on('data', (d) => body += d); res.on('end', () => { process.stdout.write(body); });
    }).on('error', (e) => { console.error(e.message); process.exit(1); }).on('timeout', function () { this.destroy(new Error('timeout')); });`;
  const r = await box.exec(NODE, '-e', script);
  assert.equal(r.code, 0, `request to ${String(target)} failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as { pid: number; build: string; generation: string; slot: string };
}

async function tendStatus(box: SystemdBox, control: string): Promise<{ generation: number; ready: number; workers: { pid: number; generation: number; state: string }[]; lastReload: { ok: boolean } | null }> {
  const r = await box.exec(TEND, 'status', '--control', control);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as { generation: number; ready: number; workers: { pid: number; generation: number; state: string }[]; lastReload: { ok: boolean } | null };
}

describe('tend under a real systemd', () => {
  let box: SystemdBox | undefined;
  const b = (): SystemdBox => {
    assert.ok(box, 'box did not boot');
    return box;
  };
  /** A file in the box's /run/harness, written from the host. */
  const touch = (name: string, content = ''): void => { fs.writeFileSync(path.join(b().stateDir, name), content); };
  /** The event stream of the unit's tend, read from the host. */
  const events = (unit: string): EventLog => watchEventLog(path.join(b().stateDir, `${unit}.events`));

  before(async () => {
    if (reason !== null) return;
    box = await bootSystemd();
  }, { timeout: 30_000 });

  after(async () => {
    await box?.stop();
  }, { timeout: 30_000 });

  it('Type=notify: activating (with tend\'s STATUS) until every worker is ready, then active', T, async () => {
    const box = b();
    const unit = 'ready.service';
    await box.installUnit(unit, serviceUnit(unit, 'readiness', {
      tendArgs: ['--workers', '2', '--ready', 'notify'],
      env: { GO_FILE: '/run/harness/ready-go-{slot}' },
    }));
    assert.equal((await box.ctl('start', '--no-block', unit)).code, 0);
    // Both workers run and are held back by their go-files: tend has not said READY=1.
    const started = await events(unit).waitEvents(is('spawned'), 2, 15_000);
    assert.deepEqual(started.map((e) => e.slot).sort(), [0, 1]);
    const starting = await box.show(unit, PROPS);
    assert.equal(starting['ActiveState'], 'activating');
    assert.equal(starting['SubState'], 'start');

    touch('ready-go-0');
    const half = await box.waitFor(unit, (p) => p['StatusText'] === '1/2 workers ready, generation 0' || p['ActiveState'] !== 'activating', PROPS, 15_000);
    assert.equal(half['ActiveState'], 'activating', 'one worker of two is not enough');
    assert.equal(half['StatusText'], '1/2 workers ready, generation 0');

    touch('ready-go-1');
    const up = await box.waitFor(unit, (p) => p['ActiveState'] !== 'activating', PROPS, 15_000);
    assert.equal(up['ActiveState'], 'active');
    assert.equal(up['SubState'], 'running');
    assert.equal(up['StatusText'], '2/2 workers ready, generation 0');
    assert.equal(up['MainPID'], starting['MainPID'], 'tend is the main process');
    await box.ctl('stop', unit);
  });

  it('reload through ExecReload=tend reload (systemd 252): reloading while the new generation starts, then active', T, async () => {
    const box = b();
    const unit = 'reload.service';
    touch('reload-go-0');
    await box.installUnit(unit, serviceUnit(unit, 'reload', {
      tendArgs: ['--workers', '2', '--ready', 'notify', '--listen', 'tcp://127.0.0.1:8091', '--control', '/run/ctl-reload.sock'],
      env: { GO_FILE: '/run/harness/reload-go-{generation}' },
      service: `ExecReload=${TEND} reload --control /run/ctl-reload.sock\nTimeoutSec=30`,
    }));
    assert.equal((await box.ctl('start', unit)).code, 0);
    assert.equal((await request(box, 8091)).generation, '0');

    assert.equal((await box.ctl('reload', '--no-block', unit)).code, 0);
    const reloading = await box.waitFor(unit, (p) => p['ActiveState'] !== 'active', PROPS, 15_000);
    assert.equal(reloading['ActiveState'], 'reloading');
    // Generation 1 is held by its go-file: the unit stays "reloading" and generation 0 keeps serving meanwhile.
    await events(unit).waitEvent(is('spawned', (e) => e.generation === 1), 15_000);
    assert.equal((await box.show(unit, PROPS))['ActiveState'], 'reloading');
    assert.equal((await request(box, 8091)).generation, '0');

    touch('reload-go-1');
    const done = await box.waitFor(unit, (p) => p['ActiveState'] !== 'reloading', PROPS, 20_000);
    assert.equal(done['ActiveState'], 'active');
    assert.equal(done['ReloadResult'], 'success');
    assert.equal(done['StatusText'], '2/2 workers ready, generation 1');
    assert.equal((await request(box, 8091)).generation, '1');
    await box.ctl('stop', unit);
  });

  it('reload by SIGHUP (what Type=notify-reload does on systemd >= 253): RELOADING=1 + MONOTONIC_USEC, then READY=1', T, async () => {
    const box = b();
    const unit = 'hup.service';
    touch('hup-go-0');
    await box.installUnit(unit, serviceUnit(unit, 'reload by signal', {
      tendArgs: ['--workers', '1', '--ready', 'notify'],
      env: { GO_FILE: '/run/harness/hup-go-{generation}' },
    }));
    assert.equal((await box.ctl('start', unit)).code, 0);
    assert.equal((await box.ctl('kill', '--kill-whom=main', '--signal=SIGHUP', unit)).code, 0);
    const reloading = await box.waitFor(unit, (p) => p['ActiveState'] !== 'active', PROPS, 15_000);
    assert.equal(reloading['ActiveState'], 'reloading', 'systemd saw RELOADING=1');
    assert.equal(reloading['StatusText'], 'reloading');
    touch('hup-go-1');
    const done = await box.waitFor(unit, (p) => p['ActiveState'] !== 'reloading', PROPS, 20_000);
    assert.equal(done['ActiveState'], 'active');
    assert.equal(done['StatusText'], '1/1 workers ready, generation 1');
    await box.ctl('stop', unit);
  });

  it('a reload to a bad build fails, the unit stays active and the old workers keep serving', T, async () => {
    const box = b();
    const unit = 'badbuild.service';
    touch('badbuild-build', 'good\n');
    await box.installUnit(unit, serviceUnit(unit, 'bad build', {
      tendArgs: ['--workers', '2', '--ready', 'notify', '--listen', 'tcp://127.0.0.1:8092', '--control', '/run/ctl-badbuild.sock', '--max-restarts', '3'],
      env: { BUILD_FILE: '/run/harness/badbuild-build' },
      service: `ExecReload=${TEND} reload --control /run/ctl-badbuild.sock\nTimeoutSec=30`,
    }));
    assert.equal((await box.ctl('start', unit)).code, 0);
    const before = await tendStatus(box, '/run/ctl-badbuild.sock');
    const oldPids = new Set(before.workers.map((w) => w.pid));
    assert.equal(oldPids.size, 2);

    touch('badbuild-build', 'crash\n');
    const reload = await box.ctl('reload', unit);
    assert.notEqual(reload.code, 0, 'systemctl reload reports the failed reload');
    const after = await box.waitFor(unit, (p) => p['ActiveState'] !== 'reloading', PROPS, 15_000);
    assert.equal(after['ActiveState'], 'active');
    assert.equal(after['SubState'], 'running');
    assert.equal(after['ReloadResult'], 'exit-code');
    assert.equal(after['StatusText'], '2/2 workers ready, generation 0 (last reload failed, rolled back)');
    for (let i = 0; i < 4; i++) {
      const answer = await request(box, 8092);
      assert.equal(answer.build, 'good');
      assert.ok(oldPids.has(answer.pid), `answered by old worker ${answer.pid}`);
    }
    const status = await tendStatus(box, '/run/ctl-badbuild.sock');
    assert.equal(status.lastReload?.ok, false);
    assert.deepEqual(new Set(status.workers.map((w) => w.pid)), oldPids);
    await box.ctl('stop', unit);
  });

  it('watchdog: a stopped tend (SIGSTOP) stops pinging and systemd kills it with Result=watchdog', T, async (t) => {
    const box = b();
    const unit = 'wdstop.service';
    const wdProps = [...PROPS, 'WatchdogUSec', 'WatchdogTimestampMonotonic'];
    await box.installUnit(unit, serviceUnit(unit, 'watchdog stop', { tendArgs: ['--workers', '1', '--ready', 'notify'], service: 'WatchdogSec=2\nTimeoutStopSec=3' }));
    assert.equal((await box.ctl('start', unit)).code, 0);
    const up = await box.show(unit, wdProps);
    assert.equal(up['WatchdogUSec'], '2s');
    // Pings arrive: the watchdog timestamp moves forward while the unit stays active.
    const pinged = await box.waitFor(unit, (p) => p['ActiveState'] !== 'active' || Number(p['WatchdogTimestampMonotonic']) > Number(up['WatchdogTimestampMonotonic']), wdProps, 5_000);
    assert.equal(pinged['ActiveState'], 'active');
    const stop = await box.exec('kill', '-STOP', up['MainPID'] ?? '');
    assert.equal(stop.code, 0, stop.stderr);
    const t0 = performance.now();
    const dead = await box.waitFor(unit, (p) => p['ActiveState'] === 'failed' || p['ActiveState'] === 'inactive', wdProps, 15_000);
    t.diagnostic(`systemd killed the stopped tend ${Math.round(performance.now() - t0)} ms after SIGSTOP (WatchdogSec=2)`);
    assert.equal(dead['Result'], 'watchdog');
    await waitForJournal(box, unit, /[Ww]atchdog timeout/, 5_000);
    await box.ctl('reset-failed', unit);
  });

  it('watchdog: a tend whose loop keeps stalling (stopped 1.5 s of every 1.7 s: a naive pinger would still ping in time) is killed', T, async (t) => {
    const box = b();
    const unit = 'wdstall.service';
    await box.installUnit(unit, serviceUnit(unit, 'watchdog stall', { tendArgs: ['--workers', '1', '--ready', 'notify'], service: 'WatchdogSec=2\nTimeoutStopSec=3' }));
    assert.equal((await box.ctl('start', unit)).code, 0);
    const pid = (await box.show(unit, PROPS))['MainPID'] ?? '';
    // Every resume would let a naive pinger ping (1.7 s apart, inside WatchdogSec=2); tend's loop-lag check must not.
    const t0 = performance.now();
    const stalls = box.exec('sh', '-c', `n=0; while [ $n -lt 10 ] && kill -STOP ${pid} 2>/dev/null; do sleep 1.5; kill -CONT ${pid} 2>/dev/null; sleep 0.2; n=$((n+1)); done; echo $n`);
    const dead = await box.waitFor(unit, (p) => p['ActiveState'] === 'failed' || p['ActiveState'] === 'inactive', PROPS, 19_000);
    const cycles = (await stalls).stdout.trim();
    t.diagnostic(`killed after ${Math.round(performance.now() - t0)} ms (${cycles} stall cycles)`);
    assert.equal(dead['Result'], 'watchdog');
    await waitForJournal(box, unit, /event loop blocked for \d+(\.\d+)?m?s .*withholding WATCHDOG=1/, 5_000);
    await box.ctl('reset-failed', unit);
  });

  it('stop: STOPPING=1 and "deactivating" while workers drain, then inactive with Result=success inside TimeoutStopSec', T, async (t) => {
    const box = b();
    const unit = 'stop.service';
    await box.installUnit(unit, serviceUnit(unit, 'stop', { tendArgs: ['--workers', '2', '--ready', 'notify'], env: { DRAIN_MS: '1500' }, service: 'TimeoutStopSec=10' }));
    assert.equal((await box.ctl('start', unit)).code, 0);
    const t0 = performance.now();
    assert.equal((await box.ctl('stop', '--no-block', unit)).code, 0);
    const draining = await box.waitFor(unit, (p) => p['ActiveState'] !== 'active', PROPS, 10_000);
    assert.equal(draining['ActiveState'], 'deactivating');
    const told = await box.waitFor(unit, (p) => p['StatusText'] === 'stopping: draining workers' || p['ActiveState'] !== 'deactivating', PROPS, 10_000);
    assert.equal(told['ActiveState'], 'deactivating', 'tend said STOPPING=1 while the workers drained');
    const stopped = await box.waitFor(unit, (p) => p['ActiveState'] !== 'deactivating', PROPS, 15_000);
    const ms = performance.now() - t0;
    t.diagnostic(`stop took ${Math.round(ms)} ms (workers drain for 1500 ms; TimeoutStopSec=10)`);
    assert.equal(stopped['ActiveState'], 'inactive');
    assert.equal(stopped['Result'], 'success');
    assert.ok(ms >= 1_400 && ms < 10_000, `${Math.round(ms)} ms`);
    const log = events(unit);
    await log.waitEvent(is('exit', (e) => e.code === 0), 5_000);
    assert.ok(log.eventsOf('exited').every((e) => e.reason === 'shutdown' && !e.forced && e.status?.code === 0), 'both workers drained and exited 0');
  });

  it('stop: a drain longer than TimeoutStopSec is covered by EXTEND_TIMEOUT_USEC and still ends with Result=success', T, async (t) => {
    const box = b();
    const unit = 'extend.service';
    await box.installUnit(unit, serviceUnit(unit, 'stop extended', {
      tendArgs: ['--workers', '2', '--ready', 'notify', '--stop', 'TERM:20s'],
      env: { DRAIN_MS: '4000' },
      service: 'TimeoutStopSec=2',
    }));
    assert.equal((await box.ctl('start', unit)).code, 0);
    const t0 = performance.now();
    assert.equal((await box.ctl('stop', '--no-block', unit)).code, 0);
    const stopped = await box.waitFor(unit, (p) => p['ActiveState'] === 'inactive' || p['ActiveState'] === 'failed', PROPS, 20_000);
    const ms = performance.now() - t0;
    t.diagnostic(`stop took ${Math.round(ms)} ms with TimeoutStopSec=2 and a 4 s drain`);
    assert.equal(stopped['Result'], 'success', 'systemd did not time the stop out');
    assert.ok(ms > 3_500, `the drain really outlasted TimeoutStopSec (${Math.round(ms)} ms)`);
  });

  it('socket activation: a .socket unit\'s TCP and unix sockets reach the workers, and survive a restart of tend', T, async () => {
    const box = b();
    await box.installUnit('sa.socket', `[Unit]
Description=tend test socket activation
DefaultDependencies=no

[Socket]
ListenStream=127.0.0.1:8095
ListenStream=/run/sa-app.sock
FileDescriptorName=web
`);
    await box.installUnit('sa.service', serviceUnit('sa.service', 'socket activation', {
      tendArgs: ['--workers', '2', '--ready', 'notify', '--control', '/run/ctl-sa.sock'],
      unit: 'Requires=sa.socket\nAfter=sa.socket',
    }));
    assert.equal((await box.ctl('start', 'sa.socket')).code, 0);
    assert.equal((await box.show('sa.service', PROPS))['ActiveState'], 'inactive');
    // The first connection starts the service; it waits in the socket's queue until a worker accepts it.
    const first = await request(box, 8095);
    const service = await box.waitFor('sa.service', (p) => p['ActiveState'] !== 'activating', PROPS, 15_000);
    assert.equal(service['ActiveState'], 'active');
    const workers = new Set((await tendStatus(box, '/run/ctl-sa.sock')).workers.map((w) => w.pid));
    // Each worker got systemd's two sockets, under the name systemd gave them, as fds 3 and 4.
    for (const pid of workers) {
      const environ = await box.exec('cat', `/proc/${pid}/environ`);
      assert.equal(environ.code, 0, environ.stderr);
      const env = Object.fromEntries(environ.stdout.split('\0').filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
      assert.deepEqual([env['LISTEN_FDS'], env['LISTEN_FDNAMES'], env['TEND_LISTEN_MAP']], ['2', 'web:web', '3=tcp:127.0.0.1:8095,4=unix:/run/sa-app.sock']);
    }
    assert.ok(workers.has(first.pid), `served by worker ${first.pid} of ${[...workers].join(', ')}`);
    assert.ok(workers.has((await request(box, '/run/sa-app.sock')).pid), 'the unix socket reaches a worker too');

    // tend exits; systemd keeps the sockets (tend must not unlink /run/sa-app.sock), and the next start gets them again.
    assert.equal((await box.ctl('restart', 'sa.service')).code, 0);
    const again = new Set((await tendStatus(box, '/run/ctl-sa.sock')).workers.map((w) => w.pid));
    assert.ok(again.has((await request(box, '/run/sa-app.sock')).pid));
    assert.ok(again.has((await request(box, 8095)).pid));
    await box.ctl('stop', 'sa.service', 'sa.socket');
  });
});
