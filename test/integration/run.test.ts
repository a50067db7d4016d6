// `tend run` end to end, not as PID 1: real processes, real signals, observed outcomes.
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { fixture, is, killAll, procStat, shellCode, startTend, until } from '../helpers/tend.js';

afterEach(killAll);
const T = { timeout: 20_000 };

describe('tend run: exit status', () => {
  it('passes the child exit code through', T, async () => {
    const t = startTend(['run', '--', 'sh', '-c', 'exit 3']);
    assert.equal(shellCode(await t.exited()), 3);
  });
  it('reports 128+N when the child is killed by signal N', T, async () => {
    const t = startTend(['run', '--', 'sh', '-c', 'kill -USR1 $$']);
    assert.equal(shellCode(await t.exited()), 128 + 10);
  });
  it('exits 127 when the command is not found, with a message naming it', T, async () => {
    const t = startTend(['run', '--', 'no-such-command-xyz']);
    assert.equal(shellCode(await t.exited()), 127);
    assert.match(t.stderr(), /unable to run "no-such-command-xyz": command not found/);
    assert.deepEqual(t.eventsOf('spawn-failed').map((e) => [e.role, e.code]), [['worker', 127]]);
    assert.deepEqual(t.eventsOf('exit').map((e) => e.code), [127]);
  });
  it('exits 126 when the command is not executable', T, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tend-'));
    const file = join(dir, 'script');
    writeFileSync(file, '#!/bin/sh\nexit 0\n');
    chmodSync(file, 0o644);
    const t = startTend(['run', '--', file]);
    assert.equal(shellCode(await t.exited()), 126);
    assert.match(t.stderr(), /not executable; check its permissions/);
    assert.deepEqual(t.eventsOf('spawn-failed').map((e) => e.code), [126]);
    rmSync(dir, { recursive: true });
  });
  it('exits 64 on a usage error, naming the flag and the fix', T, async () => {
    const t = startTend(['run', '--stop', 'TERM:10', '--', 'true']);
    assert.equal(shellCode(await t.exited()), 64);
    assert.match(t.stderr(), /--stop "TERM:10": duration "10" has no unit; write 10s/);
    const u = startTend(['run', '--frobnicate', '--', 'true']);
    assert.equal(shellCode(await u.exited()), 64);
    assert.match(u.stderr(), /unknown option --frobnicate/);
    const n = startTend(['run']);
    assert.equal(shellCode(await n.exited()), 64);
  });
  it('remaps exit codes with --remap-exit', T, async () => {
    const t = startTend(['run', '--remap-exit', '143:0', '--remap-exit', '3:4', '--', 'sh', '-c', 'kill -TERM $$']);
    assert.equal(shellCode(await t.exited()), 0);
    const u = startTend(['run', '--remap-exit', '143:0', '--remap-exit', '3:4', '--', 'sh', '-c', 'exit 3']);
    assert.equal(shellCode(await u.exited()), 4);
  });
  it('passes argv byte-exact and the environment and cwd through, but not what the launcher or systemd set for tend alone', T, async () => {
    const args = ['a b', '', '"q"', "it's", 'ünï', '$HOME', '*'];
    // tend's own: what the launcher set for it, and what systemd (or a tend above) meant for tend, not for its command.
    const own = { WATCHDOG_PID: '1', WATCHDOG_USEC: '5000000', LISTEN_FDS: '2', LISTEN_PID: '1', LISTEN_FDNAMES: 'a:b', TEND_IPC_FD: '9', TEND_PROBE_SOCKET: '/nowhere' };
    const launcherOnly = JSON.stringify(['TEND_INHERITED_RLIMITS', 'TEND_INHERITED_SIGNALS', 'TEND_EXEC_MONOTONIC_NS', 'TEND_ADDON', ...Object.keys(own)]);
    const script = `console.log(JSON.stringify({a: process.argv.slice(1), e: process.env.TEND_T, c: process.cwd(), l: ${launcherOnly}.filter((k) => k in process.env)}))`;
    const t = startTend(['run', '--', 'node', '-e', script, ...args], { env: { ...process.env, TEND_T: 'x=y z', ...own }, cwd: tmpdir() });
    assert.equal(shellCode(await t.exited()), 0);
    assert.deepEqual(JSON.parse(t.stdout()), { a: args, e: 'x=y z', c: tmpdir(), l: [] });
  });
  it('prints help and version', T, async () => {
    const h = startTend(['run', '--help']);
    assert.equal(shellCode(await h.exited()), 0);
    for (const flag of ['--stop', '--signal-scope', '--before', '--limit', '--user', '--remap-exit', '--no-subreaper', '--verbose']) {
      assert.ok(h.stdout().includes(flag), `run --help mentions ${flag}`);
    }
    const v = startTend(['--version']);
    assert.equal(shellCode(await v.exited()), 0);
    assert.match(v.stdout(), /^tend \d+\.\d+\.\d+\n$/);
  });
});

