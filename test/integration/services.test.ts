// Several services in one tend, driven through real processes and read through the event stream (--event-log):
// depends-on start order, a oneshot, reverse-order stop with a quiet phase, a failing oneshot, a service that gives
// up (with and without can-die), a Procfile and a PM2 ecosystem file.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { freePort, get } from '../helpers/http.js';
import { fixture, killAll, type LoggedEvent, removeTempDirs, shellCode, startTend, tempDir } from '../helpers/tend.js';

type Logged = LoggedEvent;

afterEach(() => {
  killAll();
  removeTempDirs();
});

const index = (events: readonly Logged[], match: (e: Logged) => boolean): number => events.findIndex(match);

describe('several services', { timeout: 60_000 }, () => {
  it('the issue example: migrate, then web, then jobs; SIGTERM stops jobs (quiet phase first), then web', async () => {
    const dir = tempDir('tend-services-');
    const port = await freePort();
    const config = join(dir, 'tend.yaml');
    writeFileSync(config, [
      'services:',
      `  migrate: { command: node ${fixture('services/migrate.js')}, type: oneshot }`,
      `  web:     { command: node ${fixture('http-app.js')}, workers: 2, listen: tcp://127.0.0.1:${port}, depends-on: [migrate] }`,
      `  jobs:    { command: node ${fixture('job-worker.js')}, depends-on: [web], stop: "TSTP:300ms,TERM:5s", max-restarts: 5 }`,
      '',
    ].join('\n'));
    const t = startTend(['run', '--config', config], { env: { ...process.env, JOB_MS: '200', HANDLER_MS: '1' } });
    await t.waitEvent((e) => e.type === 'all-ready');
    const body = await get(port);
    assert.ok(body.pid > 0);
    const started = t.events();
    const migrateDone = index(started, (e) => e.type === 'service-done' && e.service === 'migrate');
    const firstWeb = index(started, (e) => e.type === 'spawned' && e.service === 'web');
    const webReady = index(started, (e) => e.type === 'service-ready' && e.service === 'web');
    const firstJobs = index(started, (e) => e.type === 'spawned' && e.service === 'jobs');
    assert.ok(migrateDone >= 0 && migrateDone < firstWeb, 'web starts only after migrate exited 0');
    assert.ok(webReady >= 0 && webReady < firstJobs, 'jobs start only after web is ready');
    t.child.kill('SIGTERM');
    const exit = await t.exited(20_000);
    assert.equal(shellCode(exit), 0);
    const all = t.events();
    const stopSignals = all.filter((e): e is Logged & { type: 'signalled' } => e.type === 'signalled' && e.why === 'stop');
    const jobsSignals = stopSignals.filter((e) => e.service === 'jobs').map((e) => e.signal);
    assert.deepEqual(jobsSignals.slice(0, 2), ['SIGTSTP', 'SIGTERM'], 'jobs get the quiet signal first, then TERM');
    const jobsExited = index(all, (e) => e.type === 'exited' && e.service === 'jobs');
    const webStop = index(all, (e) => e.type === 'signalled' && e.service === 'web' && e.why === 'stop');
    assert.ok(jobsExited >= 0 && jobsExited < webStop, 'web is stopped only after jobs (reverse dependency order)');
    assert.match(t.stdout(), /worker: job \d+ done[\s\S]*exiting cleanly/);
  });

  it('a failing oneshot stops tend with its status and starts nothing that depends on it', async () => {
    const dir = tempDir('tend-services-');
    const config = join(dir, 'tend.yaml');
    writeFileSync(config, [
      'services:',
      `  migrate: { command: node ${fixture('services/migrate.js')}, type: oneshot, env: { MIGRATE_EXIT: "3" } }`,
      `  web: { command: node ${fixture('job-worker.js')}, depends-on: [migrate] }`,
      '',
    ].join('\n'));
    // The service's env is set over tend's own: its MIGRATE_EXIT is 3, not the 9 tend was started with.
    const t = startTend(['run', '--config', config], { env: { ...process.env, MIGRATE_EXIT: '9' } });
    const exit = await t.exited(15_000);
    assert.equal(shellCode(exit), 3);
    const all = t.events();
    assert.equal(all.filter((e) => e.type === 'spawned' && e.service === 'web').length, 0);
    assert.ok(all.some((e) => e.type === 'service-ended' && e.service === 'migrate' && e.code === 3));
  });

  it('a service that gives up stops everything with exit 75; with can-die the others go on', async () => {
    const dir = tempDir('tend-services-');
    const config = join(dir, 'tend.yaml');
    const services = (canDie: boolean): string => [
      'services:',
      `  flaky: { command: node ${fixture('services/crash.js')}, max-restarts: 2, restart-delay: 10ms, can-die: ${canDie} }`,
      `  steady: { command: node ${fixture('job-worker.js')} }`,
      '',
    ].join('\n');
    writeFileSync(config, services(false));
    const t = startTend(['run', '--config', config]);
    assert.equal(shellCode(await t.exited(20_000)), 75);
    assert.ok(t.events().some((e) => e.type === 'gave-up' && e.service === 'flaky'));
    assert.ok(t.events().some((e) => e.type === 'exited' && e.service === 'steady' && e.reason === 'shutdown'));

    writeFileSync(config, services(true));
    const u = startTend(['run', '--config', config]);
    await u.waitEvent((e) => e.type === 'gave-up' && e.service === 'flaky');
    await u.waitEvent((e) => e.type === 'service-stopped' && e.service === 'flaky');
    assert.ok(!u.events().some((e) => e.type === 'exited' && e.service === 'steady'), 'steady keeps running');
    u.child.kill('SIGTERM');
    assert.equal(shellCode(await u.exited(15_000)), 0);
  });

  it('reads a Procfile: one service per line', async () => {
    const dir = tempDir('tend-services-');
    const procfile = join(dir, 'Procfile');
    writeFileSync(procfile, `# jobs and a second worker\nworker: node ${fixture('job-worker.js')}\nclock: node ${fixture('job-worker.js')}\n`);
    const t = startTend(['run', '--config', procfile], { env: { ...process.env, JOB_MS: '100' } });
    await t.waitEvent((e) => e.type === 'all-ready');
    const names = new Set(t.events().filter((e) => e.type === 'spawned').map((e) => (e as Logged & { service: string }).service));
    assert.deepEqual([...names].sort(), ['clock', 'worker']);
    t.child.kill('SIGTERM');
    assert.equal(shellCode(await t.exited(15_000)), 0);
  });

  it('reads a PM2 ecosystem file with two apps, one with instances: 2', async () => {
    const dir = tempDir('tend-services-');
    const ecosystem = join(dir, 'ecosystem.config.js');
    writeFileSync(ecosystem, `module.exports = { apps: [
      { name: 'api', script: ${JSON.stringify(fixture('job-worker.js'))}, instances: 2, exec_mode: 'cluster', env: { JOB_MS: '100' } },
      { name: 'cron', script: ${JSON.stringify(fixture('job-worker.js'))}, kill_timeout: 3000 },
    ] };\n`);
    const t = startTend(['run', '--config', ecosystem]);
    await t.waitEvent((e) => e.type === 'all-ready');
    const spawned = t.events().filter((e): e is Logged & { type: 'spawned' } => e.type === 'spawned');
    assert.equal(spawned.filter((e) => e.service === 'api').length, 2);
    assert.equal(spawned.filter((e) => e.service === 'cron').length, 1);
    t.child.kill('SIGTERM');
    assert.equal(shellCode(await t.exited(15_000)), 0);
  });
});
