// Contract tests for the addon's signal watch: real-time signals and SIGPIPE from another process reach the callback
// on the event loop; the SIGPIPE tend's own writes raise does not; close() restores the previous dispositions.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { native, type SignalWatch } from '../../src/os/native.js';

const T = { timeout: 10_000 };
const SIGPIPE = 13;

/** Bit n-1 of a /proc/self/status signal mask line (SigCgt, SigIgn, …). */
function inMask(field: string, signo: number): boolean {
  const line = fs.readFileSync('/proc/self/status', 'utf8').split('\n').find((l) => l.startsWith(`${field}:`));
  assert.ok(line !== undefined, field);
  return (BigInt(`0x${line.split('\t')[1]!.trim()}`) & (1n << BigInt(signo - 1))) !== 0n;
}

/** A watch whose deliveries can be awaited in order. */
function recorder(signos: readonly number[]): { watch: SignalWatch; seen: number[]; next(): Promise<number> } {
  const seen: number[] = [];
  const waiters: ((signo: number) => void)[] = [];
  const watch = native.signalWatch(signos, (signo) => {
    seen.push(signo);
    waiters.shift()?.(signo);
  });
  let read = 0;
  return {
    watch,
    seen,
    next() {
      if (read < seen.length) return Promise.resolve(seen[read++]!);
      // The watch does not keep the loop alive (like process.on signal listeners); this timer does while we wait.
      const keepAlive = setInterval(() => undefined, 1 << 30);
      return new Promise<number>((resolve) => {
        waiters.push((signo) => { read++; resolve(signo); });
      }).finally(() => { clearInterval(keepAlive); });
    },
  };
}

describe('signalWatch', () => {
  test('realtimeSignalRange is the C library SIGRTMIN..SIGRTMAX', () => {
    const { min, max } = native.realtimeSignalRange();
    assert.ok(min >= 34 && min <= 35, `SIGRTMIN ${min}`);
    assert.equal(max, 64);
  });

  test('delivers real-time signals from this and another process, in order, and restores SIG_DFL on close', T, async () => {
    const r = recorder([34, 37, 64]);
    try {
      assert.ok(inMask('SigCgt', 37), 'a handler is installed for 37');
      process.kill(process.pid, 37);
      assert.equal(await r.next(), 37);
      execFileSync('kill', ['-s', 'RTMIN+3', String(process.pid)]);
      assert.equal(await r.next(), 37);
      execFileSync('kill', ['-s', '64', String(process.pid)]); // procps kill misreads the name RTMAX
      assert.equal(await r.next(), 64);
      process.kill(process.pid, 34);
      assert.equal(await r.next(), 34);
      assert.deepEqual(r.seen, [37, 37, 64, 34]);
    } finally {
      r.watch.close();
    }
    r.watch.close(); // idempotent
    assert.ok(!inMask('SigCgt', 37) && !inMask('SigIgn', 37), 'back to SIG_DFL');
  });

  test('one watch per process: a second one fails with EBUSY until the first is closed', T, () => {
    const first = native.signalWatch([40], () => undefined);
    try {
      assert.throws(() => native.signalWatch([41], () => undefined), { code: 'EBUSY', syscall: 'sigaction' });
    } finally {
      first.close();
    }
    native.signalWatch([41], () => undefined).close();
  });

  test('SIGPIPE: forwarded when another process sends it, dropped when our own write raises it; Node\'s SIG_IGN returns on close', T, async () => {
    assert.ok(inMask('SigIgn', SIGPIPE), 'Node ignores SIGPIPE');
    const r = recorder([SIGPIPE, 40]);
    try {
      assert.ok(inMask('SigCgt', SIGPIPE));
      // Our own write to a pipe nobody reads: EPIPE, and the kernel raises SIGPIPE in this process. The handler runs
      // before writeSync returns, so if it were delivered it would come before the marker signal sent next.
      const [readEnd, writeEnd] = native.pipe();
      native.closeFd(readEnd);
      assert.throws(() => fs.writeSync(writeEnd, 'x'), { code: 'EPIPE' });
      native.closeFd(writeEnd);
      process.kill(process.pid, 40);
      assert.equal(await r.next(), 40, 'the self-raised SIGPIPE was dropped');

      execFileSync('kill', ['-PIPE', String(process.pid)]);
      assert.equal(await r.next(), SIGPIPE, 'a SIGPIPE from another process is delivered');
    } finally {
      r.watch.close();
    }
    assert.ok(inMask('SigIgn', SIGPIPE), 'SIG_IGN restored');
  });

  test('rejects bad arguments in the facade', () => {
    assert.throws(() => native.signalWatch([0], () => undefined), /signos\[0\] must be an integer in \[1, 64\]/);
    assert.throws(() => native.signalWatch([65], () => undefined), /signos\[0\]/);
    assert.throws(() => native.signalWatch([40], 'x' as unknown as () => void), /onSignal must be a function/);
  });
});

describe('kill', () => {
  test('answers a gone process or group with false, a live one with true, and sends the signal', T, async () => {
    const { spawn } = await import('node:child_process');
    const child = spawn('sleep', ['30'], { detached: true, stdio: 'ignore' });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => { child.once('exit', (_code, signal) => { resolve(signal); }); });
    const pid = child.pid!;
    assert.equal(native.kill(pid, 0), true);
    assert.equal(native.kill(-pid, 0), true, 'its own process group (detached)');
    assert.equal(native.kill(-pid, 15), true);
    assert.equal(await exited, 'SIGTERM');
    assert.equal(native.kill(pid, 0), false, 'reaped: no such process');
    assert.equal(native.kill(-pid, 0), false, 'no such process group');
  });

  test('refuses 0 and -1 (its own group, every process) and out-of-range signals', () => {
    assert.throws(() => native.kill(0, 0), /pid/);
    assert.throws(() => native.kill(-1, 15), /pid/);
    assert.throws(() => native.kill(process.pid, 65), /signo/);
  });
});
