// Upgraded connections at the end of a drain, with the real `ws` library: 500 WebSocket clients (one Node process,
// loopback, each reconnecting as soon as it is closed) over a rolling reload of 4 workers and then tend's final stop.
// No client may see 1006 (a connection cut without a close frame): a reload closes with 1012, the stop with 1001. The
// reconnects must be spread: the busiest second with --drain-spread 8s has at most a third of the reconnects of the
// busiest second with --drain-spread 0 (all at once).
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { freePort } from '../helpers/http.js';
import { fixture, is, killAll, shellCode, start, startTend, until, type Proc } from '../helpers/tend.js';

const frameworks = fixture('frameworks');
const haveWs = existsSync(join(frameworks, 'node_modules', 'ws'));
const CLIENTS = 500;
const WORKERS = 4;

after(() => { killAll(); });

interface Close { readonly at: number; readonly code: number }

// The clients' close lines so far, in order.
function closesOf(clients: Proc): Close[] {
  return clients.stdout().split('\n').filter((l) => l.startsWith('{"type":"close"')).map((l) => JSON.parse(l) as Close);
}

// Every client is open again after the last close it saw.
function allOpen(clients: Proc): boolean {
  const lines = clients.stdout().trim().split('\n');
  return lines[lines.length - 1]?.startsWith('{"type":"open-all"') === true;
}

// The most closes (= reconnects) within any one second.
function peakPerSecond(closes: readonly Close[]): number {
  const times = closes.map((c) => c.at).sort((a, b) => a - b);
  let peak = 0;
  let first = 0;
  for (let last = 0; last < times.length; last++) {
    while ((times[last] ?? 0) - (times[first] ?? 0) >= 1_000) first++;
    peak = Math.max(peak, last - first + 1);
  }
  return peak;
}

function codes(closes: readonly Close[]): Record<number, number> {
  const counts: Record<number, number> = {};
  for (const c of closes) counts[c.code] = (counts[c.code] ?? 0) + 1;
  return counts;
}

// One tend with the given spread: a rolling reload, then the final stop; the closes each one caused.
async function reloadThenStop(spread: string): Promise<{ reload: Close[]; stop: Close[] }> {
  const port = await freePort();
  const tend = startTend(['run', '--workers', String(WORKERS), '--listen', `tcp://127.0.0.1:${port}`, '--drain-spread', spread,
    '--', 'node', 'ws-app.js'], { cwd: frameworks });
  const clients = start(['node', 'ws-clients.js', `ws://127.0.0.1:${port}/`, String(CLIENTS)], { cwd: frameworks, stdin: 'pipe' });
  try {
    await tend.waitEvent(is('service-ready'), 30_000);
    await clients.waitFor(/"open-all"/, 30_000);
    process.kill(tend.pid, 'SIGHUP');
    await tend.waitEvent(is('reload-finished', (e) => e.ok), 60_000);
    await tend.waitEvents(is('exited', (e) => e.reason === 'reload'), WORKERS, 30_000);
    await until(() => allOpen(clients), 20_000, `all ${CLIENTS} clients open again after the reload`);
    const reload = closesOf(clients);
    process.kill(tend.pid, 'SIGTERM');
    assert.equal(shellCode(await tend.exited(30_000)), 0);
    // Every client saw its close before tend exited (tend waits for its workers, which wait for their sockets).
    await until(() => closesOf(clients).length >= reload.length + CLIENTS, 10_000, 'a close for every client at the stop');
    return { reload, stop: closesOf(clients).slice(reload.length) };
  } finally {
    clients.child.stdin?.end('stop\n');
    await clients.exited(10_000).catch(() => { clients.child.kill('SIGKILL'); });
  }
}

describe('WebSockets at the end of a drain (ws, 500 clients, 4 workers)', () => {
  it('no 1006 over a rolling reload (1012) and a stop (1001); --drain-spread 8s cuts the peak reconnect rate to a third', { timeout: 150_000 }, async (t) => {
    if (!haveWs) { t.skip('test/fixtures/frameworks has no node_modules/ws: run bash scripts/install-test-deps.sh'); return; }
    const burst = await reloadThenStop('0s');
    const spread = await reloadThenStop('8s');
    for (const [name, run] of [['--drain-spread 0', burst], ['--drain-spread 8s', spread]] as const) {
      assert.ok(run.reload.length >= CLIENTS, `${name}: every client was closed at least once by the reload (${run.reload.length})`);
      assert.deepEqual(Object.keys(codes(run.reload)), ['1012'], `${name}: reload close codes ${JSON.stringify(codes(run.reload))}`);
      assert.deepEqual(Object.keys(codes(run.stop)), ['1001'], `${name}: stop close codes ${JSON.stringify(codes(run.stop))}`);
    }
    const peakBurst = peakPerSecond(burst.reload);
    const peakSpread = peakPerSecond(spread.reload);
    t.diagnostic(`peak reconnects per second: ${peakBurst} all at once, ${peakSpread} spread over 8 s`);
    assert.ok(peakSpread * 3 <= peakBurst, `spread peak ${peakSpread}/s is more than a third of the all-at-once peak ${peakBurst}/s`);
  });
});

describe('other upgraded connections at the end of a drain', () => {
  it('a non-WebSocket upgrade gets no close frame: it is ended at the end of --drain-spread', { timeout: 30_000 }, async () => {
    const port = await freePort();
    const tend = startTend(['run', '--workers', '1', '--listen', `tcp://127.0.0.1:${port}`, '--drain-spread', '1500ms', '--', 'node', fixture('upgrade-app.js')]);
    await tend.waitEvent(is('service-ready'), 15_000);
    const socket = net.connect(port, '127.0.0.1');
    let received = '';
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => { received += d; });
    const ended = new Promise<number>((resolve) => { socket.on('end', () => { resolve(Date.now()); }); });
    socket.write('GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n');
    await until(() => received.includes('\r\n\r\n'), 5_000, 'the 101 response');
    socket.write('ping');
    await until(() => received.endsWith('ping'), 5_000, 'the echo');
    const before = received.length;
    process.kill(tend.pid, 'SIGTERM');
    const stopping = await tend.waitEvent(is('stopping'), 5_000);
    const at = await ended;
    socket.end();
    assert.equal(received.length, before, `nothing was written to the upgraded connection: ${JSON.stringify(received.slice(before))}`);
    assert.ok(at - stopping.at >= 1_300, `ended ${at - stopping.at} ms after the stop began, before the 1.5 s spread was over`);
    assert.equal(shellCode(await tend.exited(15_000)), 0);
  });
});
