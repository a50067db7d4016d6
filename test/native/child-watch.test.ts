// Contract tests for the addon's SIGCHLD watcher (native/child-watch.c): it calls back on the event loop when a child
// exits, alongside child_process's own SIGCHLD handling (whose 'exit' events still arrive); close() stops it and is
// idempotent; and, like Node's own signal listeners, it does not keep a process's loop alive (checked in a child node).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { native } from '../../src/os/native.js';

const T = { timeout: 10_000 };
const nativeUrl = new URL('../../src/os/native.js', import.meta.url).href;

/** A watcher whose calls can be awaited. */
function recorder(): { close(): void; calls(): number; next(): Promise<void> } {
  let calls = 0;
  const waiters: (() => void)[] = [];
  const watch = native.childSignalWatch(() => {
    calls++;
    for (const wake of waiters.splice(0)) wake();
  });
  return {
    close: () => { watch.close(); },
    calls: () => calls,
    // The watcher does not hold the loop open (as a signal listener does not); this timer does while we wait.
    next: () => new Promise<void>((resolve) => {
      const keepAlive = setInterval(() => undefined, 1 << 30);
      waiters.push(() => { clearInterval(keepAlive); resolve(); });
    }),
  };
}

/** Runs a child_process child to its exit; resolves with its exit code. */
function runChild(args: readonly string[]): Promise<number | null> {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit'] });
  return new Promise((resolve) => { child.once('exit', (code) => { resolve(code); }); });
}

describe('native child signal watch', () => {
  test("is called when a child exits, and child_process still gets its child's exit", T, async () => {
    const r = recorder();
    try {
      const called = r.next();
      assert.equal(await runChild(['-e', 'process.exit(7)']), 7);
      await called;
      assert.ok(r.calls() >= 1);
    } finally {
      r.close();
    }
  });

  test('close() stops the calls and is idempotent; another watcher still hears', T, async () => {
    const closed = recorder();
    const open = recorder();
    try {
      closed.close();
      closed.close();
      const heard = open.next();
      assert.equal(await runChild(['-e', '0']), 0);
      await heard;
      assert.equal(closed.calls(), 0);
    } finally {
      open.close();
    }
  });

  test('rejects a callback that is not a function', () => {
    assert.throws(() => native.childSignalWatch('x' as unknown as () => void), /onChild must be a function/);
  });

  test('does not keep the event loop alive: a process with only a watcher exits', T, async () => {
    const script = `import { native } from ${JSON.stringify(nativeUrl)};\nnative.childSignalWatch(() => undefined);\nprocess.stdout.write('watching\\n');`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      let out = '';
      child.stdout.setEncoding('utf8');
      child.stdout.on('data', (chunk: string) => { out += chunk; });
      const code = await new Promise<number | null>((resolve) => { child.once('close', (c) => { resolve(c); }); });
      assert.equal(code, 0);
      assert.equal(out, 'watching\n');
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });
});
