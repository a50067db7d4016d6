// Liveness probes through real processes (--liveness): a worker whose event loop blocks is replaced within
// interval × failures (+ one interval) while new connections keep being served; all workers failing together
// replaces none (degraded, then cleared); an exec probe gets the worker's pid and slot, and its process group is
// killed when it times out; `tend status` shows the state. Events via --event-log, never tend's log text.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { freePort, get } from '../helpers/http.js';
import { fixture, is, killAll, removeTempDirs, shellCode, start, startTend, tempDir, tendBin, type TendProc, until } from '../helpers/tend.js';

afterEach(() => {
  killAll();
  removeTempDirs();
});

const INTERVAL_MS = 1_000;
const TIMEOUT_MS = 800;
const FAILURES = 2;
/** Scheduling slack on a loaded 2-core machine, on top of the documented bound. */
const SLACK_MS = 500;

function livenessArgs(probe: string, workers = 3): string[] {
  return ['run', '--workers', String(workers), '--liveness', probe, '--liveness-interval', `${INTERVAL_MS}ms`, '--liveness-timeout', `${TIMEOUT_MS}ms`,
    '--liveness-failures', String(FAILURES), '--stop', 'TERM:1s'];
}

// The pid serving each slot once the service is ready.
async function readyPids(t: TendProc, workers: number): Promise<Map<number, number>> {
  await t.waitEvent(is('service-ready'), 20_000);
  const pids = new Map<number, number>();
  for (const e of t.eventsOf('ready')) pids.set(e.slot, e.pid);
  assert.equal(pids.size, workers);
  return pids;
}

