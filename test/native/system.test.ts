// Contract tests for the smaller addon functions: rlimits on tend itself, users and groups, terminal job control,
// listening sockets and the error shape.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import * as native from '../../src/os/native.js';
import { waitExit } from './child-reaper.js';

const T = { timeout: 10_000 };
const PYTHON = fs.existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
const nativeUrl = new URL('../../src/os/native.js', import.meta.url).href;

let tmp = '';
let devnull = -1;

before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tend-system-'));
  devnull = fs.openSync('/dev/null', 'r+');
});

after(() => {
  fs.closeSync(devnull);
  fs.rmSync(tmp, { recursive: true, force: true });
});

function caught(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  assert.fail('expected an exception');
}

/** Our own limit as the kernel shows it in /proc/self/limits. */
function procLimit(label: string): { soft: number; hard: number } {
  const line = fs.readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith(label));
  assert.ok(line !== undefined, label);
  const [soft, hard] = line.slice(label.length).trim().split(/\s+/).map((v) => (v === 'unlimited' ? Infinity : Number(v)));
  return { soft: soft!, hard: hard! };
}

describe('rlimits of tend itself', () => {
  test('rlimitResources maps the 16 lower-case names to the header values', T, () => {
    const r = native.rlimitResources();
    assert.deepEqual(Object.keys(r).sort(), [
      'as', 'core', 'cpu', 'data', 'fsize', 'locks', 'memlock', 'msgqueue', 'nice', 'nofile', 'nproc', 'rss', 'rtprio',
      'rttime', 'sigpending', 'stack',
    ]);
    assert.equal(r.nofile, 7);
    assert.equal(r.core, 4);
    assert.equal(r.cpu, 0);
    assert.deepEqual(Object.values(r).sort((a, b) => a - b), Array.from({ length: 16 }, (_, i) => i));
  });

  test('getrlimit agrees with /proc/self/limits (Infinity for unlimited)', T, () => {
    const r = native.rlimitResources();
    assert.deepEqual(native.getrlimit(r.core!), procLimit('Max core file size'));
    assert.deepEqual(native.getrlimit(r.nofile!), procLimit('Max open files'));
    assert.deepEqual(native.getrlimit(r.as!), procLimit('Max address space'));
  });

  test('setrlimit/getrlimit round trip on RLIMIT_CORE', T, () => {
    const core = native.rlimitResources().core!;
    const original = native.getrlimit(core);
    try {
      const soft = original.hard === Infinity ? 12345 * 1024 : Math.min(original.hard, 12345);
      native.setrlimit(core, soft, original.hard);
      assert.deepEqual(native.getrlimit(core), { soft, hard: original.hard });
      native.setrlimit(core, 0, original.hard);
      assert.deepEqual(native.getrlimit(core), { soft: 0, hard: original.hard });
    } finally {
      native.setrlimit(core, original.soft, original.hard);
    }
    assert.deepEqual(native.getrlimit(core), original);
  });

  // The launcher's record of the limits tend was started with (TEND_INHERITED_RLIMITS), read back by tend.
  test('changedLimits: of the recorded limits, those that differ from tend\'s own now, in order', T, () => {
    const r = native.rlimitResources();
    const text = (resource: number, limit: { soft: number; hard: number }): string => {
      const n = (v: number): string => (v === Infinity ? 'inf' : String(v));
      return `${resource}=${n(limit.soft)}:${n(limit.hard)}`;
    };
    const now = Object.values(r).map((resource) => text(resource, native.getrlimit(resource)));
    assert.deepEqual(native.changedLimits(now.join(',')), []);
    const core = native.getrlimit(r.core!);
    const nofile = native.getrlimit(r.nofile!);
    const lowerCore = { soft: core.soft === 0 ? 1 : 0, hard: core.hard };
    const lowerNofile = { soft: nofile.soft === 64 ? 65 : 64, hard: nofile.hard };
    assert.deepEqual(native.changedLimits([text(r.nofile!, lowerNofile), ...now, text(r.core!, lowerCore)].join(',')), [
      { resource: r.nofile, ...lowerNofile },
      { resource: r.core, ...lowerCore },
    ]);
  });

  test('changedLimits skips any item the launcher would not write, and resources the kernel does not know', T, () => {
    const core = native.rlimitResources().core!;
    const limit = native.getrlimit(core);
    const other = { soft: limit.soft === 0 ? 1 : 0, hard: limit.hard };
    const good = `${core}=${other.soft}:${other.hard === Infinity ? 'inf' : other.hard}`;
    const bad = ['7', '7=', '7=1', '7=1:', '=1:2', 'inf=1:2', 'x=1:2', '7=-1:2', '7=1:2:3', '7=1.5:2', '7= 1:2', '7=0x10:2', '7=+1:2', '999=1:2', '', '7=99999999999999999999999:1'];
    assert.deepEqual(native.changedLimits([...bad, good].join(',')), [{ resource: core, ...other }]);
    assert.deepEqual(native.changedLimits(''), []);
  });

  test('setrlimit errors carry code, errno, syscall, resource and a readable message', T, () => {
    const e = caught(() => { native.setrlimit(native.rlimitResources().nofile!, 200, 100); });
    assert.ok(native.isNativeError(e));
    assert.deepEqual({ code: e.code, errno: e.errno, syscall: e.syscall, resource: e.resource }, {
      code: 'EINVAL', errno: 22, syscall: 'setrlimit', resource: 'nofile',
    });
    assert.equal(e.message, 'setrlimit: EINVAL: invalid argument');
  });
});

