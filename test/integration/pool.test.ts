// Worker pools end to end: real workers, real sockets on loopback, real signals.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, describe, it } from 'node:test';
import { get, loadUntil } from '../helpers/http.js';
import { descendants, fixture, killAll, procStat, shellCode, start, startTend, tendBin, until, type Proc } from '../helpers/tend.js';

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

async function portOf(t: Proc): Promise<number> {
  const m = await t.waitFor(/listening on tcp:127\.0\.0\.1:(\d+)/);
  return Number(m[1]);
}

function startApp(args: string[], build: string, env: NodeJS.ProcessEnv = {}): { t: Proc; buildFile: string } {
  const buildFile = scratch('build');
  writeFileSync(buildFile, build);
  const t = startTend(['run', '-v', ...args, '--', 'node', fixture('http-app.js')], { env: { ...process.env, BUILD_FILE: buildFile, HANDLER_MS: '5', ...env } });
  return { t, buildFile };
}

describe('pool: workers and sockets', () => {
  it('runs N workers with their slot, count and generation, behind one tend-owned socket', T, async () => {
    const { t } = startApp(['--workers', '3', '--listen', 'tcp://127.0.0.1:0'], 'good');
    const port = await portOf(t);
    await t.waitFor(/pool ready: 3\/3 workers ready, generation 0/);
    // Every worker's environment, as the kernel holds it.
    const workers = descendants(t.pid).filter((p) => procStat(p)?.ppid === t.pid);
    assert.equal(workers.length, 3);
    const envs = workers.map((p) => Object.fromEntries(readFileSync(`/proc/${p}/environ`, 'utf8').split('\0').filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)])));
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
    const { t, buildFile } = startApp(['--workers', '1', '--listen', `unix:${sock}?mode=0660&group=nogroup`, '--restart-delay', '200ms',
      '--restart-max-delay', '300ms', '--on-crash-loop', 'retry'], 'crash', { LISTEN_PATH: sock });
    await t.waitFor(/worker 0 exited with exit code 1[^\n]*restarting/);
    const check = (): void => {
      const st = statSync(sock);
      assert.ok(st.isSocket());
      assert.equal(st.mode & 0o777, 0o660);
      assert.equal(st.gid, 65534);
    };
    check(); // zero workers alive right now: the socket is tend's
    writeFileSync(buildFile, 'good');
    await t.waitFor(/pool ready/, 10_000);
    const answer = await get(sock);
    assert.equal(answer.build, 'good');
    check();
    process.kill(t.pid, 'SIGTERM');
    assert.equal(shellCode(await t.exited()), 0);
  });

  it('forwards other signals to every worker', T, async () => {
    const t = startTend(['run', '-v', '--workers', '2', '--ready', 'notify', '--stop', 'TERM:300ms', '--', 'node', fixture('stubborn.js')]);
    await t.waitFor(/pool ready: 2\/2/);
    process.kill(t.pid, 'SIGUSR2');
    await until(() => (t.stdout().match(/got SIGUSR2/g) ?? []).length === 2, 5_000, 'both workers got SIGUSR2');
    await stopAndWait(t);
  });
});

describe('pool: crash restarts', () => {
  it('backs off exponentially and gives up with exit 75, saying why with the last output', T, async () => {
    const { t } = startApp(['--workers', '1', '--restart-delay', '20ms', '--max-restarts', '3'], 'crash');
    const exit = await t.exited(20_000);
    assert.equal(shellCode(exit), 75);
    const delays = [...t.stderr().matchAll(/restarting in (\d+)ms/g)].map((m) => Number(m[1]));
    assert.equal(delays.length, 3);
    for (let i = 1; i < delays.length; i++) assert.ok((delays[i] ?? 0) >= (delays[i - 1] ?? 0), `delays grow: ${delays.join(', ')}`);
    assert.match(t.stderr(), /giving up: 4 consecutive starts failed/);
    assert.match(t.stderr(), /keeps failing: it exited with exit code 1[\s\S]*\| boot: cannot find module \.\/config/);
  });

  it('with --on-crash-loop retry, keeps trying at the cap and stops cleanly on SIGTERM', T, async () => {
    const { t } = startApp(['--workers', '1', '--restart-delay', '10ms', '--restart-max-delay', '40ms', '--max-restarts', '2', '--on-crash-loop', 'retry'], 'crash');
    await t.waitFor(/crash loop: retrying at the cap/, 10_000);
    process.kill(t.pid, 'SIGTERM');
    assert.equal(shellCode(await t.exited()), 0);
  });

  it('never fails when a worker it signals has already gone (the ESRCH race)', T, async () => {
    for (let i = 0; i < 10; i++) {
      const t = startTend(['run', '-v', '--workers', '2', '--ready', 'delay:50ms', '--', 'sleep', '30']);
      await t.waitFor(/pool ready/);
      const workers = descendants(t.pid).filter((p) => procStat(p)?.ppid === t.pid);
      // One worker dies behind tend's back at the same moment tend is told to stop everyone.
      process.kill(workers[0] ?? 0, 'SIGKILL');
      process.kill(t.pid, 'SIGTERM');
      const exit = await t.exited();
      assert.equal(shellCode(exit), 0, t.stderr());
      assert.doesNotMatch(t.stderr(), /internal error|ESRCH/);
    }
  });
});

