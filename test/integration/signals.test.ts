// `tend run` and signals Node cannot listen for, end to end (not as PID 1; see test/pid1/signals.test.ts): real-time
// signals and a SIGPIPE from another process reach the child, and the child starts with the ignored signals and mask
// tend itself was started with, as exec would have passed them on (tini's sigconf case).
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { fixture, is, killAll, shellCode, start, startTend, tendBin } from '../helpers/tend.js';

afterEach(killAll);
const T = { timeout: 20_000 };

const SIGPIPE = 13;
const SIGRTMIN_3 = 37;
const SIGRTMAX = 64;

describe('tend run: real-time signals', () => {
  it('forwards SIGRTMIN+3, SIGRTMAX and a SIGPIPE from another process to the child', T, async () => {
    const t = startTend(['run', '--', 'python3', fixture('signal-recorder.py')]);
    await t.waitFor(/ready \d+/);
    const child = await t.waitEvent(is('spawned'));
    for (const [signo, name] of [[SIGRTMIN_3, 'SIGRTMIN+3'], [SIGRTMAX, 'SIGRTMIN+30'], [SIGPIPE, 'SIGPIPE']] as const) {
      process.kill(t.pid, signo);
      await t.waitFor(new RegExp(`^got ${signo}$`, 'm'));
      const forwarded = await t.waitEvent(is('signalled', (e) => e.signal === name));
      assert.deepEqual([forwarded.to, forwarded.why, forwarded.pid], ['group', 'forward', child.pid]);
    }
    process.kill(t.pid, 'SIGTERM');
    assert.equal(shellCode(await t.exited()), 0);
    assert.match(t.stdout(), /got 15/);
  });

  it('a real-time signal can be the stop signal (--stop RTMIN+3, like a STOPSIGNAL SIGRTMIN+3 app)', T, async () => {
    const t = startTend(['run', '--stop', 'RTMIN+3:5s', '--', 'python3', fixture('signal-recorder.py'), '--exit-on', String(SIGRTMIN_3), '5']);
    await t.waitFor(/ready \d+/);
    process.kill(t.pid, 'SIGTERM');
    assert.equal(shellCode(await t.exited()), 5, 'the child stopped on SIGRTMIN+3 and its code came through');
    assert.match(t.stdout(), new RegExp(`^got ${SIGRTMIN_3}$`, 'm'));
    assert.doesNotMatch(t.stdout(), /^got 15$/m);
  });
});

describe('tend run: what exec would pass on (tini sigconf)', () => {
  const masks = (text: string): { ign: bigint; blk: bigint } => ({
    ign: BigInt(`0x${/^SigIgn:\s+(\w+)/m.exec(text)?.[1] ?? 'x'}`),
    blk: BigInt(`0x${/^SigBlk:\s+(\w+)/m.exec(text)?.[1] ?? 'x'}`),
  });
  // awk reads its own status and environment without changing either (a shell would reset the mask for its children).
  const child = ['awk', '/^Sig(Ign|Blk):/ { print } END { v = ENVIRON["TEND_INHERITED_SIGNALS"]; print "launcher env: " (v == "" ? "none" : v) }', '/proc/self/status'];

  it('nohup-style: SIGHUP ignored and SIGUSR1 blocked when tend starts stay so in the child, and nothing else', T, async () => {
    const t = start(['python3', fixture('exec-with-signals.py'), '--ignore', '1', '--block', '10', '--', tendBin, 'run', '--', ...child]);
    assert.equal(shellCode(await t.exited()), 0, t.stderr());
    const { ign, blk } = masks(t.stdout());
    assert.equal(ign, 1n << 0n, `SigIgn is exactly SIGHUP:\n${t.stdout()}`);
    assert.equal(blk, 1n << 9n, `SigBlk is exactly SIGUSR1:\n${t.stdout()}`);
    assert.match(t.stdout(), /launcher env: none/, 'the record itself is not passed on');
  });

  it('started with nothing ignored or blocked, the child has both sets empty (Node\'s own SIG_IGN of SIGPIPE is not passed on)', T, async () => {
    const t = start(['python3', fixture('exec-with-signals.py'), '--', tendBin, 'run', '--', ...child]);
    assert.equal(shellCode(await t.exited()), 0, t.stderr());
    assert.deepEqual(masks(t.stdout()), { ign: 0n, blk: 0n }, t.stdout());
  });
});