describe('users and groups', () => {
  function getent(db: string, key: string): string[] {
    return execFileSync('getent', [db, key], { encoding: 'utf8' }).trim().split(':');
  }

  test('lookupUser / lookupUserById return the passwd entry', T, () => {
    const [, , uid, gid, , home, shell] = getent('passwd', 'root');
    const root = { name: 'root', uid: Number(uid), gid: Number(gid), home: home!, shell: shell! };
    assert.deepEqual(native.lookupUser('root'), root);
    assert.deepEqual(native.lookupUserById(0), root);
    const nobody = getent('passwd', '65534');
    assert.equal(native.lookupUserById(65534)?.name, nobody[0]);
  });

  test('unknown users and groups are null, not errors', T, () => {
    assert.equal(native.lookupUser('tend-no-such-user'), null);
    assert.equal(native.lookupUserById(3_999_999_999), null);
    assert.equal(native.lookupGroup('tend-no-such-group'), null);
  });

  test('lookupGroup and groupList', T, () => {
    assert.equal(native.lookupGroup('root'), 0);
    const users = getent('group', 'users');
    assert.equal(native.lookupGroup('users'), Number(users[2]));
    assert.ok(native.groupList('root', 0).includes(0));
    assert.ok(native.groupList('nobody', 12345).includes(12345), 'the given gid is always included');
  });
});

