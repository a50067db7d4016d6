// Contract tests for native spawn: what the child gets (argv, env, cwd, group, limits, identity, fds, signals) and how
// failures are reported. Every process is started with the addon and reaped through reapChildren.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import * as native from '../../src/os/native.js';
import type { ReapedChild, SpawnRequest } from '../../src/os/native.js';
import { ChildReaper } from './child-reaper.js';

const T = { timeout: 10_000 };
const PATH = process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin';
const nativeUrl = new URL('../../src/os/native.js', import.meta.url).href;
const isRoot = process.getuid?.() === 0;


const reaper = new ChildReaper();
let tmp = '';
let devnull = -1;
let seq = 0;

before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tend-spawn-'));
  fs.chmodSync(tmp, 0o755);
  devnull = fs.openSync('/dev/null', 'r+');
  reaper.start();
});

after(() => {
  reaper.stop();
  fs.closeSync(devnull);
  fs.rmSync(tmp, { recursive: true, force: true });
});

function request(over: Partial<SpawnRequest> & Pick<SpawnRequest, 'file' | 'args'>): SpawnRequest {
  return {
    env: [`PATH=${PATH}`],
    searchPath: PATH,
    cwd: null,
    newProcessGroup: false,
    foregroundTty: -1,
    rlimits: [],
    uid: -1,
    gid: -1,
    groups: null,
    fds: [devnull, 1, 2],
    ...over,
  };
}

interface RunResult extends ReapedChild {
  stdout: Buffer;
  stderr: string;
}

/** Spawns with stdout/stderr captured in files (fds 1 and 2, unless `fds` is given) and waits for the exit. */
async function run(over: Partial<SpawnRequest> & Pick<SpawnRequest, 'file' | 'args'>): Promise<RunResult> {
  const outPath = path.join(tmp, `out-${++seq}`);
  const errPath = path.join(tmp, `err-${seq}`);
  const out = fs.openSync(outPath, 'w');
  const err = fs.openSync(errPath, 'w');
  let pid: number;
  try {
    pid = native.spawn(request({ fds: [devnull, out, err], ...over }));
  } finally {
    fs.closeSync(out);
    fs.closeSync(err);
  }
  const exit = await reaper.exit(pid);
  return { ...exit, stdout: fs.readFileSync(outPath), stderr: fs.readFileSync(errPath, 'utf8') };
}

/** Starts a long sleep, hands its pid to fn, then kills and reaps it whatever happens. */
async function withSleeper(over: Partial<SpawnRequest>, fn: (pid: number) => void): Promise<void> {
  const pid = native.spawn(request({ file: '/bin/sleep', args: ['sleep', '1000'], ...over }));
  try {
    fn(pid);
  } finally {
    process.kill(pid, 'SIGKILL');
    const exit = await reaper.exit(pid);
    assert.equal(exit.signal, 9);
  }
}

function procStatus(pid: number): Map<string, string> {
  const lines = fs.readFileSync(`/proc/${pid}/status`, 'utf8').trimEnd().split('\n');
  return new Map(lines.map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1).trim()]));
}

function expectNativeError(fn: () => unknown, expected: Partial<native.NativeError>): native.NativeError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(native.isNativeError(caught), `expected a NativeError, got ${String(caught)}`);
  for (const [key, value] of Object.entries(expected)) assert.equal(caught[key as keyof native.NativeError], value, key);
  return caught;
}

/** A failed spawn must leave neither a zombie nor an exit status for anyone else to collect. */
function assertNoChildren(): void {
  assert.deepEqual(native.listChildren(), []);
  assert.deepEqual(native.reapChildren([]), []);
}

