// /metrics through real processes: `promtool check metrics` finds nothing to say, three kills of one worker count
// exactly 3 crash restarts of its slot, the set of series stays the same over 100 restarts (no pid or generation
// labels), and a real Prometheus started here on loopback scrapes tend and records up == 1.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { freePort, httpGet, samples } from '../helpers/http.js';
import { descendants, fixture, killAll, readEventLog, removeTempDirs, shellCode, start, startTend, tempDir, until } from '../helpers/tend.js';

afterEach(() => {
  killAll();
  removeTempDirs();
});

function missing(tool: string): string | null {
  return spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0 ? null : `${tool} is not installed (scripts/install-test-deps.sh installs Debian's prometheus package as root)`;
}

// The pid of the worker in `slot` among tend's children (from their environment).
function workerPid(tendPid: number, slot: number): number | null {
  for (const pid of descendants(tendPid)) {
    try {
      const env = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
      if (env.includes(`TEND_WORKER_INDEX=${slot}`)) return pid;
    } catch { /* gone */ }
  }
  return null;
}

describe('metrics', () => {
  it('promtool check metrics is clean, and three kills of one worker count exactly 3', async (t) => {
    const why = missing('promtool');
    if (why !== null) { t.skip(why); return; }
    const dir = tempDir('tend-metrics-');
    const events = join(dir, 'events.jsonl');
    const [app, health] = [await freePort(), await freePort()];
    const tend = startTend(['run', '--workers', '2', '--listen', `tcp://127.0.0.1:${app}`, '--health-listen', `127.0.0.1:${health}`, '--restart-delay', '10ms',
      '--event-log', events, '--', 'node', fixture('http-app.js')]);
    await until(() => readEventLog(events).filter((e) => e.type === 'ready').length >= 2, 15_000, 'two workers ready');
    for (let kill = 1; kill <= 3; kill += 1) {
      const pid = workerPid(tend.pid, 0);
      assert.ok(pid !== null, `slot 0 has a worker (kill ${kill}; ${JSON.stringify(descendants(tend.pid))})`);
      process.kill(pid, 'SIGKILL');
      // Slot 0 was ready once at start and once after each kill so far.
      await until(() => readEventLog(events).filter((e) => e.type === 'ready' && e.slot === 0).length === kill + 1, 15_000, `slot 0 ready again after kill ${kill}`);
    }
    const body = (await httpGet(health, '/metrics', 5_000)).body;
    const checked = spawnSync('promtool', ['check', 'metrics'], { input: body, encoding: 'utf8', timeout: 10_000 });
    assert.equal(checked.status, 0, `promtool: ${checked.stdout}${checked.stderr}`);
    assert.equal(`${checked.stdout}${checked.stderr}`.trim(), '', 'promtool has nothing to say');
    const m = samples(body);
    assert.equal(m.get('tend_worker_restarts_total{service="main",slot="0",reason="crash"}'), 3);
    assert.equal(m.get('tend_worker_restarts_total{service="main",slot="1",reason="crash"}'), 0);
    assert.equal(m.get('tend_worker_up{service="main",slot="0"}'), 1);
    assert.ok((m.get('process_resident_memory_bytes') ?? 0) > 0);
    assert.ok([...m.keys()].every((k) => !/pid=|generation=/.test(k)), 'no pid or generation labels');
    tend.child.kill('SIGTERM');
    assert.equal(shellCode(await tend.exited(15_000)), 0);
  });

  it('the set of series is the same after 100 restarts', async () => {
    const health = await freePort();
    const tend = startTend(['run', '--workers', '1', '--health-listen', `127.0.0.1:${health}`, '--restart-delay', '1ms', '--restart-max-delay', '5ms',
      '--max-restarts', '1000000', '--on-crash-loop', 'retry', '--', 'sh', '-c', 'exit 3']);
    const early = new Set<string>();
    const late = new Set<string>();
    let crashes = 0;
    const deadline = Date.now() + 60_000;
    while (crashes < 110) {
      assert.ok(Date.now() < deadline, `only ${crashes} restarts within 60 s`);
      const answer = await httpGet(health, '/metrics', 5_000).catch(() => null);
      if (answer === null) continue;
      const m = samples(answer.body);
      crashes = m.get('tend_worker_restarts_total{service="main",slot="0",reason="crash"}') ?? 0;
      for (const key of m.keys()) (crashes >= 1 && crashes <= 50 ? early : crashes >= 100 ? late : new Set<string>()).add(key);
    }
    assert.ok(early.size > 0 && late.size > 0);
    assert.deepEqual([...late].filter((k) => !early.has(k)), [], 'no new series after 100 restarts');
    assert.ok(late.size <= early.size, `${late.size} series late, ${early.size} early`);
    tend.child.kill('SIGTERM');
    await tend.exited(15_000);
  });

  it('a real Prometheus scrapes tend and records up == 1', async (t) => {
    const why = missing('prometheus');
    if (why !== null) { t.skip(why); return; }
    const dir = tempDir('tend-metrics-');
    const [app, health, prom] = [await freePort(), await freePort(), await freePort()];
    const tend = startTend(['run', '--workers', '1', '--listen', `tcp://127.0.0.1:${app}`, '--health-listen', `127.0.0.1:${health}`, '--', 'node', fixture('http-app.js')]);
    const config = join(dir, 'prometheus.yml');
    writeFileSync(config, `global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: tend\n    static_configs:\n      - targets: ['127.0.0.1:${health}']\n`);
    const server = start(['prometheus', `--config.file=${config}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${prom}`]);
    try {
      const deadline = Date.now() + 40_000;
      let answer = '';
      for (;;) {
        assert.ok(Date.now() < deadline, `Prometheus never recorded up == 1 and tend_worker_up == 1: ${answer}`);
        const up = await httpGet(prom, `/api/v1/query?query=${encodeURIComponent('up{job="tend"} == 1 and on() tend_worker_up{slot="0"} == 1')}`).catch(() => ({ status: 0, body: '' }));
        answer = up.body;
        if (up.status === 200 && /"result":\[\{/.test(up.body)) break;
        await new Promise((r) => setTimeout(r, 250));
      }
    } finally {
      server.child.kill('SIGTERM');
      await server.exited(15_000).catch(() => undefined);
      tend.child.kill('SIGTERM');
      await tend.exited(15_000);
    }
  });
});
