// The faults issue 7 found by fault injection against the old pool, each driven with real processes and observed
// on tend's event stream: workers that die within milliseconds of exec, ready workers that are killed, sd_notify
// durations beyond what a Node timer holds, a --signal-scope child stop with a lingering group, and --before with a
// pool.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, describe, it } from 'node:test';
import { fixture, is, killAll, procStat, shellCode, startTend, startTendAsPid1, type TendProc } from '../helpers/tend.js';

afterEach(killAll);
const T = { timeout: 30_000 };
const dir = mkdtempSync(join(tmpdir(), 'tend-faults-'));
after(() => { rmSync(dir, { recursive: true, force: true }); });

// Stop tend as an orchestrator does and wait for it, so nothing outlives the test.
async function stopAndWait(t: TendProc): Promise<void> {
  process.kill(t.pid, 'SIGTERM');
  assert.equal(shellCode(await t.exited(10_000)), 0, t.stderr());
}

// A binary linked against a shared library that is deleted afterwards: the typical broken deploy. The dynamic
// loader fails right after exec (exit 127), before main() runs. Null (with the reason) when there is no C compiler.
function binaryWithMissingLibrary(): { path: string } | { skip: string } {
  const lib = join(dir, 'libgone.c');
  const main = join(dir, 'main.c');
  writeFileSync(lib, 'int gone(void) { return 0; }\n');
  writeFileSync(main, 'int gone(void);\nint main(void) { return gone(); }\n');
  try {
    execFileSync('cc', ['-shared', '-fPIC', '-o', join(dir, 'libgone.so'), lib], { stdio: 'pipe' });
    execFileSync('cc', ['-o', join(dir, 'broken'), main, `-L${dir}`, '-lgone', `-Wl,-rpath,${dir}`], { stdio: 'pipe' });
  } catch (error) {
    return { skip: `no working C compiler (cc) to build the broken binary: ${(error as Error).message.split('\n')[0] ?? ''}` };
  }
  unlinkSync(join(dir, 'libgone.so'));
  return { path: join(dir, 'broken') };
}

describe('faults: a worker that exits within milliseconds of exec', () => {
  const broken = binaryWithMissingLibrary();
  const cases: { name: string; argv: () => string[]; code: number; says: RegExp | null; skip: string | false }[] = [
    { name: '/bin/false', argv: () => ['/bin/false'], code: 1, says: null, skip: false },
    {
      name: 'a binary whose shared library is missing',
      argv: () => ('path' in broken ? [broken.path] : []),
      code: 127,
      says: /error while loading shared libraries: libgone\.so/,
      skip: 'skip' in broken ? broken.skip : false,
    },
  ];
  for (const c of cases) {
    it(`${c.name}: is restarted every time and the pool gives up with exit 75 (3 runs)`, { ...T, skip: c.skip }, async () => {
      for (let run = 0; run < 3; run++) {
        const t = startTend(['run', '--workers', '1', '--restart-delay', '10ms', '--restart-max-delay', '40ms', '--max-restarts', '3', '--', ...c.argv()]);
        const exit = await t.exited(15_000);
        assert.equal(shellCode(exit), 75, `run ${run}: ${t.stderr()}`);
        // Every exit was seen and acted on: 4 starts, 4 exits with the program's status, 3 restarts, then the give-up.
        const spawned = t.eventsOf('spawned').map((e) => e.pid);
        assert.equal(spawned.length, 4, `run ${run}: ${spawned.length} starts`);
        const exits = t.eventsOf('exited');
        assert.deepEqual(exits.map((e) => e.pid), spawned);
        for (const e of exits) assert.deepEqual([e.status, e.reason, e.wasReady], [{ code: c.code, signal: null }, null, false]);
        assert.equal(t.eventsOf('restart-scheduled').length, 3);
        assert.equal(t.eventsOf('gave-up').length, 1);
        assert.deepEqual(t.eventsOf('service-ended').map((e) => [e.why, e.code]), [['gave-up', 75]]);
        // The loader's own complaint reaches the user (it is the worker's output, passed through).
        if (c.says !== null) assert.match(t.stderr(), c.says);
        assert.deepEqual(t.eventsOf('exit').map((e) => e.code), [75]);
      }
    });
  }
});

describe('faults: a ready worker that is killed', () => {
  it('is restarted at the shortest delay every time, not with a growing backoff (SIGKILL 4 times)', T, async () => {
    const worker = "require('fs').writeSync(Number(process.env.TEND_NOTIFY_FD), 'READY=1\\n'); setInterval(() => {}, 1 << 30)";
    const initial = 100;
    const t = startTend(['run', '--workers', '1', '--ready', 'notify', '--restart-delay', `${initial}ms`, '--max-restarts', '2', '--', 'node', '-e', worker]);
    let from = 0;
    for (let kill = 0; kill < 4; kill++) {
      const ready = await t.waitEvent(is('ready'), 10_000, from);
      from = t.events().indexOf(ready) + 1;
      process.kill(ready.pid, 'SIGKILL');
      const exited = await t.waitEvent(is('exited', (e) => e.pid === ready.pid), 10_000, from);
      assert.deepEqual([exited.status, exited.wasReady, exited.reason], [{ code: null, signal: 9 }, true, null]);
      const restart = await t.waitEvent(is('restart-scheduled'), 10_000, from);
      assert.ok(restart.delayMs <= 2 * initial, `kill ${kill + 1}: restart in ${restart.delayMs} ms, more than twice --restart-delay ${initial}ms`);
      assert.equal(restart.crashLooping, false);
    }
    // Four deaths of healthy workers with --max-restarts 2: none of them counts as a failed start.
    await t.waitEvent(is('ready'), 10_000, from);
    assert.deepEqual(t.eventsOf('gave-up'), []);
    await stopAndWait(t);
  });
});

