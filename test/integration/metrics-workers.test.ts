// --metrics-workers through real processes: each worker's own metrics reach /metrics through its private socket with a
// slot label, per worker and never summed (each slot's counter equals what that worker served); one worker's restart
// resets only its own series; a worker whose loop is blocked is skipped within the 2 s bound and counted, never
// failing the scrape; `promtool check metrics` has nothing to say about the whole body.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { afterEach, describe, it } from 'node:test';
import { freePort, get, httpGet, samples } from '../helpers/http.js';
import { fixture, is, killAll, shellCode, startTend } from '../helpers/tend.js';

afterEach(() => { killAll(); });


const requests = (slot: number): string => `app_requests_total{service="main",slot="${slot}",path="/"}`;

describe('--metrics-workers', { timeout: 90_000 }, () => {
  it('per-slot series, never summed; a restart resets only its slot; a blocked worker is skipped in time and counted', async () => {
    const [app, health] = [await freePort(), await freePort()];
    const t = startTend(['run', '--workers', '3', '--listen', `tcp://127.0.0.1:${app}`, '--health-listen', `127.0.0.1:${health}`, '--metrics-workers', '/metrics',
      '--restart-delay', '10ms', '--stop', 'TERM:1s', '--', 'node', fixture('liveness-app.js')]);
    await t.waitEvent(is('service-ready'), 20_000);
    // What each worker served, as the answers say.
    const served = new Map<number, number>([[0, 0], [1, 0], [2, 0]]);
    for (let i = 0; i < 60; i += 1) {
      const answer = await get(app);
      served.set(Number(answer.slot), (served.get(Number(answer.slot)) ?? 0) + 1);
    }
    const first = await httpGet(health, '/metrics');
    assert.equal(first.status, 200);
    const m = samples(first.body);
    for (const slot of [0, 1, 2]) {
      assert.equal(m.get(requests(slot)), served.get(slot), `slot ${slot}: its own count`);
      assert.equal(m.get(`tend_worker_metrics_up{service="main",slot="${slot}"}`), 1);
      assert.ok((m.get(`worker_process_start_time_seconds{service="main",slot="${slot}"}`) ?? 0) > 0, 'a worker family named like tend\'s own is renamed');
    }
    const promtool = spawnSync('sh', ['-c', 'command -v promtool']).status === 0;
    if (promtool) {
      const checked = spawnSync('promtool', ['check', 'metrics'], { input: first.body, encoding: 'utf8', timeout: 10_000 });
      assert.equal(checked.status, 0, `promtool: ${checked.stdout}${checked.stderr}`);
      assert.equal(`${checked.stdout}${checked.stderr}`.trim(), '', 'promtool has nothing to say');
    }
    // Slot 0's worker restarts: its series starts over, the others keep theirs.
    const victim = t.eventsOf('ready').find((e) => e.slot === 0)?.pid ?? 0;
    const from = t.events().length;
    process.kill(victim, 'SIGKILL');
    await t.waitEvent(is('ready', (e) => e.slot === 0 && e.pid !== victim), 15_000, from);
    const second = samples((await httpGet(health, '/metrics')).body);
    assert.equal(second.get(requests(0)), 0);
    for (const slot of [1, 2]) assert.equal(second.get(requests(slot)), served.get(slot));
    // Slot 1's worker blocks: the scrape answers within the 2 s bound (plus slack), without its series, and counts it.
    const blocked = t.eventsOf('ready').find((e) => e.slot === 1)?.pid ?? 0;
    process.kill(blocked, 'SIGUSR2');
    // The worker says so (synchronously, on its pipe) just before its loop blocks: a scrape before that could still
    // reach it (it did, once, in a full test run).
    await t.waitFor(new RegExp(`app ${blocked} blocking its event loop`), 10_000);
    const third = await httpGet(health, '/metrics');
    const m3 = samples(third.body);
    assert.equal(third.status, 200);
    assert.ok(third.ms < 2_000 + 1_500, `the scrape took ${third.ms} ms`);
    assert.equal(m3.get(requests(1)), undefined);
    assert.equal(m3.get(`tend_worker_metrics_up{service="main",slot="1"}`), 0);
    assert.equal(m3.get(`tend_worker_metrics_scrape_failures_total{service="main",slot="1"}`), 1);
    assert.equal(m3.get(requests(2)), served.get(2));
    console.log(`# a scrape with one blocked worker took ${third.ms} ms (bound 2000 ms); promtool ${promtool ? 'clean' : 'not installed'}`);
    t.child.kill('SIGTERM');
    assert.equal(shellCode(await t.exited(20_000)), 0);
  });
});
