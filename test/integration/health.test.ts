// tend's health endpoints through real processes: /livez and /readyz (Kubernetes conventions), the stop delay (readiness
// fails at once while the workers serve on, then new connections are refused at once), a second SIGTERM skipping the
// delay, and the start-up refusals (--grace too small: exit 64; a busy health port: exit 69). Events via --event-log.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { freePort } from '../helpers/http.js';
import { descendants, fixture, killAll, readEventLog, removeTempDirs, shellCode, startTend, tempDir, until } from '../helpers/tend.js';

afterEach(() => {
  killAll();
  removeTempDirs();
});

/** One HTTP answer; status 0 and the error code when the connection failed. */
interface Answer { status: number; body: string; error: string | null; startedAt: number; endedAt: number }

function fetchText(port: number, path: string, method = 'GET'): Promise<Answer> {
  const startedAt = Date.now();
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path, method, agent: false, timeout: 3_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { body += c; });
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, body, error: null, startedAt, endedAt: Date.now() }); });
    });
    req.on('timeout', () => { req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })); });
    req.on('error', (e: NodeJS.ErrnoException) => { resolve({ status: 0, body: '', error: e.code ?? e.message, startedAt, endedAt: Date.now() }); });
    req.end();
  });
}

async function waitReady(health: number, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const a = await fetchText(health, '/readyz');
    if (a.status === 200) return;
    if (Date.now() > deadline) throw new Error(`/readyz not 200 within ${timeoutMs} ms: ${a.status} ${a.error ?? a.body}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('health endpoints', () => {
  it('/livez, /readyz with ?verbose, /readyz/<check>, ?exclude, HEAD, 404 and 405; no env values or argv', async () => {
    const [app, health] = [await freePort(), await freePort()];
    const t = startTend(['run', '--workers', '2', '--listen', `tcp://127.0.0.1:${app}`, '--health-listen', `127.0.0.1:${health}`, '--min-ready', '2',
      '--', 'node', fixture('http-app.js'), 'SECRET_ARG'], { env: { ...process.env, SECRET_ENV: 'hunter2' } });
    await waitReady(health);
    assert.deepEqual([(await fetchText(health, '/livez')).status, (await fetchText(health, '/livez')).body], [200, 'ok']);
    const verbose = await fetchText(health, '/readyz?verbose');
    assert.equal(verbose.status, 200);
    assert.match(verbose.body, /^\[\+\]shutdown ok\n\[\+\]service\/main ok\n {2}\[\+\]main\.0 ready\n {2}\[\+\]main\.1 ready\nreadyz check passed\n$/m);
    assert.equal((await fetchText(health, '/readyz/service/main')).body, 'ok');
    assert.equal((await fetchText(health, '/readyz/nope')).status, 404);
    const head = await fetchText(health, '/readyz', 'HEAD');
    assert.deepEqual([head.status, head.body], [200, '']);
    assert.equal((await fetchText(health, '/readyz', 'POST')).status, 405);
    assert.equal((await fetchText(health, '/other')).status, 404);
    const metrics = await fetchText(health, '/metrics');
    for (const a of [verbose, metrics]) assert.doesNotMatch(a.body, /SECRET_ARG|hunter2|http-app/);
    // One worker killed: below --min-ready 2 until it is back; ?exclude leaves the service out.
    const [victim] = descendants(t.pid);
    assert.ok(victim !== undefined, 'tend has workers');
    process.kill(victim, 'SIGKILL');
    const deadline = Date.now() + 5_000;
    let failed: Answer | null = null;
    while (Date.now() < deadline && failed === null) {
      const a = await fetchText(health, '/readyz?verbose');
      if (a.status === 500) failed = a;
    }
    assert.ok(failed !== null, 'readyz failed while a worker was missing');
    assert.match(failed.body, /^\[-\]service\/main failed: 1\/2 ready, needs 2$/m);
    t.child.kill('SIGTERM');
    assert.equal(shellCode(await t.exited(15_000)), 0);
  });

  it('--stop-delay: /readyz fails at once, every connection in the delay is served, later ones are refused at once', async () => {
    const dir = tempDir('tend-health-');
    const events = join(dir, 'events.jsonl');
    const [app, health] = [await freePort(), await freePort()];
    const t = startTend(['run', '--workers', '2', '--listen', `tcp://127.0.0.1:${app}`, '--health-listen', `127.0.0.1:${health}`, '--stop-delay', '5s',
      '--event-log', events, '--', 'node', fixture('http-app.js')], { env: { ...process.env, HANDLER_MS: '1' } });
    await waitReady(health);
    const answers: Answer[] = [];
    const load = { running: true };
    const client = (async () => {
      while (load.running) {
        answers.push(await fetchText(app, '/'));
        await new Promise((r) => setTimeout(r, 10));
      }
    })();
    await until(() => answers.length >= 10, 10_000, 'the client served before the signal');
    const signalledAt = Date.now();
    t.child.kill('SIGTERM');
    // Probe /readyz for half a second after the signal, as a load balancer would.
    const probes: Answer[] = [];
    while (Date.now() - signalledAt < 500) probes.push(await fetchText(health, '/readyz'));
    const exit = await t.exited(15_000);
    // Connections after the stop began (and after tend is gone) must be refused at once, never left hanging.
    const log = readEventLog(events);
    const stopAt = log.find((e) => e.type === 'stopping')?.at ?? Date.now();
    await until(() => answers.some((a) => a.startedAt > stopAt + 200), 10_000, 'the client went on after the stop began');
    load.running = false;
    await client;
    assert.equal(shellCode(exit), 0);
    const delayed = log.find((e) => e.type === 'stop-delayed');
    const stopping = log.find((e) => e.type === 'stopping');
    assert.ok(delayed !== undefined && stopping !== undefined, 'stop-delayed and stopping were published');
    // Readiness flips when tend takes the signal, and every probe from then on fails.
    assert.ok(delayed.at - signalledAt < 100, `readiness failed ${delayed.at - signalledAt} ms after the signal`);
    const afterFlip = probes.filter((a) => a.startedAt >= delayed.at);
    assert.ok(afterFlip.length > 0, 'probes after readiness failed');
    assert.deepEqual(afterFlip.filter((a) => a.status !== 500), [], 'every /readyz after the signal failed');
    assert.ok(stopping.at - delayed.at >= 4_950, `the stop began ${stopping.at - delayed.at} ms after the delay began`);
    const inDelay = answers.filter((a) => a.startedAt >= signalledAt && a.endedAt <= stopping.at);
    assert.ok(inDelay.length >= 100, `only ${inDelay.length} connections during the delay`);
    assert.deepEqual(inDelay.filter((a) => a.status !== 200), [], 'every connection during the delay was served');
    const after = answers.filter((a) => a.startedAt > stopping.at + 200);
    assert.ok(after.length > 0, 'the client went on after the stop began');
    for (const a of after) {
      assert.equal(a.error, 'ECONNREFUSED', `a connection after the stop: ${a.status} ${a.error ?? ''}`);
      assert.ok(a.endedAt - a.startedAt < 200, `refused after ${a.endedAt - a.startedAt} ms`);
    }
  });

  it('a second SIGTERM skips the rest of the delay', async () => {
    const dir = tempDir('tend-health-');
    const events = join(dir, 'events.jsonl');
    const [app, health] = [await freePort(), await freePort()];
    const t = startTend(['run', '--workers', '1', '--listen', `tcp://127.0.0.1:${app}`, '--health-listen', `127.0.0.1:${health}`, '--stop-delay', '30s',
      '--event-log', events, '--', 'node', fixture('http-app.js')]);
    await waitReady(health);
    t.child.kill('SIGTERM');
    await until(() => readEventLog(events).some((e) => e.type === 'stop-delayed'), 5_000, 'stop-delayed');
    const second = Date.now();
    t.child.kill('SIGTERM');
    assert.equal(shellCode(await t.exited(10_000)), 0);
    const stopping = readEventLog(events).find((e) => e.type === 'stopping');
    assert.ok(stopping?.type === 'stopping' && stopping.at - second < 1_000, 'the stop began at the second signal');
    assert.match(stopping.why, /again/);
  });

  it('refuses to start when the delay and the stop stages exceed --grace (exit 64, naming the numbers)', async () => {
    const t = startTend(['run', '--stop-delay', '10s', '--stop', 'TERM:25s', '--grace', '30s', '--', 'node', '-e', '0']);
    const exit = await t.exited(10_000);
    assert.equal(shellCode(exit), 64);
    assert.match(t.stderr(), /--grace "30s": the stop delay \(10s\) plus the longest stop chain \(26s.*\) is 36s, more than the budget; raise --grace/);
    const fits = startTend(['run', '--stop-delay', '4s', '--stop', 'TERM:25s', '--grace', '30s', '--', 'node', '-e', '0']);
    assert.equal(shellCode(await fits.exited(10_000)), 0);
  });

  it('a health port in use is a start-up error (exit 69), and nothing was started', async () => {
    const busy = createServer();
    await new Promise<void>((r) => { busy.listen(0, '127.0.0.1', () => { r(); }); });
    const address = busy.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    try {
      const dir = tempDir('tend-health-');
      const marker = join(dir, 'ran');
      const t = startTend(['run', '--health-listen', `127.0.0.1:${port}`, '--', 'sh', '-c', `touch ${marker}`]);
      assert.equal(shellCode(await t.exited(10_000)), 69);
      assert.match(t.stderr(), /--health-listen 127\.0\.0\.1:\d+: cannot listen \(EADDRINUSE\)/);
      assert.throws(() => readFileSync(marker));
    } finally {
      busy.close();
    }
  });
});
