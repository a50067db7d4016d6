// tend → systemd (src/systemd/notifier.ts) without booting systemd: the datagrams the pool observer sends to a real
// NOTIFY_SOCKET for each pool event, what it refuses to send (READY before the pool is ready, extensions without
// progress), send errors that must never reach tend, and the watchdog: pings every WATCHDOG_USEC/2, withheld after
// the event loop was blocked. The same behaviour against the real systemd is in lifecycle.test.ts.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Logger } from '../../src/log.js';
import * as native from '../../src/os/native.js';
import type { DgramMessage } from '../../src/os/native.js';
import { isRejection, parseNotify } from '../../src/protocol/sd-notify.js';
import { createSystemdObserver, STOP_EXTEND_MARGIN_MS, watchdogUsecFor, type SystemdNotifier } from '../../src/systemd/notifier.js';
import { inbox } from '../helpers/inbox.js';

const T = { timeout: 15_000 };

function captureLog(): Logger & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    enabled: () => true,
    error: (m) => { lines.push(`error: ${m}`); },
    warn: (m) => { lines.push(`warn: ${m}`); },
    info: (m) => { lines.push(`info: ${m}`); },
    debug: (m) => { lines.push(`debug: ${m}`); },
  };
}


const fieldsOf = (m: DgramMessage): Record<string, string> => {
  const out = parseNotify(m.data, m.truncated);
  assert.ok(!isRejection(out), `systemd would drop this: ${isRejection(out) ? out.rejected : ''}`);
  return Object.fromEntries(out.fields);
};

/** Proves the queue is empty *now*: a marker datagram sent after the calls under test must be the next one. */
async function assertNothingSentBefore(b: ReturnType<typeof inbox>, address: string): Promise<void> {
  native.dgramSend(address, Buffer.from('X_MARKER=1\n'));
  assert.deepEqual(fieldsOf(await b.next()), { X_MARKER: '1' });
}

describe('systemd notifier: setup', () => {
  it('no NOTIFY_SOCKET (or an empty one): null, nothing to do', T, () => {
    const log = captureLog();
    assert.equal(createSystemdObserver({}, log), null);
    assert.equal(createSystemdObserver({ NOTIFY_SOCKET: '' }, log), null);
    assert.deepEqual(log.lines, []);
  });

  it('a NOTIFY_SOCKET tend cannot use: null, with a warning that says why', T, () => {
    for (const [value, why] of [['vsock:2:999', /vsock/], ['relative/notify', /absolute/], [`/${'x'.repeat(120)}`, /longer/]] as const) {
      const log = captureLog();
      assert.equal(createSystemdObserver({ NOTIFY_SOCKET: value }, log), null);
      assert.equal(log.lines.length, 1);
      assert.match(log.lines[0] ?? '', /^warn: NOTIFY_SOCKET=.*will not report/);
      assert.match(log.lines[0] ?? '', why);
    }
  });

  it('WATCHDOG_USEC applies only with WATCHDOG_PID absent or equal to our pid', T, () => {
    assert.equal(watchdogUsecFor({ WATCHDOG_USEC: '2000000' }, 42), 2_000_000);
    assert.equal(watchdogUsecFor({ WATCHDOG_USEC: '2000000', WATCHDOG_PID: '42' }, 42), 2_000_000);
    assert.equal(watchdogUsecFor({ WATCHDOG_USEC: '2000000', WATCHDOG_PID: '43' }, 42), null);
    for (const bad of ['', '0', '-5', '1.5', 'x', '99999999999999999']) assert.equal(watchdogUsecFor({ WATCHDOG_USEC: bad }, 42), null, bad);
  });
});