async function stop(t: TendProc): Promise<void> {
  t.child.kill('SIGTERM');
  assert.equal(shellCode(await t.exited(15_000)), 0);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('liveness probes', { timeout: 90_000 }, () => {
  it('a worker whose event loop blocks is replaced within interval × failures + one interval; no new connection fails', async () => {
    const dir = tempDir('tend-liveness-');
    const stamp = join(dir, 'blocked-at');
    const port = await freePort();
    const t = startTend([...livenessArgs('http:/healthz'), '--listen', `tcp://127.0.0.1:${port}`, '--', 'node', fixture('liveness-app.js')],
      { env: { ...process.env, BLOCK_STAMP: stamp } });
    const pids = await readyPids(t, 3);
    const victim = pids.get(1) ?? 0;
    // A client opening a new connection for every request, all through the episode.
    const load = { running: true, ok: 0, failures: [] as { openedAt: number; error: string }[] };
    const client = (async () => {
      while (load.running) {
        const openedAt = Date.now();
        try {
          await get(port);
          load.ok++;
        } catch (error) {
          load.failures.push({ openedAt, error: (error as Error).message });
        }
        await new Promise((r) => setTimeout(r, 10));
      }
    })();
    await until(() => load.ok >= 10, 10_000, 'the client served before the block');
    process.kill(victim, 'SIGUSR2');
    const replacing = await t.waitEvent(is('replacing', (e) => e.pid === victim), 15_000);
    const fresh = await t.waitEvent(is('ready', (e) => e.slot === 1 && e.pid !== victim), 15_000);
    await t.waitEvent(is('exited', (e) => e.pid === victim), 15_000);
    const servedAtExit = load.ok;
    await until(() => load.ok >= servedAtExit + 10, 10_000, 'the client served after the blocked worker exited');
    load.running = false;
    await client;
    const blockedAt = Number(readFileSync(stamp, 'utf8'));
    const detectedMs = replacing.at - blockedAt;
    const bound = INTERVAL_MS * FAILURES + INTERVAL_MS;
    assert.equal(replacing.reason, 'liveness');
    assert.equal(replacing.slot, 1);
    assert.ok(detectedMs <= bound + SLACK_MS, `replaced after ${detectedMs} ms, bound ${bound} ms (+${SLACK_MS} ms slack)`);
    // A connection the worker accepted in the very loop iteration its handler blocked in was opened before the block
    // and is lost with it (no supervisor can answer it); every connection opened after the block must be served.
    const afterBlock = load.failures.filter((f) => f.openedAt >= blockedAt);
    assert.deepEqual(afterBlock, [], `failed requests on connections opened after the block (${load.ok} served)`);
    assert.ok(load.failures.length <= 1, `at most the one request in flight at the block failed: ${JSON.stringify(load.failures)}`);
    // A request in flight at the block holds the client (one request at a time) until the blocked worker is gone:
    // then only the 10 served before the block and the 10 after its exit are certain.
    const heldAtBlock = load.failures.some((f) => f.openedAt < blockedAt);
    assert.ok(heldAtBlock ? load.ok >= 20 : load.ok > 20, `the client kept going (${load.ok} served; ${heldAtBlock ? 'one request was in flight at the block' : 'none in flight at the block'})`);
    // Only the blocked worker reached the threshold, and nothing else was replaced.
    assert.deepEqual(new Set(t.eventsOf('probe-failed').filter((e) => e.failures >= FAILURES).map((e) => e.pid)), new Set([victim]));
    assert.equal(t.eventsOf('replacing').length, 1);
    assert.equal(t.eventsOf('liveness-degraded').length, 0);
    console.log(`# blocked worker replaced ${detectedMs} ms after the block (bound ${bound} ms), new worker ready after ${fresh.at - blockedAt} ms, ` +
      `${load.ok} requests served, ${afterBlock.length} failed on connections opened after the block, ${load.failures.length} in flight at the block`);
    await stop(t);
  });

  it('tcp: a worker whose server stops listening (the process runs on) is replaced; the others are not', async () => {
    const port = await freePort();
    const t = startTend([...livenessArgs('tcp'), '--listen', `tcp://127.0.0.1:${port}`, '--', 'node', fixture('liveness-app.js')]);
    const pids = await readyPids(t, 3);
    const victim = pids.get(2) ?? 0;
    process.kill(victim, 'SIGUSR1');
    const replacing = await t.waitEvent(is('replacing', (e) => e.pid === victim), 15_000);
    assert.equal(replacing.reason, 'liveness');
    assert.match(replacing.why, /it no longer listens|ECONNREFUSED|ENOENT/);
    await t.waitEvent(is('ready', (e) => e.slot === 2 && e.pid !== victim), 15_000);
    assert.equal(t.eventsOf('replacing').length, 1);
    await stop(t);
  });

  it('all workers failing together: nobody is replaced, degraded once, cleared when it recovers; tend status shows it', async () => {
    const dir = tempDir('tend-liveness-');
    const failFile = join(dir, 'db-down');
    const ctl = join(dir, 'ctl.sock');
    const port = await freePort();
    const t = startTend([...livenessArgs('http:/healthz'), '--listen', `tcp://127.0.0.1:${port}`, '--control', ctl, '--', 'node', fixture('liveness-app.js')],
      { env: { ...process.env, FAIL_FILE: failFile } });
    const pids = await readyPids(t, 3);
    writeFileSync(failFile, 'down\n');
    const degraded = await t.waitEvent(is('liveness-degraded'), 15_000);
    // The file may appear between two workers' probes of one round: half or more is what counts.
    assert.ok(degraded.failing >= 2 && degraded.ready === 3, `${degraded.failing} of ${degraded.ready} failing`);
    // Several more failing rounds while degraded: still nobody replaced, no second degraded fact.
    const from = t.events().length;
    await t.waitEvents(is('probe-failed', (e) => e.failures >= FAILURES + 2), 3, 15_000, from);
    const status = start([tendBin, 'status', '--json', '--control', ctl]);
    assert.equal(shellCode(await status.exited(15_000)), 0);
    const view = JSON.parse(status.stdout()) as { services: { liveness: { degraded: boolean } | null; workers: { probeFailures: number | null }[] }[] };
    const web = view.services[0];
    assert.ok(web !== undefined);
    assert.equal(web.liveness?.degraded, true);
    assert.ok(web.workers.filter((w) => (w.probeFailures ?? 0) >= FAILURES).length >= 2, JSON.stringify(web.workers));
    unlinkSync(failFile);
    await t.waitEvent(is('liveness-cleared'), 15_000);
    assert.equal(t.eventsOf('liveness-degraded').length, 1);
    assert.equal(t.eventsOf('replacing').length, 0);
    assert.equal(t.eventsOf('spawned').length, 3);
    assert.equal(t.eventsOf('probe-recovered').length, 3);
    for (const pid of pids.values()) assert.ok(alive(pid), `worker ${pid} still serves`);
    await stop(t);
  });

  it('exec:CMD gets TEND_PROBE_PID/SLOT/SERVICE; a probe that hangs is a failure and its process group is killed', async () => {
    const dir = tempDir('tend-liveness-');
    const log = join(dir, 'probe.log');
    const hang = join(dir, 'hang');
    const t = startTend([...livenessArgs(`exec:sh ${fixture('liveness-probe.sh')}`), '--', 'node', '-e', 'setInterval(() => {}, 1 << 30)'],
      { env: { ...process.env, PROBE_LOG: log, PROBE_HANG: hang } });
    const pids = await readyPids(t, 3);
    await until(() => existsSync(log) && new Set(readFileSync(log, 'utf8').trim().split('\n')).size >= 3, 10_000, 'every worker probed');
    const seen = new Set(readFileSync(log, 'utf8').trim().split('\n'));
    assert.deepEqual(seen, new Set([...pids].map(([slot, pid]) => `main ${slot} ${pid}`)));
    assert.equal(t.eventsOf('probe-failed').length, 0);
    writeFileSync(hang, '');
    const failed = await t.waitEvent(is('probe-failed'), 15_000);
    assert.match(failed.detail, /^exec sh: no exit within 800ms \(its process group was killed\)$/);
    const children = readFileSync(`${log}.children`, 'utf8').trim().split('\n').map(Number);
    await until(() => children.every((pid) => !alive(pid)), 5_000, 'the hung probes\' children are killed with their group');
    await t.waitEvent(is('liveness-degraded'), 15_000);
    unlinkSync(hang);
    await t.waitEvent(is('liveness-cleared'), 15_000);
    assert.equal(t.eventsOf('replacing').length, 0);
    await stop(t);
  });
});
