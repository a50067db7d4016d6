// Sockets on demand and launchers, end to end: pools with no --listen, real Node workers asking tend for their
// sockets over the Node IPC channel, real npm/npx/tsx launchers, observed through --event-log and real requests.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, describe, it } from 'node:test';
import { get, loadUntil } from '../helpers/http.js';
import { distinctPids, freePort, readEvents, reload, waitEvent, withOutput } from '../helpers/pool.js';
import { descendants, fixture, killAll, shellCode, start, startTend, tendBin, until, type Proc } from '../helpers/tend.js';

afterEach(killAll);
const dir = mkdtempSync(join(tmpdir(), 'tend-ondemand-'));
after(() => { rmSync(dir, { recursive: true, force: true }); });
let n = 0;
const scratch = (name: string): string => join(dir, `${n++}-${name}`);
const frameworks = fixture('frameworks');
const haveFrameworks = existsSync(join(frameworks, 'node_modules', 'tsx'));
const noFrameworks = 'test/fixtures/frameworks has no node_modules: run npm install there';

async function stopAndWait(t: Proc): Promise<void> {
  const tree = descendants(t.pid);
  process.kill(t.pid, 'SIGTERM');
  assert.equal(shellCode(await t.exited(15_000)), 0);
  // Nothing tend started outlives it (launchers and their children included).
  await until(() => tree.every((pid) => !existsSync(`/proc/${pid}`) || readFileSync(`/proc/${pid}/stat`, 'latin1').includes(') Z ')), 5_000, 'every process of the pool gone');
}

function holdPort(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(port, () => { resolve(server); });
  });
}

