// The preload's pure parts: reading tend's environment, listen() argument reading and entry matching.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import env from '../../src/preload/env.cjs';
import ipc from '../../src/preload/ipc.cjs';
import launcher from '../../src/preload/launcher.cjs';
import listen from '../../src/preload/listen.cjs';
import type { ListenEntry } from '../../src/contract/types.cjs';

const PID = 4242;

describe('readConfig', () => {
  test('the full contract', () => {
    const r = env.readConfig({
      LISTEN_FDS: '2', LISTEN_PID: String(PID), LISTEN_FDNAMES: 'web:sock',
      TEND_LISTEN_MAP: '3=tcp:0.0.0.0:3000,4=unix:/run/app.sock', TEND_NOTIFY_FD: '5', TEND_DRAIN_IDLE_MS: '400', TEND_DRAIN_SPREAD_MS: '2000',
    }, PID);
    assert.deepEqual(r, {
      active: true,
      problems: [],
      config: {
        entries: [
          { fd: 3, address: { kind: 'tcp', host: '0.0.0.0', port: 3000, text: 'tcp:0.0.0.0:3000' } },
          { fd: 4, address: { kind: 'unix', path: '/run/app.sock', text: 'unix:/run/app.sock' } },
        ],
        notifyFd: 5,
        ipcFd: null,
        drainIdleMs: 400,
        probeSocket: null,
        drainSpreadMs: 2000,
      },
    });
  });

  test('defaults: no LISTEN_PID is accepted, idle 250 ms, spread 5 s', () => {
    const r = env.readConfig({ LISTEN_FDS: '1', TEND_LISTEN_MAP: '3=tcp:[::]:8080', TEND_NOTIFY_FD: '4' }, PID);
    assert.ok(r.active);
    assert.deepEqual(r.config.entries, [{ fd: 3, address: { kind: 'tcp', host: '::', port: 8080, text: 'tcp:[::]:8080' } }]);
    assert.equal(r.config.drainIdleMs, 250);
    assert.equal(r.config.drainSpreadMs, 5_000);
  });

  test('a TEND_DRAIN_SPREAD_MS that is not whole ms → the default, with a problem naming it', () => {
    const r = env.readConfig({ TEND_NOTIFY_FD: '4', TEND_DRAIN_SPREAD_MS: '5s' }, PID);
    assert.ok(r.active);
    assert.equal(r.config.drainSpreadMs, 5_000);
    assert.deepEqual(r.problems, ['TEND_DRAIN_SPREAD_MS="5s" is not a whole number of ms; using 5000']);
  });

  test('inactive without tend variables, for another LISTEN_PID with no channel to tend, and in cluster workers', () => {
    assert.equal(env.readConfig({}, PID).active, false);
    assert.equal(env.readConfig({ LISTEN_FDS: '1', LISTEN_PID: String(PID) }, PID).active, false);
    assert.equal(env.readConfig({ LISTEN_FDS: '1', TEND_LISTEN_MAP: '3=tcp:0.0.0.0:3000', LISTEN_PID: '1' }, PID).active, false);
    assert.equal(env.readConfig({ TEND_NOTIFY_FD: '4', NODE_UNIQUE_ID: '1' }, PID).active, false);
    assert.equal(env.readConfig({ TEND_NOTIFY_FD: '4' }, PID).active, true);
  });

  test('below a launcher (LISTEN_PID is the launcher): no inherited fds, but the notify fd and the IPC channel', () => {
    const r = env.readConfig({ LISTEN_FDS: '1', TEND_LISTEN_MAP: '3=tcp:0.0.0.0:3000', LISTEN_PID: '1', TEND_NOTIFY_FD: '4', TEND_IPC_FD: '5' }, PID);
    assert.ok(r.active);
    assert.deepEqual(r.config.entries, []);
    assert.equal(r.config.notifyFd, 4);
    assert.equal(r.config.ipcFd, 5);
    const bad = env.readConfig({ TEND_IPC_FD: 'x' }, PID);
    assert.ok(bad.active);
    assert.equal(bad.config.ipcFd, null);
    assert.match(bad.problems.join('\n'), /TEND_IPC_FD="x" is not an fd/);
  });

  test('bad entries are dropped one by one, with a problem each', () => {
    const r = env.readConfig({
      LISTEN_FDS: '2',
      TEND_LISTEN_MAP: '3=tcp:0.0.0.0:3000,x=tcp:a:1,5=tcp:0.0.0.0:81,3=unix:/x,4=tcp:::80,4=tcp:h:0,4=udp:h:1,4=tcp:h:70000',
      TEND_NOTIFY_FD: 'four',
      TEND_DRAIN_IDLE_MS: '-1',
    }, PID);
    assert.ok(r.active);
    assert.deepEqual(r.config.entries.map((e) => e.fd), [3]);
    assert.equal(r.config.notifyFd, null);
    assert.equal(r.config.drainIdleMs, 250);
    assert.equal(r.problems.length, 9);
    assert.match(r.problems.join('\n'), /fd 5 is not among the 2 inherited fd\(s\)/);
    assert.match(r.problems.join('\n'), /names fd 3 twice/);
  });

  test('a map without LISTEN_FDS uses no fd', () => {
    const r = env.readConfig({ TEND_LISTEN_MAP: '3=tcp:0.0.0.0:3000' }, PID);
    assert.ok(r.active);
    assert.deepEqual(r.config.entries, []);
    assert.equal(r.problems.length, 1);
  });
});