describe('faults: EXTEND_TIMEOUT_USEC beyond 2^31 ms (a Node timer would fire after 1 ms)', () => {
  const huge = '99999999999999'; // about 3.2 years, 2^46 ms: far past a 32-bit timer

  it('during start, does not stop the worker: it becomes ready after its --ready-timeout has passed', T, async () => {
    // The extension is the fixture's first act; 2 s leaves a loaded machine time to boot node before the ready timeout.
    const t = startTend(['run', '--workers', '1', '--ready', 'notify', '--ready-timeout', '2s', '--', 'node', fixture('extend-worker.js')],
      { env: { ...process.env, EXTEND_USEC: huge, READY_AFTER_MS: '2500' } });
    const extended = await t.waitEvent(is('extended', (e) => e.deadline === 'ready'));
    assert.ok(extended.ms >= 2 ** 31 - 1, `extended to ${extended.ms} ms`);
    const ready = await t.waitEvent(is('ready'), 10_000);
    assert.equal(ready.pid, extended.pid);
    assert.ok(ready.afterMs >= 2_000, `ready after ${ready.afterMs} ms, past the 2 s ready timeout`);
    assert.deepEqual(t.eventsOf('signalled'), [], 'nothing was stopped');
    assert.deepEqual(t.eventsOf('exited'), []);
    await stopAndWait(t);
  });

  it('during a stop, does not SIGKILL the draining worker early: it exits 0 after its drain, past the stop stage', T, async () => {
    // TERM:1s and a 1.5 s drain: without the extension tend would KILL at 1 s. tend's own deadline for the whole
    // stop (the stages + 1 s) still bounds it, so the drain is kept inside that.
    const t = startTend(['run', '--workers', '1', '--ready', 'notify', '--stop', 'TERM:1s', '--', 'node', fixture('extend-worker.js')],
      { env: { ...process.env, EXTEND_USEC: huge, DRAIN_MS: '1500' } });
    const ready = await t.waitEvent(is('ready'));
    process.kill(t.pid, 'SIGTERM');
    const term = await t.waitEvent(is('signalled', (e) => e.signal === 'SIGTERM'));
    const extended = await t.waitEvent(is('extended', (e) => e.deadline === 'stop'));
    assert.equal(extended.pid, ready.pid);
    assert.ok(extended.ms >= 2 ** 31 - 1, `extended to ${extended.ms} ms`);
    assert.equal(shellCode(await t.exited(10_000)), 0);
    const exited = await t.waitEvent(is('exited'));
    assert.deepEqual([exited.status, exited.reason, exited.forced], [{ code: 0, signal: null }, 'shutdown', false]);
    assert.ok(exited.at - term.at >= 1_450, `drained for ${exited.at - term.at} ms`);
    assert.deepEqual(t.eventsOf('signalled').map((e) => e.signal), ['SIGTERM'], 'no SIGKILL');
    assert.match(t.stdout(), /drained/);
  });
});

describe('faults: --signal-scope child stop with a lingering group (tini\'s signals test)', () => {
  it('the child exits on TERM, the rest of its group gets TERM at once, and tend exits in well under a second', T, async () => {
    // sh waits for a sleep in its own process group and exits on TERM; the sleep lingers after it.
    const t = startTend(['run', '--signal-scope', 'child', '--', 'sh', '-c', 'trap "exit 0" TERM; sleep 30 & echo "sleep $!"; wait']);
    const m = await t.waitFor(/sleep (\d+)/);
    const sleep = Number(m[1]);
    const child = await t.waitEvent(is('spawned'));
    assert.equal(procStat(sleep)?.pgrp, child.pid, 'the sleep is in the child\'s process group');
    const t0 = Date.now();
    process.kill(t.pid, 'SIGTERM');
    const exit = await t.exited(10_000);
    const elapsed = Date.now() - t0;
    assert.equal(shellCode(exit), 0);
    assert.ok(elapsed < 1_000, `tend exited ${elapsed} ms after SIGTERM`);
    const sent = t.eventsOf('signalled');
    assert.deepEqual(sent.map((e) => [e.signal, e.to, e.why]), [['SIGTERM', 'main', 'stop'], ['SIGTERM', 'group', 'stop']]);
    const lingering = await t.waitEvent(is('lingering'));
    assert.ok(sent[1]!.at - lingering.at < 100, 'the group got TERM as soon as the child was gone');
    // The sleep died of the TERM (it was adopted by tend, which reaped it), not of a KILL at a deadline.
    assert.deepEqual(t.eventsOf('reaped-orphan').filter((e) => e.pid === sleep).map((e) => e.status), [{ code: null, signal: 15 }]);
    const exited = await t.waitEvent(is('exited'));
    assert.deepEqual([exited.status, exited.forced], [{ code: 0, signal: null }, false]);
  });
});