describe('spawn: what the child gets', () => {
  test('argv is passed byte-exact, including argv[0], spaces, quotes, unicode and empty strings', T, async () => {
    const args = ['my argv0 ✓', '-c', 'cat /proc/$$/cmdline; exit 0', 'a b', `"double" 'single'`, 'ünï çødé', '', '\\n'];
    const r = await run({ file: '/bin/sh', args });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stdout, Buffer.from(args.join('\0') + '\0'));
  });

  test('env is passed exactly as given, and file is looked up in searchPath (not in env PATH)', T, async () => {
    const env = ['A=1', 'SPACES=a b  c', 'EMPTY=', 'UNICODE=ünï ✓', 'EQ=x=y', 'PATH=/nonexistent'];
    const r = await run({ file: 'env', args: ['env', '-0'], env, searchPath: `/nonexistent:${PATH}` });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stdout, Buffer.from(env.join('\0') + '\0'));
  });

  test('cwd is applied', T, async () => {
    const r = await run({ file: '/bin/sh', args: ['sh', '-c', 'pwd -P'], cwd: tmp });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.toString(), `${fs.realpathSync(tmp)}\n`);
  });

  test('newProcessGroup puts the child in its own group (pgid == pid)', T, async () => {
    await withSleeper({ newProcessGroup: true }, (pid) => {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      const pgid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
      assert.equal(pgid, pid);
      assert.notEqual(pgid, native.getpgrp());
    });
  });

  test('without newProcessGroup the child stays in our group', T, async () => {
    await withSleeper({}, (pid) => {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      assert.equal(Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]), native.getpgrp());
    });
  });

  test('rlimits are applied in the child (visible in /proc/PID/limits), Infinity = unlimited', T, async () => {
    const r = native.rlimitResources();
    const rlimits = [
      { resource: r.nofile!, soft: 1234, hard: 2345 },
      { resource: r.core!, soft: 0, hard: 0 },
      { resource: r.as!, soft: Infinity, hard: Infinity },
      { resource: r.stack!, soft: 4 * 1024 * 1024, hard: Infinity },
    ];
    await withSleeper({ rlimits }, (pid) => {
      const limits = fs.readFileSync(`/proc/${pid}/limits`, 'utf8');
      assert.match(limits, /^Max open files\s+1234\s+2345\s+files\s*$/m);
      assert.match(limits, /^Max core file size\s+0\s+0\s+bytes\s*$/m);
      assert.match(limits, /^Max address space\s+unlimited\s+unlimited\s+bytes\s*$/m);
      assert.match(limits, /^Max stack size\s+4194304\s+unlimited\s+bytes\s*$/m);
    });
  });

  test('uid, gid and supplementary groups are applied (as root: nobody with two groups)', { ...T, skip: !isRoot && 'needs root' }, async () => {
    await withSleeper({ uid: 65534, gid: 65534, groups: [100, 65534], cwd: '/' }, (pid) => {
      const status = procStatus(pid);
      assert.equal(status.get('Uid'), '65534\t65534\t65534\t65534');
      assert.equal(status.get('Gid'), '65534\t65534\t65534\t65534');
      assert.deepEqual(status.get('Groups')!.split(/\s+/).map(Number).sort((a, b) => a - b), [100, 65534]);
    });
  });

  test('groups: [] drops every supplementary group, gid alone is kept', { ...T, skip: !isRoot && 'needs root' }, async () => {
    await withSleeper({ uid: 65534, gid: 100, groups: [], cwd: '/' }, (pid) => {
      const status = procStatus(pid);
      assert.equal(status.get('Gid'), '100\t100\t100\t100');
      assert.equal(status.get('Groups'), '');
    });
  });

  test('fd mapping: a pipe end becomes fd 3 and the child writes to it', T, async () => {
    const fifo = path.join(tmp, 'fifo');
    execFileSync('mkfifo', [fifo]);
    const reader = fs.openSync(fifo, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
    const writer = fs.openSync(fifo, 'w');
    try {
      const r = await run({ file: '/bin/sh', args: ['sh', '-c', 'echo "to fd 3" >&3'], fds: [devnull, devnull, 2, writer] });
      assert.equal(r.code, 0);
      const buf = Buffer.alloc(64);
      const n = fs.readSync(reader, buf);
      assert.equal(buf.subarray(0, n).toString(), 'to fd 3\n');
    } finally {
      fs.closeSync(reader);
      fs.closeSync(writer);
    }
  });

  test('fd mapping handles sources inside the target range (a swap) and -1 closes a slot', T, async () => {
    const a = fs.openSync(path.join(tmp, 'swap-a'), 'w');
    const b = fs.openSync(path.join(tmp, 'swap-b'), 'w');
    const out = fs.openSync(path.join(tmp, 'swap-out'), 'w');
    try {
      // Child fd a := our b and child fd b := our a; every other slot up to them is closed except 1 (stdout).
      const fds = Array.from({ length: Math.max(a, b) + 1 }, () => -1);
      fds[1] = out;
      fds[a] = b;
      fds[b] = a;
      const script = `echo A >&${a}; echo B >&${b}; readlink /proc/$$/fd/0 || echo "fd 0 closed"; exit 0`;
      const pid = native.spawn(request({ file: '/bin/bash', args: ['bash', '-c', script], fds })); // dash cannot name fds > 9
      assert.equal((await reaper.exit(pid)).code, 0);
      assert.equal(fs.readFileSync(path.join(tmp, 'swap-a'), 'utf8'), 'B\n');
      assert.equal(fs.readFileSync(path.join(tmp, 'swap-b'), 'utf8'), 'A\n');
      assert.equal(fs.readFileSync(path.join(tmp, 'swap-out'), 'utf8'), 'fd 0 closed\n');
    } finally {
      fs.closeSync(a);
      fs.closeSync(b);
      fs.closeSync(out);
    }
  });

  test('fds not named are not inherited when they are CLOEXEC (as everything Node opens is)', T, async () => {
    const extra = fs.openSync('/dev/null', 'r');
    try {
      const r = await run({ file: '/bin/sh', args: ['sh', '-c', `readlink /proc/$$/fd/${extra} || echo closed; exit 0`] });
      assert.equal(r.stdout.toString(), 'closed\n');
    } finally {
      fs.closeSync(extra);
    }
  });

  // Node unblocks every signal on its main thread at start-up, so a test cannot make the parent's own mask non-empty;
  // but spawn forks with *every* signal blocked, so an empty SigBlk in the child proves the reset.
  test('signal dispositions and mask are reset: SigIgn and SigBlk are zero in the child', T, async () => {
    native.ignoreSignal(21); // SIGTTIN, as tend does; Node itself already ignores SIGPIPE and SIGXFSZ
    const ours = procStatus(process.pid);
    assert.notEqual(BigInt(`0x${ours.get('SigIgn')!}`) & (1n << 12n), 0n, 'Node ignores SIGPIPE');
    assert.notEqual(BigInt(`0x${ours.get('SigIgn')!}`) & (1n << 20n), 0n, 'ignoreSignal(SIGTTIN) took effect');
    await withSleeper({}, (pid) => {
      const status = procStatus(pid);
      assert.equal(status.get('SigIgn'), '0000000000000000');
      assert.equal(status.get('SigBlk'), '0000000000000000');
    });
  });

  test('PATH search skips missing and non-executable entries like execvp', T, async () => {
    const noexec = path.join(tmp, 'noexec');
    const good = path.join(tmp, 'good');
    fs.mkdirSync(noexec);
    fs.mkdirSync(good);
    fs.writeFileSync(path.join(noexec, 'tend-tool'), '#!/bin/sh\necho wrong\n', { mode: 0o644 });
    fs.writeFileSync(path.join(good, 'tend-tool'), '#!/bin/sh\necho right\n', { mode: 0o755 });
    const r = await run({ file: 'tend-tool', args: ['tend-tool'], searchPath: `/nonexistent:${noexec}:${good}` });
    assert.equal(r.stdout.toString(), 'right\n');
  });
});