describe('listen() arguments', () => {
  const cb = (): void => undefined;
  const signal = new AbortController().signal;

  test('every calling convention', () => {
    const t = (...args: unknown[]): unknown => listen.parseListenArgs(args).target;
    assert.deepEqual(t(3000), { kind: 'tcp', port: 3000, host: undefined });
    assert.deepEqual(t('3000'), { kind: 'tcp', port: 3000, host: undefined });
    assert.deepEqual(t(3000, cb), { kind: 'tcp', port: 3000, host: undefined });
    assert.deepEqual(t(3000, '127.0.0.1', 511, cb), { kind: 'tcp', port: 3000, host: '127.0.0.1' });
    assert.deepEqual(t(3000, 511, cb), { kind: 'tcp', port: 3000, host: undefined });
    assert.deepEqual(t({ port: 3000, host: '::' }, cb), { kind: 'tcp', port: 3000, host: '::' });
    assert.deepEqual(t({ port: '3000' }), { kind: 'tcp', port: 3000, host: undefined });
    assert.deepEqual(t('/run/app.sock', cb), { kind: 'unix', path: '/run/app.sock' });
    assert.deepEqual(t({ path: '/run/app.sock', readableAll: true }), { kind: 'unix', path: '/run/app.sock' });
    for (const unmatched of [[], [cb], [0], [null], [{}], [{ port: undefined }], [{ port: 0 }], [{ port: null, host: 'h' }]]) {
      assert.equal(t(...unmatched), null, JSON.stringify(unmatched));
    }
  });

  test('callback, signal and explicit fds are kept apart', () => {
    assert.deepEqual(listen.parseListenArgs([{ port: 80, signal }, cb]), { target: { kind: 'tcp', port: 80, host: undefined }, fd: null, signal, callback: cb, own: false });
    assert.deepEqual(listen.parseListenArgs([{ fd: 3 }]), { target: null, fd: 3, signal: undefined, callback: null, own: false });
    assert.deepEqual(listen.parseListenArgs([{ handle: {} }, cb]), { target: null, fd: null, signal: undefined, callback: cb, own: false });
  });

  test('options that ask for a socket of the server\'s own (never one shared on demand)', () => {
    for (const o of [{ exclusive: true }, { ipv6Only: true }, { reusePort: true }, { readableAll: true }, { writableAll: true }]) {
      assert.equal(listen.parseListenArgs([{ port: 3000, ...o }]).own, true, JSON.stringify(o));
    }
    assert.equal(listen.parseListenArgs([{ path: '/run/a.sock', exclusive: true }]).own, true);
    assert.equal(listen.parseListenArgs([{ port: 3000, exclusive: false }]).own, false);
    assert.equal(listen.parseListenArgs([3000, '127.0.0.1', 511]).own, false);
  });

  test('pickEntry: TCP by port whatever the host, exact host first; unix by path; used fds skipped', () => {
    const entries: ListenEntry[] = [
      { fd: 3, address: { kind: 'tcp', host: '0.0.0.0', port: 3000, text: 'tcp:0.0.0.0:3000' } },
      { fd: 4, address: { kind: 'tcp', host: '::1', port: 3000, text: 'tcp:[::1]:3000' } },
      { fd: 5, address: { kind: 'unix', path: '/run/app.sock', text: 'unix:/run/app.sock' } },
      { fd: 6, address: { kind: 'unix', path: '@abstract', text: 'unix:@abstract' } },
    ];
    const fdOf = (r: ListenEntry | 'in-use' | null): number | string | null => (typeof r === 'object' && r !== null ? r.fd : r);
    const none = new Set<number>();
    assert.equal(fdOf(listen.pickEntry(entries, { kind: 'tcp', port: 3000, host: undefined }, none)), 3);
    assert.equal(fdOf(listen.pickEntry(entries, { kind: 'tcp', port: 3000, host: '127.0.0.1' }, none)), 3);
    assert.equal(fdOf(listen.pickEntry(entries, { kind: 'tcp', port: 3000, host: '[::1]' }, none)), 4);
    assert.equal(fdOf(listen.pickEntry(entries, { kind: 'tcp', port: 3000, host: undefined }, new Set([3]))), 4);
    assert.equal(fdOf(listen.pickEntry(entries, { kind: 'tcp', port: 3000, host: undefined }, new Set([3, 4]))), 'in-use');
    assert.equal(fdOf(listen.pickEntry(entries, { kind: 'tcp', port: 3001, host: undefined }, none)), null);
    assert.equal(fdOf(listen.pickEntry(entries, { kind: 'unix', path: '/run/app.sock' }, none)), 5);
    assert.equal(fdOf(listen.pickEntry(entries, { kind: 'unix', path: path.relative(process.cwd(), '/run/app.sock') }, none)), 5);
    assert.equal(fdOf(listen.pickEntry(entries, { kind: 'unix', path: '\0abstract' }, none)), 6);
    assert.equal(fdOf(listen.pickEntry(entries, { kind: 'unix', path: '/run/other.sock' }, none)), null);
  });
});