describe('faults: --before with --workers', () => {
  it('runs the step once, before any worker starts', T, async () => {
    const marks = join(dir, 'before-marks');
    const t = startTend(['run', '--workers', '2', '--ready', 'delay:50ms', '--before', `sh -c 'echo step >> ${marks}'`, '--', 'sleep', '30']);
    await t.waitEvent(is('service-ready', (e) => e.ready === 2));
    assert.equal(readFileSync(marks, 'utf8'), 'step\n');
    const events = t.events();
    const steps = events.filter((e) => e.type === 'spawned' && e.role === 'step');
    assert.equal(steps.length, 1);
    const stepDone = events.findIndex((e) => e.type === 'exited' && e.role === 'step' && e.status?.code === 0);
    const firstWorker = events.findIndex((e) => e.type === 'spawned' && e.role === 'worker');
    assert.ok(stepDone >= 0 && stepDone < firstWorker, 'the step had exited 0 before the first worker started');
    assert.equal(t.eventsOf('spawned').filter((e) => e.role === 'worker').length, 2);
    await stopAndWait(t);
    assert.equal(readFileSync(marks, 'utf8'), 'step\n', 'the step ran once');
  });

  it('a failing step exits tend with the step\'s status and starts no worker', T, async () => {
    const marks = join(dir, 'never-started');
    const t = startTend(['run', '--workers', '2', '--before', "sh -c 'exit 9'", '--', 'sh', '-c', `touch ${marks}; sleep 30`]);
    assert.equal(shellCode(await t.exited(10_000)), 9);
    assert.deepEqual(t.eventsOf('spawned').map((e) => e.role), ['step']);
    assert.deepEqual(t.eventsOf('service-ended').map((e) => [e.why, e.code]), [['step-failed', 9]]);
    assert.deepEqual(t.eventsOf('exit').map((e) => e.code), [9]);
    assert.equal(existsSync(marks), false, 'no worker ran');
  });
});

describe('faults: a dead tend\'s runtime directory', () => {
  it('is removed by the next tend; a name tend does not make is left alone', T, async () => {
    const deadPid = Number(execFileSync('sh', ['-c', 'echo $$'], { encoding: 'utf8' }).trim());
    mkdirSync('/run/tend', { recursive: true, mode: 0o755 });
    const stale = `/run/tend/${deadPid}-faults`;
    const foreign = `/run/tend/${deadPid}x-faults`;
    mkdirSync(stale);
    writeFileSync(join(stale, 'leftover'), '');
    mkdirSync(foreign);
    try {
      const t = startTend(['run', '--', 'true']);
      assert.equal(shellCode(await t.exited(10_000)), 0, t.stderr());
      assert.equal(existsSync(stale), false, 'the dead tend\'s runtime directory is gone');
      assert.equal(existsSync(foreign), true, 'a directory whose name is not <pid>-... stays');
    } finally {
      rmSync(stale, { recursive: true, force: true });
      rmSync(foreign, { recursive: true, force: true });
    }
  });
});

describe('faults: a live tend\'s runtime directory', () => {
  it('is not taken for a stale leftover by a tend in another PID namespace while the pool has no worker', T, async () => {
    // The pool's only worker crashes and waits 3-6 s for its restart: no worker channel is bound meanwhile.
    const t = startTend(['run', '--workers', '1', '--ready', 'notify', '--restart-delay', '6s', '--restart-max-delay', '6s', '--', 'sh', '-c', 'exit 3']);
    const first = await t.waitEvent(is('spawned'));
    await t.waitEvent(is('restart-scheduled'));
    const dirs = readdirSync('/run/tend').filter((d) => d.startsWith(`${t.pid}-`));
    assert.equal(dirs.length, 1, `tend's runtime directory under /run/tend: ${dirs.join(', ')}`);
    // A tend that is PID 1 of its own namespace cannot see this tend's pid, and checks /run/tend for leftovers.
    const other = startTendAsPid1(['run', '--', 'true']);
    assert.equal(shellCode(await other.exited(10_000)), 0, other.stderr());
    assert.ok(existsSync(`/run/tend/${dirs[0] ?? ''}`), 'the live tend\'s runtime directory is still there');
    // And the restart gets its channel: tend neither crashed nor failed to spawn.
    const again = await t.waitEvent(is('spawned', (e) => e.pid !== first.pid), 10_000);
    assert.equal(again.slot, 0);
    assert.deepEqual(t.eventsOf('spawn-failed'), []);
    await stopAndWait(t);
  });
});