describe('systemd notifier: pool events → datagrams', () => {
  const address = `@tend-notifier-test-${process.pid}`;
  let fd = -1;
  let b: ReturnType<typeof inbox>;
  let sd: SystemdNotifier | null = null;
  before(() => {
    fd = native.dgramBind(address);
    b = inbox(fd);
  });
  after(() => {
    sd?.stop();
    b.close();
    native.closeFd(fd);
  });

  it('READY=1 only once the pool is ready; STATUS before; reload, failed reload, stop and its extensions', T, async () => {
    const log = captureLog();
    sd = createSystemdObserver({ NOTIFY_SOCKET: address }, log);
    assert.ok(sd !== null);
    assert.equal(sd.watchdogPingMs, null);
    const o = sd.observer;

    o.onStatus('1/2 workers ready, generation 0');
    const m = await b.next();
    assert.equal(m.pid, process.pid);
    assert.deepEqual(fieldsOf(m), { STATUS: '1/2 workers ready, generation 0' });
    // A reload asked for during boot is not a systemd reload: nothing is sent for it.
    o.onReloading();
    o.onReloaded(false, '1/2 workers ready, generation 1');
    assert.deepEqual(fieldsOf(await b.next()), { STATUS: '1/2 workers ready, generation 1' });

    o.onReady('2/2 workers ready, generation 1');
    assert.deepEqual(fieldsOf(await b.next()), { READY: '1', STATUS: '2/2 workers ready, generation 1' });

    const lo = process.hrtime.bigint() / 1000n;
    o.onReloading();
    const hi = process.hrtime.bigint() / 1000n;
    const reloading = fieldsOf(await b.next());
    assert.equal(reloading['RELOADING'], '1');
    assert.equal(reloading['STATUS'], 'reloading');
    const mono = BigInt(reloading['MONOTONIC_USEC'] ?? '0');
    assert.ok(mono >= lo && mono <= hi, `MONOTONIC_USEC ${mono} is CLOCK_MONOTONIC now [${lo}, ${hi}]`);

    o.onReloaded(false, '2/2 workers ready, generation 2');
    assert.deepEqual(fieldsOf(await b.next()), { READY: '1', STATUS: '2/2 workers ready, generation 2 (last reload failed, rolled back)' });
    o.onReloading();
    assert.equal(fieldsOf(await b.next())['RELOADING'], '1');
    o.onReloaded(true, '2/2 workers ready, generation 3');
    assert.deepEqual(fieldsOf(await b.next()), { READY: '1', STATUS: '2/2 workers ready, generation 3' });
    o.onStatus('multi\nline');
    assert.deepEqual(fieldsOf(await b.next()), { STATUS: 'multi line' });

    o.onStopProgress(9_000); // not stopping yet: ignored
    o.onStopping();
    assert.deepEqual(fieldsOf(await b.next()), { STOPPING: '1', STATUS: 'stopping: draining workers' });
    o.onStopping(); // once only
    o.onStopProgress(5_000);
    assert.deepEqual(fieldsOf(await b.next()), { EXTEND_TIMEOUT_USEC: String((5_000 + STOP_EXTEND_MARGIN_MS) * 1000) });
    o.onStopProgress(4_000);
    assert.deepEqual(fieldsOf(await b.next()), { EXTEND_TIMEOUT_USEC: String((4_000 + STOP_EXTEND_MARGIN_MS) * 1000) });
    o.onStopProgress(4_000); // no progress
    o.onStopProgress(0); // tend's own deadline has passed: systemd's timeout applies again
    o.onReady('late'); // never READY=1 after STOPPING=1
    o.onReloading();
    o.onReloaded(true, 'late');
    await assertNothingSentBefore(b, address);
    assert.ok(!log.lines.some((l) => /^(warn|error)/.test(l)), log.lines.join('\n'));
    sd.stop();
    sd = null;
  });

  it('a READY that nobody hears (systemd gone: ECONNREFUSED/ENOENT) is a debug line, never an exception', T, () => {
    for (const target of [`@tend-notifier-nobody-${process.pid}`, '/nonexistent/dir/notify.sock']) {
      const log = captureLog();
      const s = createSystemdObserver({ NOTIFY_SOCKET: target }, log);
      assert.ok(s !== null);
      s.observer.onReady('2/2');
      s.observer.onStopping();
      s.stop();
      assert.ok(log.lines.some((l) => /^debug: systemd: could not send READY=1 .*(ECONNREFUSED|ENOENT)/.test(l)), log.lines.join('\n'));
      assert.ok(!log.lines.some((l) => /^(warn|error)/.test(l)), log.lines.join('\n'));
    }
  });

  it('EAGAIN (systemd not reading) is quiet; any other error is warned about once per code, and tend goes on', T, () => {
    const log = captureLog();
    const fail = (code: string) => (_path: string, _data: Buffer): never => { throw Object.assign(new Error(`sendto: ${code}`), { code, errno: 1, syscall: 'sendto' }); };
    let thrower = fail('EAGAIN');
    const s = createSystemdObserver({ NOTIFY_SOCKET: '@x' }, log, { send: (...a) => { thrower(...a); } });
    assert.ok(s !== null);
    s.observer.onStatus('a');
    thrower = fail('EPERM');
    s.observer.onStatus('b');
    s.observer.onStatus('c');
    thrower = fail('EMSGSIZE');
    s.observer.onStatus('d');
    s.stop();
    const warnings = log.lines.filter((l) => l.startsWith('warn:'));
    assert.equal(warnings.length, 2, log.lines.join('\n'));
    assert.match(warnings[0] ?? '', /EPERM/);
    assert.match(warnings[1] ?? '', /EMSGSIZE/);
    assert.ok(log.lines.some((l) => /^debug: .*EAGAIN/.test(l)));
  });
});