describe('spawn: failures', () => {
  test('a missing command is ENOENT from execve, and leaves no zombie', T, () => {
    const err = expectNativeError(
      () => native.spawn(request({ file: 'tend-no-such-command', args: ['x'], searchPath: `/nonexistent:${PATH}` })),
      { code: 'ENOENT', errno: 2, syscall: 'execve', path: 'tend-no-such-command' },
    );
    assert.equal(err.message, 'execve: ENOENT: no such file or directory');
    assertNoChildren();
  });

  test('a missing absolute path and a path through a non-directory are both ENOENT', T, () => {
    expectNativeError(() => native.spawn(request({ file: '/nonexistent/x', args: ['x'] })), { code: 'ENOENT', syscall: 'execve' });
    const file = path.join(tmp, 'plain-file');
    fs.writeFileSync(file, '');
    expectNativeError(() => native.spawn(request({ file: `${file}/x`, args: ['x'] })), { code: 'ENOENT', syscall: 'execve' });
    assertNoChildren();
  });

  test('a non-executable file is EACCES, also when only found during PATH search', T, () => {
    const dir = path.join(tmp, 'eacces');
    fs.mkdirSync(dir);
    const file = path.join(dir, 'not-executable');
    fs.writeFileSync(file, '#!/bin/sh\n', { mode: 0o644 });
    expectNativeError(() => native.spawn(request({ file, args: ['x'] })), { code: 'EACCES', syscall: 'execve', path: file });
    expectNativeError(
      () => native.spawn(request({ file: 'not-executable', args: ['x'], searchPath: `${dir}:/nonexistent` })),
      { code: 'EACCES', syscall: 'execve' },
    );
    assertNoChildren();
  });

  test('an executable without a valid format is ENOEXEC (no shell fallback)', T, () => {
    const file = path.join(tmp, 'garbage');
    fs.writeFileSync(file, 'echo not a binary\n', { mode: 0o755 });
    expectNativeError(() => native.spawn(request({ file, args: ['x'] })), { code: 'ENOEXEC', syscall: 'execve' });
    assertNoChildren();
  });

  test('setrlimit failure names the resource (nofile soft > hard is EINVAL)', T, () => {
    const nofile = native.rlimitResources().nofile!;
    const err = expectNativeError(
      () => native.spawn(request({ file: '/bin/true', args: ['true'], rlimits: [{ resource: nofile, soft: 2000, hard: 1000 }] })),
      { code: 'EINVAL', errno: 22, syscall: 'setrlimit', resource: 'nofile' },
    );
    assert.equal(err.message, 'setrlimit: EINVAL: invalid argument');
    assertNoChildren();
  });

  test('a missing cwd is ENOENT from chdir', T, () => {
    expectNativeError(() => native.spawn(request({ file: '/bin/true', args: ['true'], cwd: '/nonexistent/dir' })), {
      code: 'ENOENT',
      syscall: 'chdir',
    });
    assertNoChildren();
  });

  test('identity changes happen before chdir: nobody cannot enter a root-only directory', { ...T, skip: !isRoot && 'needs root' }, () => {
    const dir = path.join(tmp, 'private');
    fs.mkdirSync(dir, { mode: 0o700 });
    expectNativeError(() => native.spawn(request({ file: '/bin/true', args: ['true'], cwd: dir, uid: 65534, gid: 65534 })), {
      code: 'EACCES',
      syscall: 'chdir',
    });
    assertNoChildren();
  });

  test('setuid as non-root fails with EPERM from the right step', { ...T, skip: !isRoot && 'needs root' }, async () => {
    // A nobody node process tries to become root through the addon.
    const script = `
      import { spawn, isNativeError } from ${JSON.stringify(nativeUrl)};
      try {
        spawn({ file: '/bin/true', args: ['true'], env: [], searchPath: '', cwd: null, newProcessGroup: false,
          foregroundTty: -1, rlimits: [], uid: 0, gid: -1, groups: null, fds: [0, 1, 2] });
        console.log('spawned');
      } catch (e) { console.log(isNativeError(e) ? e.syscall + ' ' + e.code : String(e)); }
    `;
    const r = await run({ file: process.execPath, args: ['node', '--input-type=module', '-e', script], uid: 65534, gid: 65534, cwd: '/' });
    assert.equal(r.stdout.toString(), 'setuid EPERM\n', r.stderr);
  });

  test('a source fd that is not open is EBADF (checked before fork)', T, () => {
    expectNativeError(() => native.spawn(request({ file: '/bin/true', args: ['true'], fds: [0, 1, 2, 999_999] })), {
      code: 'EBADF',
      syscall: 'dup2',
    });
    assertNoChildren();
  });

  test('invalid arguments are rejected in TypeScript before reaching C', T, () => {
    assert.throws(() => native.spawn(request({ file: '/bin/true', args: [] })), TypeError);
    assert.throws(() => native.spawn(request({ file: '', args: ['x'] })), TypeError);
    assert.throws(() => native.spawn(request({ file: '/bin/true', args: ['a\0b'] })), TypeError);
    assert.throws(() => native.spawn(request({ file: '/bin/true', args: ['x', 'a\0b'] })), /args\[1\]/);
    assert.throws(() => native.spawn(request({ file: '/bin/true', args: ['x'], env: ['A=1', 7 as unknown as string] })), /env\[1\]/);
    assert.throws(() => native.spawn(request({ file: '/bin/true', args: ['x'], fds: [0, 1.5] })), TypeError);
    assert.throws(() => native.spawn(request({ file: '/bin/true', args: ['x'], uid: -2 })), TypeError);
    const nofile = native.rlimitResources().nofile!;
    assert.throws(() => native.spawn(request({ file: '/bin/true', args: ['x'], rlimits: [{ resource: nofile, soft: -1, hard: 1 }] })), TypeError);
    assertNoChildren();
  });
});