describe('pool: rolling reload', () => {
  it('replaces every worker with a ready one before stopping the old, on SIGHUP', T, async () => {
    const { t } = startApp(['--workers', '2', '--listen', 'tcp://127.0.0.1:0'], 'good');
    const port = await portOf(t);
    await t.waitFor(/pool ready/);
    process.kill(t.pid, 'SIGHUP');
    await t.waitFor(/reload: generation 1 is serving/, 15_000);
    const answers = await Promise.all([get(port), get(port), get(port), get(port)]);
    for (const a of answers) assert.equal(a.generation, '1');
    // Per slot: the replacement is ready before the old worker is sent SIGTERM.
    const log = t.stderr();
    for (const slot of [0, 1]) {
      const ready = log.search(new RegExp(`worker ${slot} \\(pid \\d+\\) is ready[^\\n]*\\n[\\s\\S]*worker ${slot}: sent SIGTERM`));
      assert.ok(ready >= 0, `slot ${slot}: new worker ready, then old one stopped`);
    }
    process.kill(t.pid, 'SIGTERM');
    assert.equal(shellCode(await t.exited()), 0);
  });

  it('a reload to a build that crashes at boot is rolled back: old workers keep serving, tend reload exits 65', T, async () => {
    const control = scratch('ctl.sock');
    const { t, buildFile } = startApp(['--workers', '2', '--listen', 'tcp://127.0.0.1:0', '--control', control], 'good');
    const port = await portOf(t);
    await t.waitFor(/pool ready/);
    const oldPids = new Set(descendants(t.pid).filter((p) => procStat(p)?.ppid === t.pid));
    assert.equal(oldPids.size, 2);
    writeFileSync(buildFile, 'crash');
    const reload = start([tendBin, 'reload', '--control', control]);
    assert.equal(shellCode(await reload.exited(15_000)), 65);
    assert.match(reload.stderr(), /reload failed and was rolled back: replacement for worker 0 \(pid \d+\) exited with exit code 1 before it was ready/);
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
    const { t, buildFile } = startApp(['--workers', '2', '--listen', 'tcp://127.0.0.1:0', '--control', control, '--ready-timeout', '1s'], 'good');
    const port = await portOf(t);
    await t.waitFor(/pool ready/);
    writeFileSync(buildFile, 'never');
    const reload = start([tendBin, 'reload', '--control', control]);
    assert.equal(shellCode(await reload.exited(15_000)), 65);
    assert.match(reload.stderr(), /not ready within 1s/);
    assert.equal((await get(port)).build, 'good');
    process.kill(t.pid, 'SIGTERM');
    assert.equal(shellCode(await t.exited()), 0);
  });

  it('a SIGHUP during a reload runs exactly one more reload after it', T, async () => {
    const { t } = startApp(['--workers', '2', '--listen', 'tcp://127.0.0.1:0'], 'good');
    await t.waitFor(/pool ready/);
    process.kill(t.pid, 'SIGHUP');
    await t.waitFor(/reload: rolling 2 worker\(s\) to generation 1/);
    process.kill(t.pid, 'SIGHUP');
    process.kill(t.pid, 'SIGHUP');
    await t.waitFor(/reload: generation 2 is serving/, 20_000);
    assert.equal((t.stderr().match(/reload: rolling/g) ?? []).length, 2);
    process.kill(t.pid, 'SIGTERM');
    assert.equal(shellCode(await t.exited()), 0);
  });

  it('drops no request during reloads under keep-alive load (preload drain)', { timeout: 60_000 }, async () => {
    const { t } = startApp(['--workers', '2', '--listen', 'tcp://127.0.0.1:0'], 'good', { HANDLER_MS: '20' });
    const port = await portOf(t);
    await t.waitFor(/pool ready/);
    let reloads = 0;
    const reloading = (async () => {
      for (; reloads < 3; reloads++) {
        process.kill(t.pid, 'SIGHUP');
        await t.waitFor(new RegExp(`reload: generation ${reloads + 1} is serving`), 20_000);
      }
    })();
    const result = await loadUntil(port, 20, reloading);
    assert.equal(reloads, 3);
    assert.equal(result.errors, 0, `errors: ${JSON.stringify(result.errorKinds)}`);
    assert.ok(result.ok > 100, `requests served: ${result.ok}`);
    process.kill(t.pid, 'SIGTERM');
    assert.equal(shellCode(await t.exited()), 0);
  });
});