describe('tend run: signals', () => {
  it('forwards signals to the child process group (reaching a worker behind sh)', T, async () => {
    const t = startTend(['run', '--', 'sh', '-c', `node ${fixture('stubborn.js')}; echo never`]);
    await t.waitFor(/ready pid=\d+/);
    const child = await t.waitEvent(is('spawned'));
    for (const sig of ['SIGUSR1', 'SIGHUP', 'SIGWINCH'] as const) {
      process.kill(t.pid, sig);
      await t.waitFor(new RegExp(`got ${sig}`));
    }
    // tend reports a signal after sending it: the child can print before the event is written.
    const forwarded = await t.waitEvents(is('signalled', (e) => e.why === 'forward'), 3);
    assert.deepEqual(forwarded.map((e) => [e.signal, e.to, e.pid]), [['SIGUSR1', 'group', child.pid], ['SIGHUP', 'group', child.pid], ['SIGWINCH', 'group', child.pid]]);
  });

  it('with --signal-scope child, signals reach the child pid only', T, async () => {
    const t = startTend(['run', '--signal-scope', 'child', '--', 'sh', '-c', `trap 'echo sh got USR1' USR1; node ${fixture('stubborn.js')} & wait; wait`]);
    await t.waitFor(/ready pid=\d+/);
    process.kill(t.pid, 'SIGUSR1');
    await t.waitFor(/sh got USR1/);
    assert.doesNotMatch(t.stdout(), /got SIGUSR1 at/);
    const forwarded = await t.waitEvent(is('signalled'));
    assert.deepEqual([forwarded.signal, forwarded.to, forwarded.why], ['SIGUSR1', 'main', 'forward']);
  });

  it('stops in stages TSTP → TERM → KILL against a child that ignores them all', T, async () => {
    const t = startTend(['run', '--stop', 'TSTP:300ms,TERM:300ms', '--', 'node', fixture('stubborn.js')]);
    await t.waitFor(/ready/);
    const sentAt = Date.now();
    process.kill(t.pid, 'SIGTERM');
    const exit = await t.exited();
    const elapsed = Date.now() - sentAt;
    assert.equal(shellCode(exit), 137);
    assert.ok(elapsed >= 600, `KILL only after both stages (${elapsed} ms)`);
    const order = [...t.stdout().matchAll(/got (SIG\w+)/g)].map((m) => m[1]).filter((s) => s !== 'SIGCONT');
    assert.deepEqual(order, ['SIGTSTP', 'SIGTERM']);
    const sent = t.eventsOf('signalled');
    assert.deepEqual(sent.map((e) => [e.signal, e.to, e.why]), [['SIGTSTP', 'group', 'stop'], ['SIGTERM', 'group', 'stop'], ['SIGKILL', 'group', 'kill']]);
    const [tstp, term, kill] = sent.map((e) => e.at);
    assert.ok(term! - tstp! >= 290 && kill! - term! >= 290, `each stage waited its 300 ms: ${sent.map((e) => e.at - tstp!).join(', ')}`);
    const exited = await t.waitEvent(is('exited'));
    assert.deepEqual([exited.status, exited.reason, exited.forced], [{ code: null, signal: 9 }, 'shutdown', true]);
  });

  it('default stop: forwards the signal received and exits as soon as the child does', T, async () => {
    const t = startTend(['run', '--', 'node', fixture('job-worker.js')], { env: { ...process.env, JOB_MS: '300' } });
    await t.waitFor(/job 1 started/);
    process.kill(t.pid, 'SIGINT');
    const exit = await t.exited();
    assert.equal(shellCode(exit), 0);
    assert.match(t.stdout(), /got SIGINT[\s\S]*job 1 done[\s\S]*exiting cleanly/);
  });

  it('SIGTSTP stops the child but never tend', T, async () => {
    const t = startTend(['run', '--', 'sleep', '30']);
    await until(() => procStat(t.pid) !== null && readFileSync(`/proc/${t.pid}/task/${t.pid}/children`, 'utf8').trim() !== '', 5000, 'child started');
    const child = Number(readFileSync(`/proc/${t.pid}/task/${t.pid}/children`, 'utf8').trim().split(' ')[0]);
    process.kill(t.pid, 'SIGTSTP');
    await until(() => procStat(child)?.state === 'T', 5000, 'child stopped');
    assert.notEqual(procStat(t.pid)?.state, 'T');
    process.kill(t.pid, 'SIGCONT');
    await until(() => procStat(child)?.state !== 'T', 5000, 'child continued');
    process.kill(t.pid, 'SIGTERM');
    assert.equal(shellCode(await t.exited()), 143);
  });
});

