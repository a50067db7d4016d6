// Socket activation into tend (src/systemd/socket-activation.ts and the addon's socketAddress/setCloexec), without
// booting systemd: the decision rules with injected fds, then real sockets passed the way systemd passes them, by
// systemd-socket-activate (systemd's own tool) or by a shell that sets LISTEN_PID=$$ and execs. Through tend's pool
// and the real systemd: lifecycle.test.ts.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { TendError } from '../../src/errors.js';
import * as native from '../../src/os/native.js';
import type { SocketAddress } from '../../src/os/native.js';
import { inheritedSockets, type SocketActivationDeps } from '../../src/systemd/socket-activation.js';

const T = { timeout: 20_000 };
const distRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const moduleUrl = pathToFileURL(path.join(distRoot, 'src', 'systemd', 'socket-activation.js')).href;
const SOCKET_ACTIVATE = ['/usr/bin/systemd-socket-activate', '/bin/systemd-socket-activate'].find((p) => fs.existsSync(p)) ?? null;

function fake(addresses: Record<number, SocketAddress | Error>, pid = 4242): SocketActivationDeps & { cloexec: number[] } {
  const cloexec: number[] = [];
  return {
    pid,
    cloexec,
    socketAddress: (fd) => {
      const a = addresses[fd];
      if (a === undefined) throw Object.assign(new Error('getsockname: EBADF'), { code: 'EBADF', errno: 9, syscall: 'getsockname' });
      if (a instanceof Error) throw a;
      return a;
    },
    setCloexec: (fd) => { cloexec.push(fd); },
  };
}

const errno = (code: string): Error => Object.assign(new Error(`x: ${code}`), { code, errno: 1, syscall: 'getsockopt' });

describe('inheritedSockets: the rules', () => {
  const tcp: SocketAddress = { family: 'tcp', host: '127.0.0.1', port: 8080 };
  it('null unless LISTEN_PID is this process and LISTEN_FDS is at least 1', T, () => {
    const deps = fake({ 3: tcp });
    assert.equal(inheritedSockets({}, deps), null);
    assert.equal(inheritedSockets({ LISTEN_FDS: '1' }, deps), null);
    assert.equal(inheritedSockets({ LISTEN_FDS: '1', LISTEN_PID: '1' }, deps), null, 'leaked from another process');
    assert.equal(inheritedSockets({ LISTEN_FDS: '1', LISTEN_PID: '' }, deps), null);
    assert.equal(inheritedSockets({ LISTEN_FDS: '0', LISTEN_PID: '4242' }, deps), null);
    assert.deepEqual(deps.cloexec, [], 'fds that are not ours are left alone');
    assert.throws(() => inheritedSockets({ LISTEN_FDS: 'two', LISTEN_PID: '4242' }, deps), (e: unknown) => e instanceof TendError && /LISTEN_FDS="two" is not a count/.test(e.message));
  });

  it('describes each fd as an OpenSocket (name from LISTEN_FDNAMES) and makes it close-on-exec', T, () => {
    const deps = fake({
      3: tcp,
      4: { family: 'tcp', host: '::', port: 443 },
      5: { family: 'unix', path: '/run/app.sock' },
      6: { family: 'unix', path: '@app-abstract' },
    });
    const got = inheritedSockets({ LISTEN_FDS: '4', LISTEN_PID: '4242', LISTEN_FDNAMES: 'web:tls::admin' }, deps);
    assert.deepEqual(got, [
      { fd: 3, address: 'tcp:127.0.0.1:8080', port: 8080, spec: { kind: 'tcp', host: '127.0.0.1', port: 8080, name: 'web' } },
      { fd: 4, address: 'tcp:[::]:443', port: 443, spec: { kind: 'tcp', host: '::', port: 443, name: 'tls' } },
      { fd: 5, address: 'unix:/run/app.sock', port: null, spec: { kind: 'unix', path: '/run/app.sock', mode: null, owner: null, group: null, name: 'unknown' } },
      { fd: 6, address: 'unix:@app-abstract', port: null, spec: { kind: 'unix', path: '@app-abstract', mode: null, owner: null, group: null, name: 'admin' } },
    ]);
    assert.deepEqual(deps.cloexec, [3, 4, 5, 6]);
    // A name list that does not match the count is ignored, as sd_listen_fds_with_names does.
    const unnamed = inheritedSockets({ LISTEN_FDS: '1', LISTEN_PID: '4242', LISTEN_FDNAMES: 'a:b' }, fake({ 3: tcp }));
    assert.equal(unnamed?.[0]?.spec.name, 'unknown');
  });

  it('an fd tend cannot serve is an error that names it and says what to change', T, () => {
    const cases: [Error | undefined, RegExp][] = [
      [undefined, /fd 3, name "web"\) is not open/],
      [errno('ENOTSOCK'), /is not a socket/],
      [errno('EPROTOTYPE'), /not a stream socket.*ListenDatagram/],
      [errno('EINVAL'), /not listening; use Accept=no/],
      [errno('EAFNOSUPPORT'), /address family/],
    ];
    for (const [error, message] of cases) {
      const deps = fake(error === undefined ? {} : { 3: error });
      assert.throws(() => inheritedSockets({ LISTEN_FDS: '1', LISTEN_PID: '4242', LISTEN_FDNAMES: 'web' }, deps),
        (e: unknown) => e instanceof TendError && e.code === 'TEND_ERR_LISTEN' && message.test(e.message), String(message));
    }
  });
});