describe('terminal', () => {
  test('tcgetpgrp is -1 for fds that are not our terminal; bad fds still throw', T, () => {
    assert.equal(native.tcgetpgrp(devnull), -1);
    const e = caught(() => native.tcgetpgrp(999_999));
    assert.ok(native.isNativeError(e) && e.code === 'EBADF' && e.syscall === 'tcgetpgrp');
  });

  test('getpgrp is our process group', T, () => {
    const stat = fs.readFileSync('/proc/self/stat', 'utf8');
    assert.equal(native.getpgrp(), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]));
  });

  test('on a real terminal: spawn hands it to the child group; tcsetpgrp takes it back from the background', T, async () => {
    // python gives a node process a pty as controlling terminal; that node spawns a foreground child through the
    // addon (tend is now in the background) and then takes the terminal back, which needs SIGTTOU blocked.
    const script = `
      import { spawn, tcgetpgrp, tcsetpgrp, getpgrp, reapChildren } from ${JSON.stringify(nativeUrl)};
      const before = tcgetpgrp(0);
      const pid = spawn({ file: '/bin/sleep', args: ['sleep', '1000'], env: [], searchPath: '', cwd: null,
        newProcessGroup: true, foregroundTty: 0, rlimits: [], uid: -1, gid: -1, groups: null, fds: [0, 1, 2] });
      const during = tcgetpgrp(0);
      tcsetpgrp(0, getpgrp());
      const after = tcgetpgrp(0);
      const keepAlive = setInterval(() => {}, 1 << 30);
      process.on('SIGCHLD', () => {
        if (!reapChildren([]).some((c) => c.pid === pid)) return;
        clearInterval(keepAlive);
        console.log(JSON.stringify({ me: getpgrp(), pid, before, during, after }));
      });
      process.kill(pid, 'SIGKILL');
    `;
    const ptyRunner = [
      'import os, pty, sys',
      'pid, fd = pty.fork()',
      'if pid == 0: os.execv(sys.argv[1], sys.argv[1:])',
      "out = b''",
      'while True:',
      '    try: chunk = os.read(fd, 4096)',
      '    except OSError: break',
      '    if not chunk: break',
      '    out += chunk',
      '_, status = os.waitpid(pid, 0)',
      'sys.stdout.write(out.decode())',
      'sys.exit(os.waitstatus_to_exitcode(status))',
    ].join('\n');
    const outPath = path.join(tmp, 'pty-out');
    const out = fs.openSync(outPath, 'w');
    let runner: number;
    try {
      runner = native.spawn({
        file: PYTHON, args: ['python3', '-c', ptyRunner, process.execPath, '--input-type=module', '-e', script],
        env: [`PATH=${process.env.PATH ?? ''}`], searchPath: process.env.PATH ?? '', cwd: null, newProcessGroup: false,
        foregroundTty: -1, rlimits: [], uid: -1, gid: -1, groups: null, fds: [devnull, out, 2],
      });
    } finally {
      fs.closeSync(out);
    }
    const exit = await waitExit(runner);
    const output = fs.readFileSync(outPath, 'utf8');
    assert.equal(exit.code, 0, output);
    const line = output.split(/\r?\n/).find((l) => l.startsWith('{'));
    assert.ok(line !== undefined, output);
    const r = JSON.parse(line) as { me: number; pid: number; before: number; during: number; after: number };
    assert.equal(r.before, r.me, 'the node process starts in the foreground');
    assert.equal(r.during, r.pid, 'the child group got the terminal');
    assert.equal(r.after, r.me, 'tcsetpgrp took it back from the background');
  });
});


