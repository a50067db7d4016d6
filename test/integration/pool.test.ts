// Worker pools end to end: real workers, real sockets on loopback, real signals.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, describe, it } from 'node:test';
import { get, loadUntil } from '../helpers/http.js';
import { descendants, fixture, is, killAll, procStat, shellCode, start, startTend, tendBin, until, type LoggedEvent, type Proc, type TendProc } from '../helpers/tend.js';

afterEach(killAll);
const T = { timeout: 30_000 };
const dir = mkdtempSync(join(tmpdir(), 'tend-pool-'));
after(() => { rmSync(dir, { recursive: true, force: true }); });
let n = 0;
const scratch = (name: string): string => join(dir, `${n++}-${name}`);

// Stop tend the way an orchestrator does and wait: tend then stops (and, at the deadline, kills) its workers, so
// nothing outlives the test (a SIGKILLed tend would leave its workers to init).
async function stopAndWait(t: Proc): Promise<void> {
  process.kill(t.pid, 'SIGTERM');
  assert.equal(shellCode(await t.exited(10_000)), 0);
}

// The environment the kernel holds for a process tend started.
function environOf(pid: number): Record<string, string> {
  return Object.fromEntries(readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
}

// The port of tend's --listen tcp://127.0.0.1:0 socket, as tend hands it to its first worker (PORT).
async function portOf(t: TendProc): Promise<number> {
  const first = await t.waitEvent(is('spawned', (e) => e.role === 'worker'));
  return Number(environOf(first.pid)['PORT']);
}

function startApp(args: string[], build: string, env: NodeJS.ProcessEnv = {}): { t: TendProc; buildFile: string } {
  const buildFile = scratch('build');
  writeFileSync(buildFile, build);
  const t = startTend(['run', ...args, '--', 'node', fixture('http-app.js')], { env: { ...process.env, BUILD_FILE: buildFile, HANDLER_MS: '5', ...env } });
  return { t, buildFile };
}

// For one slot's replacement (new pid): it was ready before the old pid was sent SIGTERM. Compares positions in the
// event stream, which is in the order things happened.
function readyBeforeStop(events: readonly LoggedEvent[], slot: number, oldPid: number): boolean {
  const readyAt = events.findIndex((e) => e.type === 'ready' && e.slot === slot && e.pid !== oldPid);
  const stopAt = events.findIndex((e) => e.type === 'signalled' && e.pid === oldPid && e.signal === 'SIGTERM' && e.why === 'stop');
  return readyAt >= 0 && stopAt > readyAt;
}

describe('pool: workers and sockets', () => {
  it('runs N workers with their slot, count and generation, behind one tend-owned socket', T, async () => {
    const { t } = startApp(['--workers', '3', '--listen', 'tcp://127.0.0.1:0'], 'good');
    const port = await portOf(t);
    const ready = await t.waitEvent(is('service-ready'));
    assert.deepEqual([ready.ready, ready.desired, ready.generation], [3, 3, 0]);
    // Every worker's environment, as the kernel holds it.
    const workers = descendants(t.pid).filter((p) => procStat(p)?.ppid === t.pid);
    assert.equal(workers.length, 3);
    assert.deepEqual(new Set(workers), new Set(t.eventsOf('spawned').map((e) => e.pid)));
    const envs = workers.map(environOf);
    assert.deepEqual(envs.map((e) => e['TEND_WORKER_INDEX']).sort(), ['0', '1', '2']);
    for (const [i, e] of envs.entries()) {
      assert.equal(e['TEND_WORKER_COUNT'], '3');
      assert.equal(e['TEND_GENERATION'], '0');
      assert.equal(e['LISTEN_FDS'], '1');
      assert.equal(e['LISTEN_PID'], String(workers[i]));
      assert.equal(e['PORT'], String(port));
    }
    const answer = await get(port);
    assert.equal(answer.count, '3');
    process.kill(t.pid, 'SIGTERM');
    assert.equal(shellCode(await t.exited()), 0);
  });

  it('keeps a unix socket with its mode and group while the pool has zero workers, and serves again after', T, async () => {
    const sock = scratch('app.sock');
    // Restarts 0.5-1 s apart (equal jitter): the slot stays empty long enough to look at the socket.
    const { t, buildFile } = startApp(['--workers', '1', '--listen', `unix:${sock}?mode=0660&group=nogroup`, '--restart-delay', '1s',
      '--restart-max-delay', '1s', '--on-crash-loop', 'retry'], 'crash', { LISTEN_PATH: sock });
    const crashed = await t.waitEvent(is('exited', (e) => e.status?.code === 1 && e.reason === null));
    const restart = await t.waitEvent(is('restart-scheduled'));
    const check = (): void => {
      const st = statSync(sock);
      assert.ok(st.isSocket());
      assert.equal(st.mode & 0o777, 0o660);
      assert.equal(st.gid, 65534);
    };
    check();
    // The socket was checked while the pool had zero workers: the crashed one was gone and no new one had started.
    assert.equal(procStat(crashed.pid), null);
    assert.equal(t.eventsOf('spawned').length, 1, `no restart yet (restart due ${restart.delayMs} ms after ${restart.at})`);
    writeFileSync(buildFile, 'good');
    await t.waitEvent(is('service-ready'), 10_000);
    const answer = await get(sock);
    assert.equal(answer.build, 'good');
    check();
    process.kill(t.pid, 'SIGTERM');
    assert.equal(shellCode(await t.exited()), 0);
  });

  it('forwards other signals to every worker', T, async () => {
    const t = startTend(['run', '--workers', '2', '--ready', 'notify', '--stop', 'TERM:300ms', '--', 'node', fixture('stubborn.js')]);
    await t.waitEvent(is('service-ready', (e) => e.ready === 2));
    process.kill(t.pid, 'SIGUSR2');
    await until(() => (t.stdout().match(/got SIGUSR2/g) ?? []).length === 2, 5_000, 'both workers got SIGUSR2');
    const forwarded = await t.waitEvents(is('signalled', (e) => e.why === 'forward'), 2);
    assert.deepEqual(forwarded.map((e) => [e.signal, e.to]), [['SIGUSR2', 'group'], ['SIGUSR2', 'group']]);
    assert.deepEqual(new Set(forwarded.map((e) => e.pid)), new Set(t.eventsOf('spawned').map((e) => e.pid)));
    await stopAndWait(t);
  });
});

describe('pool: crash restarts', () => {
  it('backs off exponentially and gives up with exit 75, saying why with the last output', T, async () => {
    // --ready notify: the app never says READY=1, so no start counts as up however slow the boot (with auto readiness
    // and no socket, 1 s of uptime would count as ready, and a loaded machine can take that long to crash).
    const { t } = startApp(['--workers', '1', '--ready', 'notify', '--restart-delay', '20ms', '--max-restarts', '3'], 'crash');
    const exit = await t.exited(20_000);
    assert.equal(shellCode(exit), 75);
    const delays = t.eventsOf('restart-scheduled').map((e) => e.delayMs);
    assert.equal(delays.length, 3);
    for (let i = 1; i < delays.length; i++) assert.ok((delays[i] ?? 0) >= (delays[i - 1] ?? 0), `delays grow: ${delays.join(', ')}`);
    const gaveUp = await t.waitEvent(is('gave-up'));
    assert.match(gaveUp.detail, /^4 consecutive starts failed/);
    // Every crash report carries what the worker said last, and so does the stderr the user reads.
    const exits = t.eventsOf('exited');
    assert.equal(exits.length, 4);
    for (const e of exits) {
      assert.deepEqual([e.status, e.reason, e.wasReady], [{ code: 1, signal: null }, null, false]);
      assert.deepEqual(e.lastLines, ['boot: cannot find module ./config (simulated bad build)']);
    }
    assert.deepEqual(t.eventsOf('service-ended').map((e) => [e.why, e.code]), [['gave-up', 75]]);
    assert.match(t.stderr(), /giving up on worker 0: 4 consecutive starts failed[^\n]*Last failure: [^\n]*exit code 1[^\n]*\n {2}\| boot: cannot find module \.\/config/);
  });

  it('with --on-crash-loop retry, keeps trying at the cap and stops cleanly on SIGTERM', T, async () => {
    const { t } = startApp(['--workers', '1', '--ready', 'notify', '--restart-delay', '10ms', '--restart-max-delay', '40ms', '--max-restarts', '2', '--on-crash-loop', 'retry'], 'crash');
    const looping = await t.waitEvent(is('restart-scheduled', (e) => e.crashLooping), 10_000);
    assert.ok(looping.delayMs <= 40 && looping.failures > 2, JSON.stringify(looping));
    process.kill(t.pid, 'SIGTERM');
    assert.equal(shellCode(await t.exited()), 0);
    assert.deepEqual(t.eventsOf('gave-up'), []);
  });

  it('never fails when a worker it signals has already gone (the ESRCH race)', T, async () => {
    for (let i = 0; i < 10; i++) {
      const t = startTend(['run', '--workers', '2', '--ready', 'delay:50ms', '--', 'sleep', '30']);
      await t.waitEvent(is('service-ready'));
      const workers = descendants(t.pid).filter((p) => procStat(p)?.ppid === t.pid);
      // One worker dies behind tend's back at the same moment tend is told to stop everyone.
      process.kill(workers[0] ?? 0, 'SIGKILL');
      process.kill(t.pid, 'SIGTERM');
      const exit = await t.exited();
      assert.equal(shellCode(exit), 0, t.stderr());
      assert.deepEqual(t.eventsOf('exit').map((e) => e.code), [0]);
      assert.doesNotMatch(t.stderr(), /internal error|ESRCH/);
    }
  });
});

describe('pool: rolling reload', () => {
  it('replaces every worker with a ready one before stopping the old, on SIGHUP', T, async () => {
    const { t } = startApp(['--workers', '2', '--listen', 'tcp://127.0.0.1:0'], 'good');
    const port = await portOf(t);
    await t.waitEvent(is('service-ready'));
    const old = t.eventsOf('spawned');
    process.kill(t.pid, 'SIGHUP');
    const done = await t.waitEvent(is('reload-finished'), 15_000);
    assert.deepEqual([done.ok, done.generation, done.detail], [true, 1, '2 of 2 replaced']);
    const answers = await Promise.all([get(port), get(port), get(port), get(port)]);
    for (const a of answers) assert.equal(a.generation, '1');
    // Per slot: the replacement is ready before the old worker is sent SIGTERM, and the old one exits for the reload.
    for (const o of old) {
      assert.ok(readyBeforeStop(t.events(), o.slot, o.pid), `slot ${o.slot}: new worker ready, then old one stopped`);
      const gone = await t.waitEvent(is('exited', (e) => e.pid === o.pid));
      assert.equal(gone.reason, 'reload');
    }
    process.kill(t.pid, 'SIGTERM');
    assert.equal(shellCode(await t.exited()), 0);
  });

  it('a reload to a build that crashes at boot is rolled back: old workers keep serving, tend reload exits 65', T, async () => {
    const control = scratch('ctl.sock');
    const { t, buildFile } = startApp(['--workers', '2', '--listen', 'tcp://127.0.0.1:0', '--control', control], 'good');
    const port = await portOf(t);
    await t.waitEvent(is('service-ready'));
    const oldPids = new Set(descendants(t.pid).filter((p) => procStat(p)?.ppid === t.pid));
    assert.equal(oldPids.size, 2);
    writeFileSync(buildFile, 'crash');
    const reload = start([tendBin, 'reload', '--control', control]);
    assert.equal(shellCode(await reload.exited(15_000)), 65);
    assert.match(reload.stderr(), /reload failed: replacement for worker 0 \(pid \d+\) exited with exit code 1 before it was ready/);
    const failed = await t.waitEvent(is('reload-finished'));
    assert.deepEqual([failed.ok, failed.generation], [false, 0]);
    assert.deepEqual(t.eventsOf('exited').map((e) => [e.generation, e.status?.code, e.reason, oldPids.has(e.pid)]), [[1, 1, null, false]]);
    const answers = await Promise.all([get(port), get(port), get(port)]);
    for (const a of answers) {
      assert.equal(a.build, 'good');
      assert.ok(oldPids.has(a.pid), `answered by an old worker (${a.pid})`);
    }
    const status = start([tendBin, 'status', '--control', control]);
    assert.equal(shellCode(await status.exited()), 0);
    const parsed = JSON.parse(status.stdout()) as { lastReload: { ok: boolean }; ready: number; generation: number; workers: { generation: number }[] };
    assert.equal(parsed.lastReload.ok, false);
    assert.equal(parsed.generation, 0, 'the pool is still on the generation that serves');
    assert.deepEqual(parsed.workers.map((w) => w.generation), [0, 0]);
    assert.equal(parsed.ready, 2);
    process.kill(t.pid, 'SIGTERM');
    assert.equal(shellCode(await t.exited()), 0);
  });

  it('a reload to a build that never becomes ready is rolled back at the ready timeout', T, async () => {
    const control = scratch('ctl.sock');
    // The ready timeout applies to the first boot too: 2 s leaves room for a slow start on a loaded machine.
    const { t, buildFile } = startApp(['--workers', '2', '--listen', 'tcp://127.0.0.1:0', '--control', control, '--ready-timeout', '2s'], 'good');
    const port = await portOf(t);
    await t.waitEvent(is('service-ready'));
    writeFileSync(buildFile, 'never');
    const reload = start([tendBin, 'reload', '--control', control]);
    assert.equal(shellCode(await reload.exited(15_000)), 65);
    assert.match(reload.stderr(), /reload failed: replacement for worker 0 \(pid \d+\) was not ready within/);
    // The replacement was stopped at its ready timeout, 2 s after it started; no serving worker was touched.
    const replacement = await t.waitEvent(is('spawned', (e) => e.generation === 1));
    const stopped = await t.waitEvent(is('exited', (e) => e.pid === replacement.pid));
    assert.equal(stopped.reason, 'not-ready');
    assert.ok(stopped.at - replacement.at >= 1_990, `stopped ${stopped.at - replacement.at} ms after it started`);
    const serving = t.eventsOf('ready').map((e) => e.pid);
    assert.deepEqual(t.eventsOf('exited').filter((e) => serving.includes(e.pid)), []);
    assert.deepEqual(t.eventsOf('spawned').filter((e) => e.generation === 1).map((e) => e.pid), [replacement.pid], 'the rollout stopped at its first failure');
    assert.equal((await get(port)).build, 'good');
    process.kill(t.pid, 'SIGTERM');
    assert.equal(shellCode(await t.exited()), 0);
  });

  it('a SIGHUP during a reload runs exactly one more reload after it', T, async () => {
    const { t } = startApp(['--workers', '2', '--listen', 'tcp://127.0.0.1:0'], 'good');
    await t.waitEvent(is('service-ready'));
    process.kill(t.pid, 'SIGHUP');
    await t.waitEvent(is('reload-started', (e) => e.generation === 1 && e.workers === 2));
    process.kill(t.pid, 'SIGHUP');
    process.kill(t.pid, 'SIGHUP');
    await t.waitEvent(is('reload-finished', (e) => e.generation === 2), 20_000);
    assert.deepEqual(t.eventsOf('reload-started').map((e) => e.generation), [1, 2]);
    assert.deepEqual(t.eventsOf('reload-finished').map((e) => [e.generation, e.ok]), [[1, true], [2, true]]);
    // The kernel may merge the two SIGHUPs into one; either way they share the one reload after the first.
    assert.ok(t.eventsOf('reload-coalesced').length >= 1, 'the SIGHUPs during the first reload joined a second one');
    process.kill(t.pid, 'SIGTERM');
    assert.equal(shellCode(await t.exited()), 0);
  });

  it('drops no request during reloads under keep-alive load (preload drain)', { timeout: 60_000 }, async () => {
    const { t } = startApp(['--workers', '2', '--listen', 'tcp://127.0.0.1:0'], 'good', { HANDLER_MS: '20' });
    const port = await portOf(t);
    await t.waitEvent(is('service-ready'));
    let reloads = 0;
    const reloading = (async () => {
      for (; reloads < 3; reloads++) {
        process.kill(t.pid, 'SIGHUP');
        const done = await t.waitEvent(is('reload-finished', (e) => e.generation === reloads + 1), 20_000);
        assert.ok(done.ok, done.detail);
      }
    })();
    const result = await loadUntil(port, 20, reloading);
    assert.equal(reloads, 3);
    const stops = t.events().filter((e) => e.type === 'signalled' || e.type === 'exited' || e.type === 'ready').map((e) => JSON.stringify(e));
    assert.equal(result.errors, 0, `errors: ${JSON.stringify(result.errorKinds)}\n${stops.join('\n')}`);
    assert.ok(result.ok > 100, `requests served: ${result.ok}`);
    process.kill(t.pid, 'SIGTERM');
    assert.equal(shellCode(await t.exited()), 0);
  });
});

describe('pool: stop and guards', () => {
  it('stops all workers in parallel under one deadline', T, async () => {
    const t = startTend(['run', '--workers', '3', '--ready', 'notify', '--stop', 'TERM:800ms', '--', 'node', fixture('stubborn.js')]);
    await t.waitEvent(is('service-ready', (e) => e.ready === 3));
    const t0 = Date.now();
    process.kill(t.pid, 'SIGTERM');
    const exit = await t.exited(10_000);
    const elapsed = Date.now() - t0;
    assert.equal(shellCode(exit), 0);
    assert.equal((t.stdout().match(/got SIGTERM/g) ?? []).length, 3, 'every worker got TERM');
    const kills = t.eventsOf('signalled').filter((e) => e.signal === 'SIGKILL');
    assert.equal(kills.length, 3, 'every worker was killed at the deadline');
    assert.ok(t.eventsOf('exited').every((e) => e.forced && e.reason === 'shutdown'));
    assert.ok(elapsed >= 800 && elapsed < 2_000, `one deadline for all (${elapsed} ms), not 3 x 800 ms`);
  });

  it('replaces a worker over its memory limit: the replacement is ready before the old one is stopped', T, async () => {
    const t = startTend(['run', '--workers', '1', '--ready', 'notify', '--stop', 'TERM:300ms', '--max-memory', '1M', '--guard-window', '1s', '--', 'node', fixture('stubborn.js')]);
    const first = await t.waitEvent(is('ready'));
    const unhealthy = await t.waitEvent(is('replacing'), 10_000);
    assert.equal(unhealthy.pid, first.pid);
    assert.match(unhealthy.why, /--max-memory/);
    await t.waitEvent(is('signalled', (e) => e.pid === first.pid && e.signal === 'SIGTERM' && e.to === 'group'), 10_000);
    assert.ok(readyBeforeStop(t.events(), 0, first.pid), 'the replacement became ready before the old worker was stopped');
    await stopAndWait(t);
  });
});

describe('pool: per-worker watchdog', () => {
  for (const trigger of [false, true]) {
    it(trigger ? 'WATCHDOG=trigger replaces the worker at once' : 'a worker whose WATCHDOG=1 pings stop is replaced, the replacement ready first', T, async () => {
      // The trigger case pings slowly (every 1 s of a 2 s watchdog), so silence cannot be judged before the trigger arrives.
      const t = startTend(['run', '--workers', '1', '--ready', 'notify', '--watchdog', trigger ? '2s' : '400ms', '--', 'node', fixture('watchdog-worker.js')],
        { env: { ...process.env, PINGS: trigger ? '1' : '4', TRIGGER: trigger ? '1' : '0' } });
      await t.waitEvent(is('service-ready'));
      const first = await t.waitFor(/worker (\d+) stopped pinging/);
      const old = Number(first[1]);
      const unhealthy = await t.waitEvent(is('replacing', (e) => e.pid === old), 10_000);
      assert.match(unhealthy.why, trigger ? /WATCHDOG=trigger/ : /no WATCHDOG=1 for/);
      await t.waitEvent(is('signalled', (e) => e.pid === old && e.signal === 'SIGTERM' && e.to === 'group'), 10_000);
      assert.ok(readyBeforeStop(t.events(), 0, old), 'replacement ready before the old worker was stopped');
      await stopAndWait(t);
    });
  }
});

describe('pool: configuration', () => {
  it('reads a YAML config file; flags win; errors name the file and key', T, async () => {
    const file = scratch('tend.yaml');
    writeFileSync(file, 'workers: 2\nready: delay:50ms\nstop: TERM:2s\ncommand: [sleep, "30"]\n');
    const t = startTend(['run', '--config', file, '--workers', '1']);
    const ready = await t.waitEvent(is('service-ready'));
    assert.deepEqual([ready.ready, ready.desired], [1, 1]);
    process.kill(t.pid, 'SIGTERM');
    assert.equal(shellCode(await t.exited()), 0);
    const bad = scratch('bad.yaml');
    writeFileSync(bad, 'workers: 2\nstop: TERM:10\ncommand: sleep 1\n');
    const b = startTend(['run', '--config', bad]);
    assert.equal(shellCode(await b.exited()), 64);
    assert.match(b.stderr(), /bad\.yaml: key "stop": --stop "TERM:10": duration "10" has no unit/);
    const unknown = scratch('unknown.json');
    writeFileSync(unknown, JSON.stringify({ workers: 2, wrokers: 3, command: ['true'] }));
    const u = startTend(['run', '--config', unknown]);
    assert.equal(shellCode(await u.exited()), 64);
    assert.match(u.stderr(), /unknown\.json: unknown key "wrokers"/);
    const missing = startTend(['run', '--config', scratch('nope.yaml')]);
    assert.equal(shellCode(await missing.exited()), 78);
  });

  it('rejects pool and restart flags on a single command that has no pool or restarts', T, async () => {
    // (--listen applies to a single command too since the one flag table: it gets LISTEN_FDS like a worker.)
    const t = startTend(['run', '--reload-surge', '2', '--', 'true']);
    assert.equal(shellCode(await t.exited()), 64);
    assert.match(t.stderr(), /--reload-surge: only applies to a worker pool; add --workers N/);
    const r = startTend(['run', '--max-restarts', '2', '--', 'true']);
    assert.equal(shellCode(await r.exited()), 64);
    assert.match(r.stderr(), /--max-restarts: only applies to a service that restarts; add --restart on-failure or always, or --workers N/);
    assert.deepEqual([...t.eventsOf('spawned'), ...r.eventsOf('spawned')], [], 'nothing was started');
  });
});