/** Runs a probe in a child that got `fds` as 3, 4, ... the systemd way (LISTEN_PID=$$ then exec), and parses its JSON. */
function probeWith(fds: number[], names: string, extraScript = ''): Promise<Record<string, unknown>> {
  const script = `
    import fs from 'node:fs';
    const { inheritedSockets } = await import(${JSON.stringify(moduleUrl)});
    const cloexec = (fd) => (parseInt(/^flags:\\s*(\\d+)/m.exec(fs.readFileSync('/proc/self/fdinfo/' + fd, 'utf8'))[1], 8) & 0o2000000) !== 0;
    const fds = Array.from({ length: Number(process.env.LISTEN_FDS) }, (_, i) => 3 + i);
    const before = fds.map(cloexec);
    let result, error = null;
    try { result = inheritedSockets(process.env); } catch (e) { error = e.message; }
    const out = { before, after: fds.map(cloexec), result, error, pid: process.pid, listenPid: process.env.LISTEN_PID };
    ${extraScript}
    console.log(JSON.stringify(out));`;
  const stdio: ('ignore' | 'pipe' | number)[] = ['ignore', 'pipe', 'pipe', ...fds];
  const child = spawn('/bin/sh', ['-c', 'LISTEN_PID=$$ exec "$0" --input-type=module -e "$1"', process.execPath, script], {
    stdio,
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', LISTEN_FDS: String(fds.length), LISTEN_FDNAMES: names },
  });
  return collectJson(child);
}

function collectJson(child: ReturnType<typeof spawn>): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`probe timed out\n${out}\n${err}`)); }, 15_000);
    child.stdout?.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr?.on('data', (d: Buffer) => { err += d.toString(); });
    child.on('close', (code) => {
      clearTimeout(timer);
      const line = out.trim().split('\n').pop() ?? '';
      try {
        resolve(JSON.parse(line) as Record<string, unknown>);
      } catch {
        reject(new Error(`probe exited ${code} without JSON\nstdout: ${out}\nstderr: ${err}`));
      }
    });
  });
}