describe('sockets on demand', () => {
  it('PORT=<port> tend run --workers 4 -- node app.js serves from 4 distinct pids without --listen', { timeout: 40_000 }, async () => {
    const port = await freePort();
    const events = scratch('events');
    const t = startTend(['run', '--workers', '4', '--event-log', events, '--', 'node', fixture('http-app.js')], { env: { ...process.env, PORT: String(port), HANDLER_MS: '5' } });
    await withOutput(t, waitEvent(events, (e) => e.type === 'service-ready', 20_000, 'the pool ready'));
    const pids = await withOutput(t, distinctPids(port, 4, 20_000));
    const spawned = readEvents(events).filter((e) => e.type === 'spawned').map((e) => e['pid']);
    assert.deepEqual([...pids].sort(), [...spawned].sort());
    assert.ok(readEvents(events).some((e) => e.type === 'log' && String(e['message']).includes(`opened on demand`)));
    await stopAndWait(t);
  });

  it('a unix socket path on demand: one socket for every worker, kept through a reload, removed when tend exits', { timeout: 40_000 }, async () => {
    const path = scratch('app.sock');
    const events = scratch('events');
    const control = scratch('ctl.sock');
    const t = startTend(['run', '--workers', '2', '--control', control, '--event-log', events, '--', 'node', fixture('http-app.js')],
      { env: { ...process.env, LISTEN_PATH: path, HANDLER_MS: '5' } });
    await withOutput(t, waitEvent(events, (e) => e.type === 'service-ready', 20_000, 'the pool ready'));
    const pids = new Set<number>();
    await withOutput(t, until(() => { void get(path).then((a) => pids.add(a.pid), () => undefined); return pids.size === 2; }, 20_000, 'both workers answer on the unix socket'));
    const inode = statSync(path).ino;
    assert.equal(await reload(control), 0);
    assert.equal(statSync(path).ino, inode, 'the same socket file after the reload');
    assert.equal((await get(path)).generation, '1');
    await stopAndWait(t);
    assert.equal(existsSync(path), false);
  });

  it('an undeclared second port, opened first, is served by every worker and refuses nothing during a rolling reload', { timeout: 60_000 }, async () => {
    const [port, metrics] = [await freePort(), await freePort()];
    const events = scratch('events');
    const control = scratch('ctl.sock');
    const buildFile = scratch('build');
    writeFileSync(buildFile, 'good');
    const t = startTend(['run', '--workers', '2', '--control', control, '--event-log', events, '--', 'node', fixture('metrics-app.js')],
      { env: { ...process.env, PORT: String(port), METRICS_PORT: String(metrics), BUILD_FILE: buildFile } });
    await withOutput(t, waitEvent(events, (e) => e.type === 'service-ready', 20_000, 'the pool ready'));
    await withOutput(t, distinctPids(port, 2, 20_000));
    await withOutput(t, distinctPids(metrics, 2, 20_000));
    let stop!: () => void;
    const stopped = new Promise<void>((resolve) => { stop = resolve; });
    const onMain = loadUntil(port, 2, stopped);
    const onMetrics = loadUntil(metrics, 2, stopped);
    const code = await reload(control);
    stop();
    const [a, m] = [await onMain, await onMetrics];
    assert.equal(code, 0);
    assert.deepEqual({ errors: a.errors, kinds: a.errorKinds }, { errors: 0, kinds: {} });
    assert.deepEqual({ errors: m.errors, kinds: m.errorKinds }, { errors: 0, kinds: {} });
    assert.ok(m.ok > 0 && a.ok > 0);
    await withOutput(t, distinctPids(metrics, 2, 20_000, '1'));
    // Readiness was the app's own port: every ready worker of generation 1 had listened on PORT, not just metrics.
    const ready = readEvents(events).filter((e) => e.type === 'ready' && e['generation'] === 1);
    assert.equal(ready.length, 2);
    await stopAndWait(t);
  });

  it('a build that opens its metrics server and then crashes is not ready: reload exits 65, old workers keep serving', { timeout: 60_000 }, async () => {
    const [port, metrics] = [await freePort(), await freePort()];
    const events = scratch('events');
    const control = scratch('ctl.sock');
    const buildFile = scratch('build');
    writeFileSync(buildFile, 'good');
    const t = startTend(['run', '--workers', '2', '--control', control, '--event-log', events, '--restart-delay', '100ms', '--', 'node', fixture('metrics-app.js')],
      { env: { ...process.env, PORT: String(port), METRICS_PORT: String(metrics), BUILD_FILE: buildFile } });
    await withOutput(t, waitEvent(events, (e) => e.type === 'service-ready', 20_000, 'the pool ready'));
    const old = await withOutput(t, distinctPids(port, 2, 20_000));
    writeFileSync(buildFile, 'crash');
    let stop!: () => void;
    const stopped = new Promise<void>((resolve) => { stop = resolve; });
    const load = loadUntil(port, 2, stopped);
    const code = await reload(control);
    stop();
    const result = await load;
    assert.equal(code, 65);
    assert.deepEqual({ errors: result.errors, kinds: result.errorKinds }, { errors: 0, kinds: {} });
    assert.ok(result.ok > 0);
    for (const pid of result.pids) assert.ok(old.has(pid), `pid ${pid} that answered during the reload is an old worker`);
    assert.equal(readEvents(events).filter((e) => e.type === 'ready' && e['generation'] === 1).length, 0);
    assert.deepEqual([...await withOutput(t, distinctPids(port, 2, 20_000, '0'))].sort(), [...old].sort());
    await stopAndWait(t);
  });

  it('EADDRINUSE held by another program arrives as the server\'s error event; a granted socket looks like the app\'s own', { timeout: 40_000 }, async () => {
    const busy = await freePort();
    const holder = await holdPort(busy);
    try {
      const t = startTend(['run', '--workers', '1', '--', 'node', fixture('listen-error-app.js')], { env: { ...process.env, PORT: String(busy) } });
      const m = await t.waitFor(/LISTEN_ERROR (\{.*\})/, 20_000);
      const error = JSON.parse(m[1]!) as Record<string, unknown>;
      assert.deepEqual({ code: error['code'], syscall: error['syscall'], port: error['port'], listening: error['listening'] }, { code: 'EADDRINUSE', syscall: 'listen', port: busy, listening: false });
      assert.equal(error['errno'], -98);
      assert.match(String(error['message']), new RegExp(`^listen EADDRINUSE: address already in use :::${busy}$`));
      assert.doesNotMatch(t.stdout(), /LISTEN_OK/);
      await stopAndWait(t);
    } finally {
      holder.close();
    }
    const port = await freePort();
    const t = startTend(['run', '--workers', '1', '--', 'node', fixture('listen-error-app.js')], { env: { ...process.env, PORT: String(port) } });
    const ok = JSON.parse((await t.waitFor(/LISTEN_OK (\{.*\})/, 20_000))[1]!) as { address: { port: number; address: string }; connected: boolean; send: string };
    assert.deepEqual(ok, { address: { address: '::', family: 'IPv6', port }, connected: true, send: 'function' });
    await stopAndWait(t);
  });

  it('EACCES (a port below 1024, tend not root) arrives as the server\'s error event', { timeout: 40_000 }, async (t) => {
    const unprivileged = Number(readFileSync('/proc/sys/net/ipv4/ip_unprivileged_port_start', 'utf8'));
    if (process.getuid?.() !== 0) { t.skip('needs root to start tend as another user'); return; }
    if (unprivileged <= 80) { t.skip(`net.ipv4.ip_unprivileged_port_start is ${unprivileged}: port 80 needs no privilege here`); return; }
    try { execFileSync('setpriv', ['--version'], { stdio: 'ignore' }); } catch { t.skip('setpriv (util-linux) is not installed'); return; }
    // tend itself as nobody, with a runtime directory nobody may write: it cannot bind port 80, so neither can the app.
    const runtime = mkdtempSync(join(tmpdir(), 'tend-nobody-'));
    after(() => { rmSync(runtime, { recursive: true, force: true }); });
    chmodSync(runtime, 0o777);
    const tend = start(['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', tendBin, 'run', '--workers', '1', '--', 'node', fixture('listen-error-app.js')],
      { env: { ...process.env, PORT: '80', TMPDIR: runtime } });
    const m = await tend.waitFor(/LISTEN_ERROR (\{.*\})/, 20_000);
    const error = JSON.parse(m[1]!) as Record<string, unknown>;
    assert.deepEqual({ code: error['code'], syscall: error['syscall'], port: error['port'], address: error['address'] }, { code: 'EACCES', syscall: 'listen', port: 80, address: '0.0.0.0' });
    assert.equal(error['message'], 'listen EACCES: permission denied 0.0.0.0:80');
    await stopAndWait(tend);
  });
});

