// Real-time signals to tend as PID 1 of a new PID namespace (unshare -p -f --mount-proc), as in a container whose
// STOPSIGNAL is SIGRTMIN+3: the kernel drops a signal PID 1 has no handler for, so only a real handler gets it through.
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { descendants, fixture, killAll, shellCode, startTendAsPid1, until } from '../helpers/tend.js';

afterEach(killAll);
const T = { timeout: 30_000 };
const SIGRTMIN_3 = 37;

// The host pid of the namespace's PID 1 (the child of unshare).
async function pid1Of(unsharePid: number): Promise<number> {
  let pid = 0;
  await until(() => {
    pid = descendants(unsharePid)[0] ?? 0;
    return pid !== 0;
  }, 5000, 'namespace PID 1 started');
  return pid;
}

describe('tend as PID 1: real-time signals', () => {
  it('forwards SIGRTMIN+3 to the child, which keeps running until SIGTERM', T, async () => {
    const t = startTendAsPid1(['run', '--', 'python3', fixture('signal-recorder.py')]);
    await t.waitFor(/ready \d+/);
    const tend = await pid1Of(t.pid);
    process.kill(tend, SIGRTMIN_3);
    await t.waitFor(new RegExp(`^got ${SIGRTMIN_3}$`, 'm'));
    process.kill(tend, 'SIGTERM');
    assert.equal(shellCode(await t.exited()), 0);
    assert.match(t.stdout(), /^got 15$/m);
  });

  it('STOPSIGNAL SIGRTMIN+3: the signal reaches the app, it stops gracefully and its exit code is tend\'s', T, async () => {
    const t = startTendAsPid1(['run', '--', 'python3', fixture('signal-recorder.py'), '--exit-on', String(SIGRTMIN_3), '3']);
    await t.waitFor(/ready \d+/);
    process.kill(await pid1Of(t.pid), SIGRTMIN_3);
    assert.equal(shellCode(await t.exited()), 3);
    assert.match(t.stdout(), new RegExp(`^got ${SIGRTMIN_3}$`, 'm'));
  });
});