describe('listening sockets', () => {
  function connect(options: net.NetConnectOpts): Promise<void> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(options, () => {
        socket.destroy();
        resolve();
      });
      socket.on('error', reject);
    });
  }

  test('listenTcp on 127.0.0.1 port 0: socketPort tells the port and connections queue up', T, async () => {
    const fd = native.listenTcp('127.0.0.1', 0, 16, false);
    try {
      const port = native.socketPort(fd);
      assert.ok(port > 0 && port < 65536);
      await connect({ host: '127.0.0.1', port });
    } finally {
      native.closeFd(fd);
    }
  });

  test('listenTcp on ::1 when IPv6 is available', T, async (t) => {
    let fd: number;
    try {
      fd = native.listenTcp('::1', 0, 16, false);
    } catch (e) {
      if (native.isNativeError(e) && (e.code === 'EADDRNOTAVAIL' || e.code === 'EAFNOSUPPORT')) {
        t.skip('no IPv6 loopback');
        return;
      }
      throw e;
    }
    try {
      await connect({ host: '::1', port: native.socketPort(fd) });
    } finally {
      native.closeFd(fd);
    }
  });

  test('SO_REUSEPORT lets two sockets share a port; without it the second bind is EADDRINUSE', T, () => {
    const a = native.listenTcp('127.0.0.1', 0, 16, true);
    const port = native.socketPort(a);
    const b = native.listenTcp('127.0.0.1', port, 16, true);
    try {
      assert.equal(native.socketPort(b), port);
      const e = caught(() => native.listenTcp('127.0.0.1', port, 16, false));
      assert.ok(native.isNativeError(e) && e.code === 'EADDRINUSE' && e.syscall === 'bind');
    } finally {
      native.closeFd(a);
      native.closeFd(b);
    }
  });

  test('listenTcp with backlog -1 binds an SO_REUSEPORT copy without listening: it takes no connection until a listen() on it', T, async () => {
    const bound = native.listenTcp('127.0.0.1', 0, -1, true);
    const port = native.socketPort(bound);
    const refused = await connect({ host: '127.0.0.1', port }).then(() => null, (e: unknown) => (e as NodeJS.ErrnoException).code);
    assert.equal(refused, 'ECONNREFUSED');
    // Node's listen({ fd }) calls listen(2) on it, as a worker does with its slot's copy.
    const server = net.createServer((s) => { s.destroy(); });
    try {
      await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen({ fd: bound }, resolve); });
      await connect({ host: '127.0.0.1', port });
    } finally {
      await new Promise<void>((resolve) => { server.close(() => { resolve(); }); });
    }
    assert.throws(() => native.listenTcp('127.0.0.1', 0, -2, true), /backlog/);
  });

  test('listenTcp rejects a host that is not an IP literal with EINVAL', T, () => {
    const e = caught(() => native.listenTcp('localhost', 0, 16, false));
    assert.ok(native.isNativeError(e) && e.code === 'EINVAL' && e.syscall === 'inet_pton');
  });

  test('listenUnix on a path and in the abstract namespace', T, async () => {
    const file = path.join(tmp, 'stream.sock');
    const abstract = `tend-test-stream-${process.pid}`;
    const a = native.listenUnix(file, 16);
    const b = native.listenUnix(`@${abstract}`, 16);
    try {
      await connect({ path: file });
      // Node 20's net pads abstract names to the full sun_path, so connect the standard way (exact length) with python.
      const script = 'import socket, sys\ns = socket.socket(socket.AF_UNIX)\ns.connect("\\0" + sys.argv[1])\nprint("connected")';
      const out = path.join(tmp, 'abstract-out');
      const fd = fs.openSync(out, 'w');
      let pid: number;
      try {
        pid = native.spawn({
          file: PYTHON, args: ['python3', '-c', script, abstract], env: [], searchPath: process.env.PATH ?? '', cwd: null,
          newProcessGroup: false, foregroundTty: -1, rlimits: [], uid: -1, gid: -1, groups: null, fds: [devnull, fd, 2],
        });
      } finally {
        fs.closeSync(fd);
      }
      assert.equal((await waitExit(pid)).code, 0);
      assert.equal(fs.readFileSync(out, 'utf8'), 'connected\n');
    } finally {
      native.closeFd(a);
      native.closeFd(b);
    }
  });

  test('closeFd closes; a second close is EBADF', T, () => {
    const fd = native.listenUnix(`@tend-test-close-${process.pid}`, 1);
    native.closeFd(fd);
    const e = caught(() => { native.closeFd(fd); });
    assert.ok(native.isNativeError(e) && e.code === 'EBADF' && e.syscall === 'close');
  });

  test('isNativeError only accepts errno errors', T, () => {
    assert.equal(native.isNativeError(new Error('x')), false);
    assert.equal(native.isNativeError(new TypeError('x')), false);
    assert.equal(native.isNativeError(null), false);
    assert.equal(native.isNativeError({ code: 'EPERM', errno: 1, syscall: 'x' }), false);
    assert.equal(native.isNativeError(caught(() => native.socketPort(devnull))), true);
  });
});

describe('loading the addon', () => {
  const loaderUrl = new URL('../../src/os/native-loader.js', import.meta.url).href;

  test('it creates the functions every start uses; more() creates the rest on the same object, once', T, () => {
    // A process of its own: this one's facade (os/native.ts) has asked for more() already.
    const code = `import { loadFirst } from ${JSON.stringify(loaderUrl)};
      const addon = loadFirst().exports;
      const before = Object.keys(addon);
      const same = addon.more() === addon && addon.more() === addon;
      console.log(JSON.stringify({ before, after: Object.keys(addon), same }));`;
    const out = JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8', timeout: 10_000 })) as { before: string[]; after: string[]; same: boolean };
    // Exactly what a start uses (os/native.ts calls these through addon(), every other one through everything()).
    assert.deepEqual([...out.before].sort(), ['changedLimits', 'childSignalWatch', 'exitNow', 'getpgrp', 'ignoreSignal', 'kill',
      'listChildren', 'more', 'readLatin1File', 'readOwnFile', 'realtimeSignalRange', 'reapChildren', 'setChildSubreaper', 'signalWatch',
      'spawn', 'tcgetpgrp', 'tcsetpgrp', 'timer']);
    for (const name of ['lookupUser', 'dgramBind', 'listenTcp', 'pipe', 'ipcSend', 'peerCredentials']) {
      assert.ok(!out.before.includes(name), `${name} is created at load`);
      assert.ok(out.after.includes(name), `${name} after more(): ${out.after.join(' ')}`);
    }
    assert.equal(out.same, true, 'more() returns the exports object, and a second call does not throw');
    assert.equal(new Set(out.after).size, out.after.length);
  });
});