describe('inheritedSockets: real passed sockets', () => {
  let dir = '';
  const opened: number[] = [];
  before(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tend-sa-')); });
  after(() => {
    for (const fd of opened) native.closeFd(fd);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('TCP (v4, v6), filesystem and abstract unix sockets: addresses, ports, names; CLOEXEC set; usable by net', T, async () => {
    const v4 = native.listenTcp('127.0.0.1', 0, 16, false);
    const v6 = (() => { try { return native.listenTcp('::1', 0, 16, false); } catch { return null; } })();
    const unixPath = path.join(dir, 'app.sock');
    const un = native.listenUnix(unixPath, 16);
    const abstract = `@tend-sa-${process.pid}`;
    const ab = native.listenUnix(abstract, 16);
    opened.push(v4, un, ab, ...(v6 === null ? [] : [v6]));
    const fds = [v4, un, ab, ...(v6 === null ? [] : [v6])];
    const names = ['web', 'local', 'hidden', ...(v6 === null ? [] : ['web6'])];
    // The probe also serves one request on the first socket, proving the fd is what its address says.
    const out = await Promise.all([
      probeWith(fds, names.join(':'), `
        const net = await import('node:net');
        await new Promise((resolve) => {
          const server = net.createServer((c) => { c.end('hello from ' + process.pid); server.close(); resolve(); }).listen({ fd: 3 });
        });`),
      (async () => {
        const port = native.socketPort(v4);
        for (;;) {
          try {
            return await new Promise<string>((resolve, reject) => {
              const c = net.connect(port, '127.0.0.1');
              let text = '';
              c.on('data', (d) => { text += d.toString(); });
              c.on('end', () => { resolve(text); });
              c.on('error', reject);
            });
          } catch (error) {
            if ((error as NodeJS.ErrnoException).code !== 'ECONNRESET') throw error;
          }
        }
      })(),
    ]);
    const [probe, answer] = out;
    assert.equal(probe.error, null, String(probe.error));
    assert.equal(probe.listenPid, String(probe.pid));
    // (Node itself already marks inherited fds 0-15 close-on-exec at start-up; the next test covers setCloexec.)
    assert.deepEqual(probe.after, fds.map(() => true), 'every passed fd is close-on-exec afterwards');
    const expected = [
      { fd: 3, address: `tcp:127.0.0.1:${native.socketPort(v4)}`, port: native.socketPort(v4), spec: { kind: 'tcp', host: '127.0.0.1', port: native.socketPort(v4), name: 'web' } },
      { fd: 4, address: `unix:${unixPath}`, port: null, spec: { kind: 'unix', path: unixPath, mode: null, owner: null, group: null, name: 'local' } },
      { fd: 5, address: `unix:${abstract}`, port: null, spec: { kind: 'unix', path: abstract, mode: null, owner: null, group: null, name: 'hidden' } },
    ];
    if (v6 !== null) {
      const port = native.socketPort(v6);
      expected.push({ fd: 6, address: `tcp:[::1]:${port}`, port, spec: { kind: 'tcp', host: '::1', port, name: 'web6' } });
    }
    assert.deepEqual(probe.result, expected);
    assert.equal(answer, `hello from ${String(probe.pid)}`);
  });

  it('setCloexec sets FD_CLOEXEC where Node did not (an inherited fd past a gap after fd 15)', T, async () => {
    const fd = native.listenTcp('127.0.0.1', 0, 16, false);
    opened.push(fd);
    const nativeUrl = pathToFileURL(path.join(distRoot, 'src', 'os', 'native.js')).href;
    const script = `
      import fs from 'node:fs';
      const native = await import(${JSON.stringify(nativeUrl)});
      const cloexec = (fd) => (parseInt(/^flags:\\s*(\\d+)/m.exec(fs.readFileSync('/proc/self/fdinfo/' + fd, 'utf8'))[1], 8) & 0o2000000) !== 0;
      const before = cloexec(20);
      native.setCloexec(20);
      const after = cloexec(20);
      native.setCloexec(20);
      console.log(JSON.stringify({ before, after, again: cloexec(20), address: native.socketAddress(20) }));`;
    const stdio: ('ignore' | 'pipe' | number)[] = ['ignore', 'pipe', 'pipe', ...Array<'ignore'>(17).fill('ignore'), fd];
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio });
    const out = await collectJson(child);
    assert.deepEqual(out, { before: false, after: true, again: true, address: { family: 'tcp', host: '127.0.0.1', port: native.socketPort(fd) } });
  });

  it('a datagram socket or a connected (non-listening) stream socket is refused with the reason', T, async () => {
    const [a, b] = native.dgramSocketPair();
    opened.push(a, b);
    const dgram = await probeWith([a], 'notify');
    assert.match(String(dgram.error), /socket 1 of 1 passed by systemd \(fd 3, name "notify"\) is not a stream socket/);
    const server = net.createServer().listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
    await new Promise((r) => client.once('connect', r));
    const fd = (client as unknown as { _handle: { fd: number } })._handle.fd;
    const connected = await probeWith([fd], 'conn');
    client.destroy();
    server.close();
    assert.match(String(connected.error), /is not listening; use Accept=no/);
    const file = fs.openSync(path.join(dir, 'plain'), 'w');
    const notSocket = await probeWith([file], 'file');
    fs.closeSync(file);
    assert.match(String(notSocket.error), /is not a socket/);
  });

  it("systemd's own systemd-socket-activate: the sockets and names it passes are found", { ...T, skip: SOCKET_ACTIVATE === null ? 'systemd-socket-activate not installed' : false }, async () => {
    const unixPath = path.join(dir, 'activate.sock');
    const script = `const { inheritedSockets } = await import(${JSON.stringify(moduleUrl)}); console.log(JSON.stringify({ pid: process.pid, result: inheritedSockets(process.env) }));`;
    // It cannot bind port 0: take a free port from the kernel and hand it over (a tiny window for a collision).
    const probe = native.listenTcp('127.0.0.1', 0, 1, false);
    const port = native.socketPort(probe);
    native.closeFd(probe);
    const child = spawn(SOCKET_ACTIVATE!, ['-l', `127.0.0.1:${port}`, '-l', unixPath, '--fdname=api:ctl', '-E', 'PATH', process.execPath, '--input-type=module', '-e', script],
      { stdio: ['ignore', 'pipe', 'pipe'] });
    // systemd-socket-activate waits for a connection before it execs. Its socket file appears at bind(), before
    // listen(): retry until a connection is really queued (ENOENT/ECONNREFUSED until then), for at most 10 s.
    const connect = async (): Promise<void> => {
      const deadline = Date.now() + 10_000;
      for (;;) {
        const ok = await new Promise<boolean>((resolve) => {
          const c = net.connect(unixPath);
          c.on('error', () => { resolve(false); });
          c.on('connect', () => { c.destroy(); resolve(true); });
        });
        if (ok) return;
        if (Date.now() > deadline) throw new Error(`could not connect to ${unixPath}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    };
    const [out] = await Promise.all([collectJson(child), connect()]);
    const result = out.result as unknown[];
    assert.equal(result.length, 2);
    assert.deepEqual(result[0], { fd: 3, address: `tcp:127.0.0.1:${port}`, port, spec: { kind: 'tcp', host: '127.0.0.1', port, name: 'api' } });
    assert.deepEqual(result[1], { fd: 4, address: `unix:${unixPath}`, port: null, spec: { kind: 'unix', path: unixPath, mode: null, owner: null, group: null, name: 'ctl' } });
  });
});