describe('pool: stop and guards', () => {
  it('stops all workers in parallel under one deadline', T, async () => {
    const t = startTend(['run', '-v', '--workers', '3', '--ready', 'notify', '--stop', 'TERM:800ms', '--', 'node', fixture('stubborn.js')]);
    await t.waitFor(/pool ready: 3\/3/);
    const t0 = Date.now();
    process.kill(t.pid, 'SIGTERM');
    const exit = await t.exited(10_000);
    const elapsed = Date.now() - t0;
    assert.equal(shellCode(exit), 0);
    assert.equal((t.stdout().match(/got SIGTERM/g) ?? []).length, 3, 'every worker got TERM');
    assert.equal((t.stderr().match(/sent SIGKILL/g) ?? []).length, 3, 'every worker was killed at the deadline');
    assert.ok(elapsed >= 800 && elapsed < 2_000, `one deadline for all (${elapsed} ms), not 3 x 800 ms`);
  });

  it('replaces a worker over its memory limit: the replacement is ready before the old one is stopped', T, async () => {
    const t = startTend(['run', '-v', '--workers', '1', '--ready', 'notify', '--stop', 'TERM:300ms', '--max-memory', '1M', '--guard-window', '1s', '--', 'node', fixture('stubborn.js')]);
    await t.waitFor(/pool ready/);
    const m = await t.waitFor(/worker 0 \(pid (\d+)\) is unhealthy: RSS \d+ MiB above --max-memory 1 MiB/, 10_000);
    const old = m[1] ?? '';
    const log = await t.waitFor(new RegExp(`sent SIGTERM to process group ${old}`), 10_000);
    const text = t.stderr();
    const unhealthyAt = text.indexOf(m[0]);
    const later = text.slice(unhealthyAt);
    const readyAt = [...later.matchAll(/worker 0 \(pid (\d+)\) is ready/g)].find((r) => r[1] !== old)?.index ?? -1;
    const stopAt = later.indexOf(log[0]);
    assert.ok(readyAt > 0 && readyAt < stopAt, 'the replacement became ready before the old worker was stopped');
    await stopAndWait(t);
  });
});

describe('pool: per-worker watchdog', () => {
  for (const trigger of [false, true]) {
    it(trigger ? 'WATCHDOG=trigger replaces the worker at once' : 'a worker whose WATCHDOG=1 pings stop is replaced, the replacement ready first', T, async () => {
      const t = startTend(['run', '-v', '--workers', '1', '--ready', 'notify', '--watchdog', '400ms', '--', 'node', fixture('watchdog-worker.js')],
        { env: { ...process.env, PINGS: trigger ? '1' : '4', TRIGGER: trigger ? '1' : '0' } });
      await t.waitFor(/pool ready/);
      const first = await t.waitFor(/worker (\d+) stopped pinging/);
      const old = first[1] ?? '';
      const why = trigger ? 'it sent WATCHDOG=trigger' : 'no WATCHDOG=1 for';
      const unhealthy = await t.waitFor(new RegExp(`worker 0 \\(pid ${old}\\) is unhealthy: ${why}`), 10_000);
      await t.waitFor(new RegExp(`sent SIGTERM to process group ${old}`), 10_000);
      const later = t.stderr().slice(t.stderr().indexOf(unhealthy[0]));
      const readyAt = [...later.matchAll(/worker 0 \(pid (\d+)\) is ready/g)].find((r) => r[1] !== old)?.index ?? -1;
      const stopAt = later.indexOf(`sent SIGTERM to process group ${old}`);
      assert.ok(readyAt > 0 && readyAt < stopAt, 'replacement ready before the old worker was stopped');
      await stopAndWait(t);
    });
  }
});

describe('pool: configuration', () => {
  it('reads a YAML config file; flags win; errors name the file and key', T, async () => {
    const file = scratch('tend.yaml');
    writeFileSync(file, 'workers: 2\nready: delay:50ms\nstop: TERM:2s\ncommand: [sleep, "30"]\n');
    const t = startTend(['run', '-v', '--config', file, '--workers', '1']);
    await t.waitFor(/pool ready: 1\/1/);
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

  it('rejects pool flags without --workers', T, async () => {
    const t = startTend(['run', '--listen', 'tcp://127.0.0.1:0', '--', 'true']);
    assert.equal(shellCode(await t.exited()), 64);
    assert.match(t.stderr(), /--listen: only applies to a worker pool; add --workers N/);
  });
});
