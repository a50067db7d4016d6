// The operator's surface against real tends: the control socket's ownership and limits (10.7), tend status, scale,
// signal, restart, stop and logs, a second user (nobody) and a --control-group member.
import assert from 'node:assert/strict';
import { chmodSync, lstatSync, readFileSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { freePort, get, loadUntil } from '../helpers/http.js';
import { fixture, killAll, type Proc, removeTempDirs, shellCode, start, startTend, tempDir, tendBin } from '../helpers/tend.js';

const servers: Server[] = [];
afterEach(() => {
  killAll();
  for (const s of servers.splice(0)) s.close();
  removeTempDirs();
});

// Run a tend CLI command to completion: its exit code and output.
async function cli(args: readonly string[], prefix: readonly string[] = [], env: NodeJS.ProcessEnv = process.env): Promise<{ code: number; out: string; err: string }> {
  const p = start([...prefix, tendBin, ...args], { env });
  const exit = await p.exited(30_000);
  return { code: shellCode(exit), out: p.stdout(), err: p.stderr() };
}

async function pool(dir: string, extra: readonly string[] = [], workers = 2): Promise<{ tend: Proc; ctl: string; port: number }> {
  const ctl = join(dir, 'ctl.sock');
  const port = await freePort();
  const tend = startTend(['run', '--workers', String(workers), '--listen', `tcp://127.0.0.1:${port}`, '--control', ctl, ...extra, '--', 'node', fixture('http-app.js'), '--token=argv-secret'], { env: { ...process.env, SECRET: 'env-secret-value' } });
  await tend.waitFor(new RegExp(`(app \\d+ listening[\\s\\S]*){${workers}}`), 20_000);
  return { tend, ctl, port };
}

// Write raw bytes to the control socket and resolve with what came back before it closed, and when.
function raw(path: string, data: string): Promise<{ text: string; closedAfterMs: number }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const socket = connect(path);
    let text = '';
    socket.on('connect', () => { if (data !== '') socket.write(data); });
    socket.on('data', (d: Buffer) => { text += d.toString(); });
    socket.on('error', () => undefined);
    socket.on('close', () => { resolve({ text, closedAfterMs: performance.now() - t0 }); });
    setTimeout(() => { socket.destroy(); reject(new Error('the control socket kept the connection open')); }, 15_000).unref();
  });
}

describe('the control socket belongs to its owner', { timeout: 90_000 }, () => {
  it('is 0600 and tend-owned; status and logs never show the environment or arguments', async () => {
    const dir = tempDir('tend-op-');
    const { ctl } = await pool(dir);
    const st = lstatSync(ctl);
    assert.ok(st.isSocket());
    assert.equal(st.mode & 0o777, 0o600);
    assert.equal(st.uid, process.getuid?.());
    const status = await cli(['status', '--json', '--control', ctl]);
    assert.equal(status.code, 0, status.err);
    const parsed = JSON.parse(status.out) as { services: { ready: number; desired: number; workers: { pid: number; rssBytes: number; fds: number }[] }[] };
    assert.equal(parsed.services[0]?.ready, 2);
    assert.ok(parsed.services.some((s) => s.workers.some((w) => w.rssBytes > 0)), "a worker has its RSS");
    const logs = await cli(['logs', '-n', '50', '--control', ctl]);
    assert.equal(logs.code, 0, logs.err);
    assert.match(logs.out, /main\.[01] \| app \d+ listening/);
    for (const text of [status.out, logs.out]) {
      assert.doesNotMatch(text, /env-secret-value|argv-secret/);
    }
    const check = await cli(['status', '--check', '--control', ctl]);
    assert.equal(check.code, 0);
  });

  it('refuses a path too long, a regular file (kept intact) and another program\'s live socket; each is fatal', async () => {
    const dir = tempDir('tend-op-');
    const long = await cli(['run', '--workers', '1', '--control', join(dir, 'x'.repeat(120)), '--', 'sleep', '30']);
    assert.equal(long.code, 64);
    assert.match(long.err, /^tend: --control .*longer than 107 bytes.*\n$/);
    const file = join(dir, 'notes.txt');
    writeFileSync(file, 'keep me');
    const onFile = await cli(['run', '--workers', '1', '--control', file, '--', 'sleep', '30']);
    assert.equal(onFile.code, 69, onFile.err);
    assert.match(onFile.err, /not a socket.*never deletes it/);
    assert.equal(readFileSync(file, 'utf8'), 'keep me');
    const live = join(dir, 'other.sock');
    const other = createServer(() => undefined);
    servers.push(other);
    await new Promise<void>((resolve) => other.listen(live, resolve));
    const onLive = await cli(['run', '--workers', '1', '--control', live, '--', 'sleep', '30']);
    assert.equal(onLive.code, 69, onLive.err);
    assert.match(onLive.err, /another live process accepts connections there/);
    assert.ok(lstatSync(live).isSocket());
  });

  it('closes a connection that sends more than 64 KiB without a newline, and one that stays idle', async () => {
    const dir = tempDir('tend-op-');
    const { ctl } = await pool(dir, [], 1);
    const big = await raw(ctl, 'x'.repeat(70 * 1024));
    assert.match(big.text, /request longer than 65536 bytes/);
    const idle = await raw(ctl, '');
    assert.ok(idle.closedAfterMs >= 4_000 && idle.closedAfterMs < 12_000, `closed after ${idle.closedAfterMs} ms`);
    // tend still answers.
    assert.equal((await cli(['status', '--check', '--control', ctl])).code, 0);
  });

  it('another user cannot connect; a --control-group member reads status but may not reload', async (t) => {
    if (process.getuid?.() !== 0) { t.skip('needs root to run a command as nobody'); return; }
    const dir = tempDir('tend-op-');
    chmodSync(dir, 0o755);
    const asNobody = ['setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups', '--'];
    const plain = await pool(dir);
    const denied = await cli(['status', '--control', plain.ctl], asNobody);
    assert.equal(denied.code, 77, denied.err);
    assert.match(denied.err, /EACCES/);
    const dir2 = tempDir('tend-op-');
    chmodSync(dir2, 0o755);
    const grouped = await pool(dir2, ['--control-group', 'nogroup']);
    assert.equal(lstatSync(grouped.ctl).mode & 0o777, 0o660);
    const status = await cli(['status', '--json', '--control', grouped.ctl], asNobody);
    assert.equal(status.code, 0, status.err);
    assert.equal((JSON.parse(status.out) as { ready: number }).ready, 2);
    const reload = await cli(['reload', '--control', grouped.ctl], asNobody);
    assert.equal(reload.code, 77, reload.err);
    assert.match(reload.err, /permission denied/);
    const scale = await cli(['scale', '5', '--control', grouped.ctl], asNobody);
    assert.equal(scale.code, 77);
  });
});

