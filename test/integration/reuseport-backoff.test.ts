// Issue 8 point 8: with --socket-strategy reuseport, a slot whose worker crashes at boot and waits out its restart
// delay must not take a share of new connections; the healthy worker answers every one of them. And the slots' own
// sockets (handed to Node workers bound, listening once the worker listens) serve through a reload and a scale.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, describe, it } from 'node:test';
import { freePort, get, loadUntil } from '../helpers/http.js';
import { fixture, is, killAll, shellCode, start, startTend, tendBin } from '../helpers/tend.js';

afterEach(killAll);
const dir = mkdtempSync(join(tmpdir(), 'tend-reuseport-'));
after(() => { rmSync(dir, { recursive: true, force: true }); });

// One GET on a new connection; its outcome and how long it took (connect refused or reset counts as a failure).
async function timedGet(port: number): Promise<{ ok: boolean; ms: number; pid: number | null; error: string | null }> {
  const t0 = performance.now();
  try {
    const answer = await get(port);
    return { ok: true, ms: performance.now() - t0, pid: answer.pid, error: null };
  } catch (error) {
    return { ok: false, ms: performance.now() - t0, pid: null, error: (error as NodeJS.ErrnoException).code ?? (error as Error).message };
  }
}

// Resolves once a plain TCP connect to the port succeeds (something accepts on it).
function connects(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port }, () => { s.destroy(); resolve(true); });
    s.on('error', () => { resolve(false); });
  });
}

describe('reuseport: a slot in its restart delay', () => {
  it('takes no new connections while its worker crash-loops; the healthy worker answers all 20 promptly', { timeout: 60_000 }, async () => {
    const port = await freePort();
    // Slot 1 crashes at boot every time; the delays (0.3 s doubling to 1.2 s) leave it without a worker most of the time.
    const t = startTend(['run', '--workers', '2', '--listen', `tcp://127.0.0.1:${port}`, '--socket-strategy', 'reuseport',
      '--restart-delay', '300ms', '--restart-max-delay', '1200ms', '--on-crash-loop', 'retry', '--', 'node', fixture('http-app.js')],
    { env: { ...process.env, CRASH_SLOT: '1', HANDLER_MS: '0' } });
    const healthy = await t.waitEvent(is('ready', (e) => e.slot === 0), 20_000);
    await t.waitEvent(is('restart-scheduled', (e) => e.slot === 1), 20_000);
    assert.ok(await connects(port));
    // 20 new connections, one every 60 ms, while slot 1 keeps crashing and backing off.
    const results: Awaited<ReturnType<typeof timedGet>>[] = [];
    const crashesBefore = t.eventsOf('exited').filter((e) => e.slot === 1).length;
    for (let i = 0; i < 20; i++) {
      const started = performance.now();
      results.push(await timedGet(port));
      const wait = 60 - (performance.now() - started);
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    }
    const crashesDuring = t.eventsOf('exited').filter((e) => e.slot === 1).length - crashesBefore;
    const failed = results.filter((r) => !r.ok);
    assert.deepEqual(failed, [], `${failed.length} of 20 failed`);
    assert.deepEqual(new Set(results.map((r) => r.pid)), new Set([healthy.pid]));
    // "Promptly": a connection that waited in an unattended queue would take until the next restart (0.3 s or more).
    const slowest = Math.max(...results.map((r) => r.ms));
    assert.ok(slowest < 250, `slowest answer took ${slowest.toFixed(0)} ms`);
    assert.ok(t.eventsOf('ready').every((e) => e.slot === 0), 'slot 1 never became ready');
    process.kill(t.pid, 'SIGTERM');
    assert.equal(shellCode(await t.exited(15_000)), 0);
    // Slot 1 did crash-loop during the 20 requests (otherwise the test would not test anything).
    assert.ok(crashesDuring >= 1, `slot 1 crashed ${crashesDuring} time(s) while the connections were made`);
  });
});

describe('reuseport: slot sockets through a reload and a scale', () => {
  it('a rolling reload under keep-alive load loses nothing; after it and after scaling to 3, new connections reach every worker', { timeout: 60_000 }, async () => {
    const port = await freePort();
    const ctl = join(dir, 'ctl.sock');
    const t = startTend(['run', '--workers', '2', '--listen', `tcp://127.0.0.1:${port}`, '--socket-strategy', 'reuseport', '--control', ctl,
      '--', 'node', fixture('http-app.js')], { env: { ...process.env, HANDLER_MS: '2' } });
    await t.waitEvent(is('service-ready'), 20_000);
    let finish: () => void = () => undefined;
    const load = loadUntil(port, 6, new Promise<void>((resolve) => { finish = resolve; }));
    process.kill(t.pid, 'SIGHUP');
    const reloaded = await t.waitEvent(is('reload-finished'), 30_000);
    finish();
    const result = await load;
    assert.equal(reloaded.ok, true, reloaded.detail);
    assert.equal(result.errors, 0, JSON.stringify(result.errorKinds));
    assert.ok(result.ok > 20, `only ${result.ok} requests: the load did not run through the reload`);
    // Which pids answer 60 new connections: the kernel hashes each to one of the group's sockets, so a slot whose
    // socket never joined would be missing (the chance that a listening one gets none of 60 is about 1e-10).
    const servedBy = async (): Promise<Set<number>> => {
      const pids = new Set<number>();
      for (let i = 0; i < 60; i++) pids.add((await get(port)).pid);
      return pids;
    };
    const live = (): number[] => {
      const spawned = t.eventsOf('spawned').map((e) => e.pid);
      const gone = new Set(t.eventsOf('exited').map((e) => e.pid));
      return spawned.filter((pid) => !gone.has(pid)).sort((a, b) => a - b);
    };
    assert.deepEqual([...await servedBy()].sort((a, b) => a - b), live());
    const scale = start([tendBin, 'scale', '3', '--control', ctl]);
    assert.equal(shellCode(await scale.exited(30_000)), 0, scale.stderr());
    assert.equal(live().length, 3);
    assert.deepEqual([...await servedBy()].sort((a, b) => a - b), live());
    process.kill(t.pid, 'SIGTERM');
    assert.equal(shellCode(await t.exited(15_000)), 0);
  });
});