describe('systemd notifier: watchdog', () => {
  /** A notifier whose sends are timestamped in memory (the loop-lag logic is what is under test here). */
  function watched(usec: number, env: Record<string, string> = {}): { sd: SystemdNotifier; pings: number[]; log: ReturnType<typeof captureLog>; waitPings: (n: number, timeoutMs: number) => Promise<void> } {
    const pings: number[] = [];
    const waiters: (() => void)[] = [];
    const log = captureLog();
    const sd = createSystemdObserver({ NOTIFY_SOCKET: '@unused', WATCHDOG_USEC: String(usec), ...env }, log, {
      send: (_path, data) => {
        if (data.toString() === 'WATCHDOG=1\n') pings.push(performance.now());
        for (const w of waiters.splice(0)) w();
      },
    });
    assert.ok(sd !== null);
    const waitPings = (n: number, timeoutMs: number): Promise<void> => new Promise((resolve, reject) => {
      const deadline = setTimeout(() => { reject(new Error(`only ${pings.length} pings within ${timeoutMs} ms`)); }, timeoutMs);
      const check = (): void => {
        if (pings.length >= n) { clearTimeout(deadline); resolve(); } else waiters.push(check);
      };
      check();
    });
    return { sd, pings, log, waitPings };
  }

  const block = (ms: number): void => { Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms); };

  it('no pings when WATCHDOG_PID names another process', T, () => {
    const { sd, pings } = watched(200_000, { WATCHDOG_PID: String(process.pid + 1) });
    assert.equal(sd.watchdogPingMs, null);
    assert.equal(pings.length, 0);
    sd.stop();
  });

  it('pings at once, then every WATCHDOG_USEC/2 while the loop is healthy', T, async (t) => {
    const { sd, pings, waitPings } = watched(400_000, { WATCHDOG_PID: String(process.pid) });
    try {
      assert.equal(sd.watchdogPingMs, 200);
      assert.equal(pings.length, 1, 'the first ping goes out immediately');
      await waitPings(7, 5_000);
      const gaps = pings.slice(1).map((p, i) => p - (pings[i] ?? p));
      t.diagnostic(`ping gaps (ms): ${gaps.map((g) => g.toFixed(0)).join(' ')}`);
      for (const gap of gaps) assert.ok(gap >= 170 && gap < 400, `gap ${gap.toFixed(1)} ms (every 200 ms expected, always well inside WATCHDOG_USEC=400ms)`);
    } finally {
      sd.stop();
    }
  });

  it('a loop blocked longer than WATCHDOG_USEC/2 withholds pings for a whole WATCHDOG_USEC; a short block does not', T, async (t) => {
    const usecMs = 400;
    const { sd, pings, log, waitPings } = watched(usecMs * 1000);
    try {
      await waitPings(3, 5_000);
      // A short hiccup (a quarter of the interval) is tolerated: pings go on at their usual pace.
      let n = pings.length;
      block(100);
      await waitPings(n + 1, 5_000);
      const afterShort = (pings[n] ?? 0) - (pings[n - 1] ?? 0);
      assert.ok(afterShort < usecMs - 50, `after a 100 ms block the next ping came ${afterShort.toFixed(0)} ms after the previous one`);
      assert.ok(!log.lines.some((l) => l.startsWith('error:')), log.lines.join('\n'));

      // A long block: the gap between pings must exceed WATCHDOG_USEC, so systemd's watchdog fires.
      await waitPings(pings.length + 1, 5_000);
      n = pings.length;
      const blockedAt = performance.now();
      block(300);
      await waitPings(n + 1, 5_000);
      const gap = (pings[n] ?? 0) - (pings[n - 1] ?? 0);
      const silentAfterBlock = (pings[n] ?? 0) - (blockedAt + 300);
      t.diagnostic(`after a 300 ms block: ping gap ${gap.toFixed(0)} ms, silent for ${silentAfterBlock.toFixed(0)} ms after the loop resumed`);
      assert.ok(gap > usecMs + 250, `gap ${gap.toFixed(0)} ms must exceed WATCHDOG_USEC (${usecMs} ms) by the block and more`);
      assert.ok(silentAfterBlock >= usecMs - 20, `pings resumed ${silentAfterBlock.toFixed(0)} ms after the block ended`);
      assert.ok(log.lines.some((l) => /^error: event loop blocked for \d+ms .*withholding WATCHDOG=1/.test(l)), log.lines.join('\n'));
      assert.ok(log.lines.some((l) => /^warn: .*resuming watchdog pings/.test(l)), log.lines.join('\n'));
    } finally {
      sd.stop();
    }
  });

  it('stop() ends the pings', T, async () => {
    const { sd, pings, waitPings } = watched(100_000);
    await waitPings(2, 5_000);
    sd.stop();
    const n = pings.length;
    // Long enough for four more pings had the timer survived; a bounded wait on a timer, not a synchronisation.
    await new Promise((r) => setTimeout(r, 250));
    assert.equal(pings.length, n);
  });
});