describe('launchers: the Node process that listens gets the socket wherever it sits', () => {
  const cases: { name: string; argv: string[] }[] = [
    { name: 'npm start', argv: ['npm', 'start'] },
    { name: 'npx tsx app.ts', argv: ['npx', 'tsx', 'tsx-app.ts'] },
    { name: 'node --import tsx app.ts', argv: ['node', '--import', 'tsx', 'tsx-app.ts'] },
    { name: 'a shell script that execs node', argv: ['./exec-node.sh'] },
    { name: 'a shell script that forks node', argv: ['./fork-node.sh'] },
  ];
  for (const c of cases) {
    it(`tend run --workers 2 -- ${c.name} serves from every worker`, { timeout: 60_000 }, async (t) => {
      if (!haveFrameworks) { t.skip(noFrameworks); return; }
      const port = await freePort();
      const events = scratch('events');
      const tend = startTend(['run', '--workers', '2', '--event-log', events, '--', ...c.argv], { cwd: frameworks, env: { ...process.env, PORT: String(port) } });
      await withOutput(tend, waitEvent(events, (e) => e.type === 'service-ready', 40_000, 'the pool ready'));
      const pids = await withOutput(tend, distinctPids(port, 2, 40_000));
      // The pids that answer are the Node processes that listen, below the launcher tend started.
      const top = readEvents(events).filter((e) => e.type === 'spawned').map((e) => Number(e['pid']));
      for (const pid of pids) assert.ok(top.includes(pid) || top.some((p) => descendants(p).includes(pid)), `pid ${pid} is in a worker's tree`);
      await stopAndWait(tend);
    });
  }
});
