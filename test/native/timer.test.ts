// Contract tests for the addon's timer (native/timer.c): it fires once, no earlier than asked by the loop's clock;
// stop() and a re-start() replace what was armed; close() is idempotent; a started timer (and the keep-alive) holds
// a process's event loop open like a Node timer, and a stopped or closed one does not. The loop-alive tests run in a
// child `node` and watch it exit.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { native, type NativeTimer } from '../../src/os/native.js';

const T = { timeout: 10_000 };
const nativeUrl = new URL('../../src/os/native.js', import.meta.url).href;

/** A timer whose fires can be awaited; each resolves with the loop clock at the fire. */
function recorder(): { timer: NativeTimer; fires: number[]; next(): Promise<number> } {
  const fires: number[] = [];
  const waiters: ((at: number) => void)[] = [];
  const timer = native.timer(() => {
    const at = timer.now();
    fires.push(at);
    waiters.shift()?.(at);
  });
  return { timer, fires, next: () => new Promise<number>((resolve) => { waiters.push(resolve); }) };
}

/** Runs `body` with two recorders (the timer under test and a later marker) and closes both, whatever happens. */
async function withTwo(body: (r: ReturnType<typeof recorder>, marker: ReturnType<typeof recorder>) => Promise<void>): Promise<void> {
  const r = recorder();
  const marker = recorder();
  try {
    await body(r, marker);
  } finally {
    r.timer.close();
    marker.timer.close();
  }
}

/** Runs `script` (ESM, with `native` imported) in a fresh node; resolves with its exit code, signal and stdout. */
async function runChild(script: string, onLine?: (line: string, pid: number) => void): Promise<{ code: number | null; signal: string | null; stdout: string }> {
  const child = spawn(process.execPath, ['--input-type=module', '-e', `import { native } from ${JSON.stringify(nativeUrl)};\n${script}`], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    let stdout = '';
    let partial = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      stdout += chunk;
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) onLine?.(line, child.pid!);
    });
    const [code, signal] = await new Promise<[number | null, string | null]>((resolve) => { child.once('close', (c, s) => { resolve([c, s]); }); });
    return { code, signal, stdout };
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}

describe('native timer', () => {
  test('fires once, no earlier than the asked ms by the loop clock', T, async () => {
    const r = recorder();
    try {
      const startedAt = r.timer.now();
      r.timer.start(30);
      const at = await r.next();
      assert.ok(at - startedAt >= 30, `fired after ${at - startedAt} ms`);
      // A second, shorter timer fires after it: the first fired only once.
      const marker = recorder();
      marker.timer.start(20);
      await marker.next();
      marker.timer.close();
      assert.equal(r.fires.length, 1);
    } finally {
      r.timer.close();
    }
  });

  test('stop() disarms it: a later timer fires and it does not', T, () => withTwo(async (r, marker) => {
    r.timer.start(5);
    r.timer.stop();
    r.timer.stop(); // stopping a stopped timer is nothing
    marker.timer.start(40);
    await marker.next();
    assert.deepEqual(r.fires, []);
  }));

  test('start() replaces what was armed: later or sooner', T, () => withTwo(async (r, marker) => {
    r.timer.start(60_000);
    let startedAt = r.timer.now();
    r.timer.start(5);
    let at = await r.next();
    assert.ok(at - startedAt >= 5 && at - startedAt < 60_000);

    r.timer.start(5);
    startedAt = r.timer.now();
    r.timer.start(60);
    marker.timer.start(20);
    await marker.next();
    assert.equal(r.fires.length, 1, 'the replaced 5 ms start did not fire');
    at = await r.next();
    assert.ok(at - startedAt >= 60, `fired after ${at - startedAt} ms`);
  }));

  test('close() is idempotent; start() after it throws EBADF, stop() and now() still answer', T, () => withTwo(async (r, marker) => {
    r.timer.start(5);
    r.timer.close();
    r.timer.close();
    assert.throws(() => { r.timer.start(1); }, { code: 'EBADF', syscall: 'uv_timer_start' });
    r.timer.stop();
    assert.equal(typeof r.timer.now(), 'number');
    marker.timer.start(30);
    await marker.next();
    assert.deepEqual(r.fires, [], 'a closed timer never fires');
  }));

  test('rejects bad arguments in the facade', () => {
    assert.throws(() => native.timer('x' as unknown as () => void), /onFire must be a function/);
    const timer = native.timer(() => undefined);
    try {
      assert.throws(() => { timer.start(-1); }, /ms must be an integer/);
      assert.throws(() => { timer.start(1.5); }, /ms must be an integer/);
      assert.throws(() => { timer.start(Number.NaN); }, /ms must be an integer/);
    } finally {
      timer.close();
    }
  });

  test('a started timer keeps a node process alive until it fires', T, async () => {
    const r = await runChild(`
      const t = native.timer(() => { console.log('fired after ' + (t.now() - at >= 50)); t.close(); });
      const at = t.now();
      t.start(50);
    `);
    assert.deepEqual(r, { code: 0, signal: null, stdout: 'fired after true\n' });
  });

  test('a stopped or closed timer lets a node process exit', T, async () => {
    const r = await runChild(`
      const a = native.timer(() => console.log('a fired'));
      a.start(60_000);
      a.stop();
      const b = native.timer(() => console.log('b fired'));
      b.start(60_000);
      b.close();
      console.log('script done');
    `);
    assert.deepEqual(r, { code: 0, signal: null, stdout: 'script done\n' });
  });

  test('keepAlive() holds a node process open until released', T, async () => {
    // Node's signal listeners do not hold the loop: only the keep-alive keeps the child there for the signal.
    const r = await runChild(`
      const release = native.keepAlive();
      process.on('SIGUSR2', () => { release(); release(); console.log('released'); });
      console.log('held');
    `, (line, pid) => { if (line === 'held') process.kill(pid, 'SIGUSR2'); });
    assert.deepEqual(r, { code: 0, signal: null, stdout: 'held\nreleased\n' });
  });

  test('an exception thrown by onFire is an ordinary uncaught exception; the timer can be started again', T, async () => {
    const r = await runChild(`
      process.on('uncaughtException', (e) => { console.log('caught ' + e.message); t.start(1); });
      let n = 0;
      const t = native.timer(() => {
        if (++n === 1) throw new Error('boom');
        console.log('fired again');
        t.close();
      });
      t.start(1);
    `);
    assert.deepEqual(r, { code: 0, signal: null, stdout: 'caught boom\nfired again\n' });
  });

  test('a worker ending with a started or a just-closed timer ends cleanly', T, async () => {
    // As for dgramWatch: teardown must wait for the handle's close callback, which lives in the addon.
    const r = await runChild(`
      import { Worker } from 'node:worker_threads';
      for (const closeFirst of [false, true]) {
        const w = new Worker(\`
          import { parentPort } from 'node:worker_threads';
          import { native } from \${JSON.stringify(${JSON.stringify(nativeUrl)})};
          const t = native.timer(() => undefined);
          t.start(60_000);
          parentPort.postMessage('armed');
          if (\${closeFirst}) { t.close(); process.exit(5); }
        \`, { eval: true });
        const exited = new Promise((resolve) => w.once('exit', resolve));
        await new Promise((resolve) => w.once('message', resolve));
        if (!closeFirst) await w.terminate();
        console.log((closeFirst ? 'closed ' : 'open ') + await exited);
      }
    `);
    assert.deepEqual(r, { code: 0, signal: null, stdout: 'open 1\nclosed 5\n' });
  });
});
