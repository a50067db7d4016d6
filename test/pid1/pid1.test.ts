// tend as real PID 1 of a new PID namespace (unshare -p -f --mount-proc), as in a container.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { constants } from 'node:os';
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

// Whether the process has a handler for the signal (its bit in SigCgt of /proc/PID/status).
function catches(pid: number, signal: NodeJS.Signals): boolean {
  try {
    const mask = /^SigCgt:\s*([0-9a-f]+)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? '0';
    return (BigInt(`0x${mask}`) & (1n << BigInt(constants.signals[signal] - 1))) !== 0n;
  } catch {
    return false;
  }
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
    // The job under way when the TERM arrived (job 1, or a later one on a slow machine) was finished, no new one began.
    const lines = t.stdout().split('\n').filter(Boolean);
    const term = lines.indexOf('worker: got SIGTERM, finishing current job');
    const current = lines.slice(0, term).filter((l) => / started /.test(l)).length;
    assert.ok(term > 0 && current > 0, t.stdout());
    assert.deepEqual(lines.slice(term + 1), [`worker: job ${current} done`, 'worker: exiting cleanly']);
  });

  it('reaps a storm of 1000 orphaned zombies, leaving none', { timeout: 45_000 }, async () => {
    const t = startTendAsPid1(['run', '--', fixture('zombie-storm.py'), '1000']);
    // 1000 forks take a while on a loaded 2-core machine.
    await t.waitFor(/burst 1000/, 20_000);
    const tend = await pid1Of(t.pid);
    await until(() => zombieChildren(tend) === 0, 10_000, 'no zombies left under tend');
    await t.waitEvents(is('reaped-orphan'), 1000, 10_000);
    process.kill(tend, 'SIGTERM');
    assert.equal(shellCode(await t.exited()), 0);
    const reaped = t.eventsOf('reaped-orphan');
    assert.equal(reaped.length, 1000, 'every zombie reaped');
    assert.equal(new Set(reaped.map((e) => e.pid)).size, 1000, 'each exactly once');
  });

  it('does not lose a SIGTERM sent 100 ms after exec (or, on a loaded machine, as soon as tend catches it)', T, async (c) => {
    // unshare forks and execs tend a little after this spawn, so 100 ms here is at most 100 ms after tend's exec.
    // The child is `sleep`: if the TERM reaches it, it dies of it (143); if tend lost it, nothing ends.
    // Until tend's handlers exist, a TERM to PID 1 is lost (Node's own start-up handler re-raises it, and the kernel
    // drops it), which no program can help. On a loaded machine Node takes longer than 100 ms to get there, so the
    // TERM then goes out the moment tend's handlers exist: still long before the supervisor is up, so it must be
    // buffered and delivered, which is what this test is about. tend installs its handlers in one synchronous loop
    // ending with SIGPWR, which Node itself never catches: once SigCgt has SIGPWR, tend's SIGTERM handler is there.
    const t = startTendAsPid1(['run', '--', 'sleep', '30']);
    const tend = await pid1Of(t.pid);
    await until(() => catches(tend, 'SIGPWR'), 10_000, 'tend installed its signal handlers');
    const caughtAfter = performance.now() - t.startedAt;
    c.diagnostic(`tend's signal handlers were in place ${Math.round(caughtAfter)} ms after it was started`);
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

