// tend as real PID 1 of a new PID namespace (unshare -p -f --mount-proc), as in a container.
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { descendants, fixture, is, killAll, procStat, shellCode, start, startTendAsPid1, until } from '../helpers/tend.js';

afterEach(killAll);
const T = { timeout: 30_000 };

// The host pid of the namespace's PID 1 (the child of unshare).
async function pid1Of(unsharePid: number): Promise<number> {
  let pid = 0;
  await until(() => {
    pid = descendants(unsharePid)[0] ?? 0;
    return pid !== 0;
  }, 5000, 'namespace PID 1 started');
  return pid;
}

function zombieChildren(pid: number): number {
  return descendants(pid).filter((p) => procStat(p)?.state === 'Z').length;
}

describe('tend as PID 1', () => {
  it('forwards SIGTERM and exits with the child status', T, async () => {
    const t = startTendAsPid1(['run', '--', 'node', fixture('job-worker.js')], { env: { ...process.env, JOB_MS: '200' } });
    await t.waitFor(/job 1 started/);
    const tend = await pid1Of(t.pid);
    process.kill(tend, 'SIGTERM');
    assert.equal(shellCode(await t.exited()), 0);
    assert.match(t.stdout(), /got SIGTERM, finishing current job[\s\S]*job 1 done/);
  });

  it('reaps a storm of 1000 orphaned zombies, leaving none', T, async () => {
    const t = startTendAsPid1(['run', '--', fixture('zombie-storm.py'), '1000']);
    await t.waitFor(/burst 1000/);
    const tend = await pid1Of(t.pid);
    await until(() => zombieChildren(tend) === 0, 10_000, 'no zombies left under tend');
    await t.waitEvents(is('reaped-orphan'), 1000, 10_000);
    process.kill(tend, 'SIGTERM');
    assert.equal(shellCode(await t.exited()), 0);
    const reaped = t.eventsOf('reaped-orphan');
    assert.equal(reaped.length, 1000, 'every zombie reaped');
    assert.equal(new Set(reaped.map((e) => e.pid)).size, 1000, 'each exactly once');
  });

  it('does not lose a SIGTERM sent 100 ms after exec', T, async () => {
    // unshare forks and execs tend a little after this spawn, so 100 ms here is at most 100 ms after tend's exec.
    // The child is `sleep`: if the TERM reaches it, it dies of it (143); if tend lost it, nothing ends.
    const t = startTendAsPid1(['run', '--', 'sleep', '30']);
    const tend = await pid1Of(t.pid);
    const wait = 100 - (performance.now() - t.startedAt);
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    process.kill(tend, 'SIGTERM');
    const exit = await t.exited(10_000);
    assert.equal(shellCode(exit), 143, `the child got the TERM:\n${t.stdout()}${t.stderr()}`);
  });

  it('the bash-entrypoint story: the job behind bash completes under tend', T, async () => {
    const t = startTendAsPid1(['run', '--', fixture('entrypoint.sh')], { env: { ...process.env, JOB_MS: '800' } });
    await t.waitFor(/job 1 started/);
    const tend = await pid1Of(t.pid);
    process.kill(tend, 'SIGTERM');
    const exit = await t.exited(10_000);
    assert.match(t.stdout(), /got SIGTERM, finishing current job[\s\S]*job 1 done[\s\S]*exiting cleanly/);
    // bash died of the forwarded TERM (143) while its worker finished; tend waited for the worker first.
    assert.equal(shellCode(exit), 143);
  });

  it('the bash-entrypoint story without tend: bash as PID 1 ignores SIGTERM, so the orchestrator SIGKILLs the job', T, async () => {
    const t = start(['unshare', '-p', '-f', '--mount-proc', '--kill-child', fixture('entrypoint.sh')], { env: { ...process.env, JOB_MS: '800' } });
    await t.waitFor(/job 1 started/);
    const bash = await pid1Of(t.pid);
    process.kill(bash, 'SIGTERM');
    // The worker never hears of the TERM: it finishes job 1 and takes job 2.
    await t.waitFor(/job 2 started/);
    // What Docker or Kubernetes do after the grace period: SIGKILL PID 1, which kills the whole namespace.
    process.kill(bash, 'SIGKILL');
    await t.exited();
    assert.doesNotMatch(t.stdout(), /got SIGTERM/, 'bash did not forward the TERM');
    assert.doesNotMatch(t.stdout(), /job 2 done/, 'job 2 was lost mid-way');
  });
});