describe('tend run: lingering processes', () => {
  it('stops processes left in the group when the child exits, then exits with the child status', T, async () => {
    const readyDir = mkdtempSync(join(tmpdir(), 'tend-'));
    const readyFile = join(readyDir, 'ready');
    const t = startTend(['run', '--', 'sh', '-c', `node ${fixture('job-worker.js')} & until [ -e "$READY_FILE" ]; do sleep 0.01; done; exit 5`],
      { env: { ...process.env, JOB_MS: '400', READY_FILE: readyFile } });
    const exit = await t.exited();
    assert.equal(shellCode(exit), 5);
    // The worker got TERM and finished its job instead of being killed by the kernel.
    assert.match(t.stdout(), /got SIGTERM, finishing current job[\s\S]*job 1 done[\s\S]*exiting cleanly/);
    // The shell's exit left its worker in the group: tend says so and gives the group the stop sequence.
    const shell = await t.waitEvent(is('spawned'));
    const lingering = await t.waitEvent(is('lingering'));
    assert.equal(lingering.pid, shell.pid);
    const term = await t.waitEvent(is('signalled', (e) => e.signal === 'SIGTERM'));
    assert.deepEqual([term.to, term.pid, term.why], ['group', shell.pid, 'stop']);
    assert.ok(term.at >= lingering.at);
    const exited = await t.waitEvent(is('exited'));
    assert.deepEqual([exited.status, exited.reason, exited.forced], [{ code: 5, signal: null }, null, false]);
    rmSync(readyDir, { recursive: true });
  });

  it('reaps orphans as a subreaper when not PID 1', T, async () => {
    const t = startTend(['run', '--', 'sh', '-c', '(sleep 0.2 & ); sleep 0.5']);
    assert.equal(shellCode(await t.exited()), 0);
    // The orphaned sleep is re-parented to tend (not to init) and tend collects its status.
    assert.deepEqual(t.eventsOf('reaped-orphan').map((e) => e.status), [{ code: 0, signal: null }]);
  });

  it('with --no-subreaper, orphans are not adopted', T, async () => {
    const t = startTend(['run', '--no-subreaper', '--', 'sh', '-c', '(sleep 0.2 & ); exit 0']);
    assert.equal(shellCode(await t.exited()), 0);
    assert.deepEqual(t.eventsOf('reaped-orphan'), []);
    assert.ok(t.eventsOf('log').some((e) => e.level === 'warn' && e.message.includes('--no-subreaper')), 'tend warns about what --no-subreaper costs');
  });
});

describe('tend run: --before steps', () => {
  it('runs steps in order before the command', T, async () => {
    const t = startTend(['run', '--before', 'echo "step one"', '--before', "sh -c 'echo step two'", '--', 'echo', 'main']);
    assert.equal(shellCode(await t.exited()), 0);
    assert.equal(t.stdout(), 'step one\nstep two\nmain\n');
  });
  it('a failing step stops the chain with its status', T, async () => {
    const t = startTend(['run', '--before', "sh -c 'exit 9'", '--before', 'echo not-run', '--', 'echo', 'main']);
    assert.equal(shellCode(await t.exited()), 9);
    assert.equal(t.stdout(), '');
  });
  it('signals reach the running step, and a stop during a step does not start the command', T, async () => {
    const t = startTend(['run', '--before', `node ${fixture('job-worker.js')}`, '--', 'echo', 'main'], { env: { ...process.env, JOB_MS: '300' } });
    await t.waitFor(/job 1 started/);
    process.kill(t.pid, 'SIGTERM');
    assert.equal(shellCode(await t.exited()), 0);
    assert.match(t.stdout(), /job 1 done/);
    assert.doesNotMatch(t.stdout(), /main/);
  });
  it('rejects shell syntax with a fix', T, async () => {
    const t = startTend(['run', '--before', 'make && make install', '--', 'true']);
    assert.equal(shellCode(await t.exited()), 64);
    assert.match(t.stderr(), /--before "make && make install": shell operator "&&" needs a shell/);
  });
});