describe('launchers', () => {
  test('npm, npx, tsx\'s CLI, yarn and pnpm are launchers; an app is not', () => {
    for (const script of ['/usr/lib/node_modules/npm/bin/npm-cli.js', '/usr/lib/node_modules/npm/bin/npx-cli.js', '/app/node_modules/tsx/dist/cli.mjs',
      '/app/node_modules/tsx/dist/cli.cjs', '/usr/lib/node_modules/yarn/bin/yarn.js', '/usr/lib/node_modules/pnpm/bin/pnpm.cjs']) {
      assert.equal(ipc.isLauncher(script), true, script);
    }
    for (const script of ['/app/server.js', '/app/node_modules/.bin/not-a-launcher', '/app/dist/cli.mjs', '/app/node_modules/tsx/dist/loader.mjs', undefined, '']) {
      assert.equal(ipc.isLauncher(script), false, String(script));
    }
  });

  test('a launcher\'s children get tend\'s fds at the same numbers, or the next free ones with the variables renumbered', () => {
    const fds = new Map([['TEND_NOTIFY_FD', 3], ['TEND_IPC_FD', 4]]);
    const plain = { stdio: 'inherit', envPairs: ['A=1', 'TEND_NOTIFY_FD=3', 'TEND_IPC_FD=4'] };
    launcher.addFds(plain, fds);
    assert.deepEqual(plain, { stdio: ['inherit', 'inherit', 'inherit', 3, 4], envPairs: ['A=1', 'TEND_NOTIFY_FD=3', 'TEND_IPC_FD=4'] });
    const taken = { stdio: ['pipe', 'pipe', 'pipe', 'ipc'], envPairs: ['TEND_NOTIFY_FD=3', 'TEND_IPC_FD=4'] };
    launcher.addFds(taken, fds);
    assert.deepEqual(taken, { stdio: ['pipe', 'pipe', 'pipe', 'ipc', 3, 4], envPairs: ['TEND_NOTIFY_FD=4', 'TEND_IPC_FD=5'] });
    const cleaned = { stdio: undefined, envPairs: ['TEND_NOTIFY_FD=3'] };
    launcher.addFds(cleaned, fds);
    assert.deepEqual(cleaned, { stdio: ['pipe', 'pipe', 'pipe', 3], envPairs: ['TEND_NOTIFY_FD=3'] });
  });
});
