// The in-app shutdown library (onStop, hold) with real workers under tend: a hold makes tend's stop wait until it is
// released, a hold past the budget still gets the next stage, onStop's signal fires before the next stage is due, and
// everything is a no-op without tend. Observed through tend's event stream and the worker's own lines, never sleeps.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fixture, is, killAll, repoRoot, shellCode, start, startTend, tendBin } from '../helpers/tend.js';

const dir = mkdtempSync(join(tmpdir(), 'tend-shutdown-'));
after(() => { killAll(); rmSync(dir, { recursive: true, force: true }); });

const WORKER = fixture('hold-worker.mjs');

// The epoch ms on the worker's line "<word> <ms>…".
function stamp(output: string, word: string): number {
  const m = new RegExp(`${word} (\\d+)`).exec(output);
  assert.ok(m !== null, `no "${word}" line in:\n${output}`);
  return Number(m[1]);
}

describe('in-app shutdown library under tend', () => {
  it('a held worker gets no further stage until it releases; onStop fires first; tend status lists the hold', { timeout: 30_000 }, async () => {
    const control = join(dir, 'a.sock');
    const tend = startTend(['run', '--workers', '1', '--stop', 'TERM:500ms', '--grace', '20s', '--control', control, '--', 'node', WORKER]);
    await tend.waitEvent(is('held', (e) => e.name === 'job'), 15_000);
    await tend.waitEvent(is('service-ready'), 15_000);
    const status = await promisify(execFile)(tendBin, ['status', '--json', '--control', control]);
    const worker = (JSON.parse(status.stdout) as { services: { workers: { holds: { name: string; count: number }[] }[] }[] }).services[0]?.workers[0];
    assert.deepEqual(worker?.holds.map((h) => [h.name, h.count]), [['job', 1]]);

    process.kill(tend.pid, 'SIGTERM');
    const held = await tend.waitEvent(is('stage-held', (e) => e.holds.includes('job')), 10_000);
    // The hook ran at the stop's start and its signal aborted before the stage was due.
    await tend.waitFor(/aborted \d+/, 5_000);
    const out = tend.stdout();
    const left = Number(/stop \d+ left=(\d+)/.exec(out)?.[1]);
    assert.ok(left > 0 && left <= 500, `time left at the stop's start: ${left} ms`);
    assert.ok(stamp(out, 'aborted') < held.at, `onStop's signal aborted at ${stamp(out, 'aborted')}, the stage was due at ${held.at}`);
    assert.ok(held.ms > 15_000, `the hold may wait for most of --grace 20s, not ${held.ms} ms`);
    // Still running past its stage: tend waits for the hold.
    assert.equal(tend.eventsOf('exited').length, 0);

    const pid = held.pid;
    process.kill(pid, 'SIGUSR2');
    const released = await tend.waitEvent(is('released', (e) => e.name === 'job' && e.holds === 0), 5_000);
    const exited = await tend.waitEvent(is('exited', (e) => e.pid === pid), 10_000);
    assert.deepEqual({ status: exited.status, forced: exited.forced }, { status: { code: 0, signal: null }, forced: false });
    assert.ok(exited.at >= released.at);
    assert.deepEqual(tend.eventsOf('signalled').filter((e) => e.pid === pid).map((e) => e.signal), ['SIGTERM'], 'no stage after TERM');
    assert.equal(shellCode(await tend.exited(10_000)), 0);
  });

  it('a hold past the budget still gets the next stage when the budget is used up', { timeout: 30_000 }, async () => {
    const tend = startTend(['run', '--workers', '1', '--stop', 'TERM:300ms', '--grace', '3s', '--drain-spread', '0s', '--', 'node', WORKER]);
    await tend.waitEvent(is('service-ready'), 15_000);
    await tend.waitEvent(is('held'), 5_000);
    process.kill(tend.pid, 'SIGTERM');
    const stopping = await tend.waitEvent(is('stopping'), 5_000);
    const held = await tend.waitEvent(is('stage-held'), 5_000);
    // --grace 3s minus KILL's 1 s margin: the hold may postpone the next stage until 2 s after the stop began.
    assert.equal(held.ms, 2_000 - 300);
    const kill = await tend.waitEvent(is('signalled', (e) => e.signal === 'SIGKILL'), 10_000);
    const exited = await tend.waitEvent(is('exited'), 10_000);
    assert.equal(exited.forced, true);
    const afterStop = kill.at - stopping.at;
    assert.ok(afterStop >= 1_900 && afterStop < 3_000, `KILL came ${afterStop} ms after the stop began (budget 3 s)`);
    assert.equal(tend.eventsOf('released').length, 0);
    await tend.exited(10_000);
  });

  it('without tend, hold() and onStop() do nothing and the process keeps Node\'s own SIGTERM', { timeout: 15_000 }, async () => {
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TEND_') && k !== 'NOTIFY_SOCKET'));
    const app = start(['node', '--input-type=module', '-e', `
      import { hold, onStop } from ${JSON.stringify(join(repoRoot, 'dist', 'src', 'app', 'index.js'))};
      const release = hold('job');
      const remove = onStop(() => { console.log('hook ran'); });
      release(); release(); remove();
      hold('other');
      onStop(() => { console.log('hook ran'); });
      console.log('ready', typeof release, typeof remove, process.listenerCount('SIGTERM'));
      setInterval(() => undefined, 1 << 30);
    `], { env });
    await app.waitFor(/^ready function function 0$/m, 10_000);
    process.kill(app.pid, 'SIGTERM');
    const exit = await app.exited(5_000);
    assert.equal(exit.signal, 'SIGTERM');
    assert.doesNotMatch(app.stdout(), /hook ran/);
  });
});