describe("inheritEnv: the child starts from tend's own environment, put together in C", () => {
  test("it gets process.env as it is now (tend's own changes too), without what env and unsetEnv name, then env", T, async () => {
    process.env['TEND_TEST_KEEP'] = 'a=b c';
    process.env['TEND_TEST_GONE'] = '1';
    process.env['TEND_TEST_SET'] = 'old';
    try {
      const r = await run({ file: 'env', args: ['env', '-0'], env: ['TEND_TEST_SET=new', 'TEND_TEST_ADDED=', 'LISTEN_PID='], inheritEnv: true, unsetEnv: ['TEND_TEST_GONE', 'TEND_TEST_NEVER_SET'] });
      assert.equal(r.code, 0, r.stderr);
      const expected = Object.keys(process.env).filter((k) => k !== 'TEND_TEST_GONE' && k !== 'TEND_TEST_SET').map((k) => `${k}=${process.env[k]}`);
      expected.push('TEND_TEST_SET=new', 'TEND_TEST_ADDED=', `LISTEN_PID=${r.pid}`);
      assert.deepEqual(r.stdout.toString().split('\0').slice(0, -1), expected);
    } finally {
      for (const k of ['TEND_TEST_KEEP', 'TEND_TEST_GONE', 'TEND_TEST_SET']) Reflect.deleteProperty(process.env, k);
    }
  });

  test('of a repeated name only the first passes on, as getenv answers; an entry with no name or no "=" is no variable and is dropped', T, async () => {
    // A process whose environ has them (Node keeps its environ as exec gave it) spawns `env -0` inheriting.
    const script = `
      import * as native from ${JSON.stringify(nativeUrl)};
      import { waitExit } from ${JSON.stringify(new URL('./child-reaper.js', import.meta.url).href)};
      const pid = native.spawn({ file: 'env', args: ['env', '-0'], env: ['ADDED=1'], inheritEnv: true, unsetEnv: ['GONE'], searchPath: ${JSON.stringify(PATH)}, cwd: null,
        newProcessGroup: false, foregroundTty: -1, rlimits: [], uid: -1, gid: -1, groups: null, fds: [0, 1, 2] });
      process.exitCode = (await waitExit(pid)).code;
    `;
    const r = await run({ file: process.execPath, args: ['node', '--input-type=module', '-e', script],
      env: [`PATH=${PATH}`, 'DUP=first', 'NOEQUALS', 'GONE=1', 'DUP=second', '=nameless', 'GONE=2', '__proto__=plain', 'LAST='] });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stdout.toString().split('\0').slice(0, -1), [`PATH=${PATH}`, 'DUP=first', '__proto__=plain', 'LAST=', 'ADDED=1']);
  });

  test('without inheritEnv, env is the whole environment and unsetEnv does nothing', T, async () => {
    const r = await run({ file: 'env', args: ['env', '-0'], env: ['ONLY=1'], unsetEnv: ['ONLY'] });
    assert.deepEqual(r.stdout.toString().split('\0').slice(0, -1), ['ONLY=1']);
  });

  test('unsetEnv takes names: a name with "=", an empty one or one with a NUL is rejected before C', T, () => {
    for (const bad of ['A=B', '', 'A\0B', 7]) {
      assert.throws(() => native.spawn(request({ file: '/bin/true', args: ['x'], inheritEnv: true, unsetEnv: [bad as string] })), /native\.spawn: unsetEnv\[0\]/);
    }
    assert.throws(() => native.spawn(request({ file: '/bin/true', args: ['x'], inheritEnv: 'yes' as unknown as boolean })), /native\.spawn: inheritEnv must be a boolean/);
    assertNoChildren();
  });
});
