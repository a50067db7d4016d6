// Issue 8 point 8: with --socket-strategy reuseport, a slot whose worker crashes at boot and waits out its restart
// delay must not take a share of new connections; the healthy worker answers every one of them.
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { afterEach, describe, it } from 'node:test';
import { freePort, get } from '../helpers/http.js';
import { fixture, is, killAll, shellCode, startTend } from '../helpers/tend.js';

afterEach(killAll);

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