describe('operator commands', { timeout: 120_000 }, () => {
  it('scale 4 -> 6 -> 2 under load loses no request; signal, restart and stop report their outcome', async () => {
    const dir = tempDir('tend-op-');
    const { tend, ctl, port } = await pool(dir, [], 4);
    let finish: () => void = () => undefined;
    const stopLoad = new Promise<void>((resolve) => { finish = resolve; });
    const load = loadUntil(port, 4, stopLoad);
    const up = await cli(['scale', '6', '--control', ctl]);
    assert.equal(up.code, 0, up.err);
    assert.match(up.out, /main\.5 ready/);
    assert.match(up.out, /scale done: 6 worker\(s\) ready \(exit 0\)/);
    const down = await cli(['scale', '-4', '--control', ctl]);
    assert.equal(down.code, 0, down.err);
    assert.match(down.out, /removed/);
    finish();
    const result = await load;
    assert.equal(result.errors, 0, JSON.stringify(result.errorKinds));
    assert.ok(result.ok > 20, `only ${result.ok} requests: the load did not run through the scale`);
    const status = JSON.parse((await cli(['status', '--json', '--control', ctl])).out) as { desired: number; ready: number };
    assert.deepEqual([status.desired, status.ready], [2, 2]);
    const term = await cli(['signal', 'TERM', '--control', ctl]);
    assert.equal(term.code, 64);
    assert.match(term.err, /--force/);
    const hup = await cli(['signal', 'USR2', '--slot', '0', '--control', ctl]);
    assert.equal(hup.code, 0, hup.err);
    const restart = await cli(['restart', '--control', ctl]);
    assert.equal(restart.code, 0, restart.err);
    assert.match(restart.out, /old one drained/);
    assert.equal((await get(port)).generation, '1');
    const stop = await cli(['stop', '--control', ctl]);
    assert.equal(stop.code, 0, stop.err);
    assert.match(stop.out, /tend exits with code 0/);
    assert.equal(shellCode(await tend.exited(20_000)), 0);
  });

  it('each command names one of several services', async () => {
    const dir = tempDir('tend-op-');
    const [webPort, apiPort] = [await freePort(), await freePort()];
    const app = fixture('http-app.js');
    writeFileSync(join(dir, 'tend.yaml'), `services:\n  web:\n    command: [node, ${app}]\n    workers: 2\n    listen: tcp://127.0.0.1:${webPort}\n  api:\n    command: [node, ${app}]\n    workers: 1\n    listen: tcp://127.0.0.1:${apiPort}\n`);
    const ctl = join(dir, 'ctl.sock');
    const tend = startTend(['run', '--config', join(dir, 'tend.yaml'), '--control', ctl]);
    await tend.waitFor(/(app \d+ listening[\s\S]*){3}/, 20_000);
    const status = JSON.parse((await cli(['status', 'api', '--json', '--control', ctl])).out) as { services: { name: string; desired: number }[] };
    assert.deepEqual(status.services.map((s) => [s.name, s.desired]), [['api', 1]]);
    assert.equal((await cli(['scale', 'api', '+1', '--control', ctl])).code, 0);
    const restart = await cli(['restart', 'web', '--control', ctl]);
    assert.equal(restart.code, 0, restart.err);
    assert.doesNotMatch(restart.out, /api\.\d starting/);
    const logs = await cli(['logs', 'api', '--slot', '1', '--control', ctl]);
    assert.match(logs.out, /^api\.1 \| app \d+ listening$/m);
    assert.doesNotMatch(logs.out, /web\./);
    const unknown = await cli(['scale', 'nope', '3', '--control', ctl]);
    assert.equal(unknown.code, 65);
    assert.equal((await cli(['stop', '--control', ctl])).code, 0);
    await tend.exited(20_000);
  });

  it('logs -f follows new lines until interrupted', async () => {
    const dir = tempDir('tend-op-');
    const ctl = join(dir, 'ctl.sock');
    const tend = startTend(['run', '--workers', '1', '--control', ctl, '--', 'sh', '-c', 'i=0; while :; do i=$((i+1)); echo "tick $i"; sleep 0.2; done']);
    await tend.waitFor(/tick 2\b/, 15_000);
    const follow = start([tendBin, 'logs', '-f', '-n', '0', '--control', ctl]);
    const first = Number((await follow.waitFor(/main\.0 \| tick (\d+)/, 15_000))[1]);
    // Live lines keep arriving after the first.
    await follow.waitFor(new RegExp(`main\\.0 \\| tick ${first + 2}\\b`), 15_000);
    follow.child.kill('SIGINT');
    await follow.exited(5_000);
  });
});
