// The in-app library (`import { ready } from 'tend'`): silent when unsupervised, the TEND_NOTIFY_FD path under tend
// (fs.writeSync, no addon), the NOTIFY_SOCKET path directly under systemd (addon loaded only then), the watchdog
// interval, message validation, and that importing it stays cheap (its module graph, no addon, the time it takes).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { builtinModules } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as lib from '../../src/app/index.js';
import * as native from '../../src/os/native.js';
import type { DgramMessage } from '../../src/os/native.js';
import { isRejection, parseNotify, type NotifyMessage } from '../../src/protocol/sd-notify.js';
import { inbox } from '../helpers/inbox.js';

const T = { timeout: 15_000 };
const distRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const libPath = path.join(distRoot, 'src', 'app', 'index.js');
const ENV_KEYS = ['NOTIFY_SOCKET', 'TEND_NOTIFY_FD', 'WATCHDOG_USEC', 'WATCHDOG_PID'] as const;


function parsed(m: DgramMessage): NotifyMessage {
  const out = parseNotify(m.data, m.truncated);
  assert.ok(!isRejection(out), `rejected: ${isRejection(out) ? out.rejected : ''}`);
  return out;
}

const saved: Partial<Record<(typeof ENV_KEYS)[number], string>> = {};
before(() => { for (const k of ENV_KEYS) if (process.env[k] !== undefined) saved[k] = process.env[k]; });
afterEach(() => {
  for (const k of ENV_KEYS) {
    if (saved[k] === undefined) Reflect.deleteProperty(process.env, k);
    else process.env[k] = saved[k];
  }
});
const unsupervise = (): void => { for (const k of ENV_KEYS) Reflect.deleteProperty(process.env, k); };

describe('tend library: unsupervised', () => {
  it('every call is a silent no-op returning false', T, () => {
    unsupervise();
    assert.equal(lib.ready(), false);
    assert.equal(lib.ready('up'), false);
    assert.equal(lib.status('hello'), false);
    assert.equal(lib.stopping(), false);
    assert.equal(lib.reloading(), false);
    assert.equal(lib.watchdog(), false);
    assert.equal(lib.notify({ EXTEND_TIMEOUT_USEC: 1_000_000 }), false);
    assert.equal(lib.watchdogIntervalMs(), null);
  });

  it('a TEND_NOTIFY_FD that is not a socket (a file now) is never written to', T, () => {
    unsupervise();
    const file = path.join(os.tmpdir(), `tend-lib-${process.pid}.txt`);
    const fd = fs.openSync(file, 'w+');
    try {
      process.env['TEND_NOTIFY_FD'] = String(fd);
      assert.equal(lib.ready(), false);
      process.env['TEND_NOTIFY_FD'] = '99999';
      assert.equal(lib.ready(), false);
      process.env['TEND_NOTIFY_FD'] = 'x';
      assert.equal(lib.ready(), false);
      assert.equal(fs.readFileSync(file, 'utf8'), '');
    } finally {
      fs.closeSync(fd);
      fs.rmSync(file, { force: true });
    }
  });

  it('a TEND_NOTIFY_FD that names a stream socket (a TCP connection now, in a child of the app) is never written to', T, async () => {
    unsupervise();
    const server = net.createServer();
    await new Promise<void>((resolve) => { server.listen(0, '127.0.0.1', resolve); });
    const accepted = new Promise<net.Socket>((resolve) => { server.once('connection', resolve); });
    const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
    await new Promise((resolve) => client.once('connect', resolve));
    const peer = await accepted;
    try {
      const fd = (client as unknown as { _handle: { fd: number } })._handle.fd;
      process.env['TEND_NOTIFY_FD'] = String(fd);
      assert.equal(lib.ready(), false);
      assert.equal(lib.watchdog(), false);
      // The first bytes the peer sees are the marker written after the calls: the library wrote nothing before it.
      client.write('MARKER');
      const first = await new Promise<string>((resolve) => peer.once('data', (d: Buffer) => { resolve(d.toString()); }));
      assert.equal(first, 'MARKER');
    } finally {
      client.destroy();
      peer.destroy();
      server.close();
    }
  });

  it('a NOTIFY_SOCKET nobody listens on, or one the addon cannot use, gives false, never an exception', T, () => {
    unsupervise();
    for (const bad of [`@tend-lib-nobody-${process.pid}`, '/nonexistent/notify.sock', 'relative.sock', 'vsock:2:1234', `/${'x'.repeat(200)}`]) {
      process.env['NOTIFY_SOCKET'] = bad;
      assert.equal(lib.ready(), false, bad);
      assert.equal(lib.watchdog(), false, bad);
    }
  });
});

describe('tend library: under tend (TEND_NOTIFY_FD)', () => {
  let pair: [number, number] = [-1, -1];
  let box: ReturnType<typeof inbox> | null = null;
  before(() => {
    pair = native.dgramSocketPair();
    box = inbox(pair[0]);
  });
  after(() => {
    box?.close();
    for (const fd of pair) native.closeFd(fd);
  });

  it('ready/status/stopping/reloading/watchdog/notify each send one datagram with the right assignments', T, async () => {
    unsupervise();
    process.env['TEND_NOTIFY_FD'] = String(pair[1]);
    const b = box!;
    assert.equal(lib.ready('serving'), true);
    let m = parsed(await b.next());
    assert.deepEqual(m.fields, [['READY', '1'], ['STATUS', 'serving']]);
    assert.equal(m.ready, true);

    assert.equal(lib.ready(), true);
    assert.deepEqual(parsed(await b.next()).fields, [['READY', '1']]);

    assert.equal(lib.status('line one\nline two\r\nthree'), true);
    assert.equal(parsed(await b.next()).status, 'line one line two three');

    assert.equal(lib.status('s'.repeat(5000)), true);
    assert.ok((parsed(await b.next()).status ?? '').length <= 1000, 'a long status is cut');

    assert.equal(lib.stopping('draining'), true);
    m = parsed(await b.next());
    assert.equal(m.stopping, true);
    assert.equal(m.status, 'draining');

    const before = process.hrtime.bigint() / 1000n;
    assert.equal(lib.reloading(), true);
    const after = process.hrtime.bigint() / 1000n;
    m = parsed(await b.next());
    assert.equal(m.reloading, true);
    assert.ok(m.monotonicUsec !== null && BigInt(m.monotonicUsec) >= before - 1n && BigInt(m.monotonicUsec) <= after + 1n,
      `MONOTONIC_USEC=${m.monotonicUsec} not within [${before}, ${after}]`);

    assert.equal(lib.watchdog(), true);
    assert.equal(parsed(await b.next()).watchdog, 'ping');

    assert.equal(lib.notify({ EXTEND_TIMEOUT_USEC: 5_000_000, X_APP: 'v', BIG: 12345678901234567890n }), true);
    m = parsed(await b.next());
    assert.equal(m.extendTimeoutUsec, 5_000_000);
    assert.deepEqual(m.fields, [['EXTEND_TIMEOUT_USEC', '5000000'], ['X_APP', 'v'], ['BIG', '12345678901234567890']]);
    assert.equal(b.pending(), 0, 'exactly one datagram per call');
  });

  it('TEND_NOTIFY_FD wins over NOTIFY_SOCKET (tend sets both; the fd needs no addon)', T, async () => {
    unsupervise();
    process.env['TEND_NOTIFY_FD'] = String(pair[1]);
    process.env['NOTIFY_SOCKET'] = `@tend-lib-unbound-${process.pid}`;
    assert.equal(lib.ready(), true);
    assert.equal(parsed(await box!.next()).ready, true);
  });

  it('malformed messages are programming errors: TypeError/RangeError, nothing sent', T, () => {
    unsupervise();
    process.env['TEND_NOTIFY_FD'] = String(pair[1]);
    assert.throws(() => lib.notify({ 'BAD KEY': 1 }), TypeError);
    assert.throws(() => lib.notify({ '': 1 }), TypeError);
    assert.throws(() => lib.notify({}), TypeError);
    assert.throws(() => lib.notify({ STATUS: 'a\nREADY=1' }), TypeError);
    assert.throws(() => lib.notify({ STATUS: 'x'.repeat(5000) }), RangeError);
    assert.equal(box!.pending(), 0);
  });
});

describe('tend library: directly under systemd (NOTIFY_SOCKET)', () => {
  for (const kind of ['abstract', 'path'] as const) {
    it(`sends to ${kind === 'abstract' ? 'an abstract (@name)' : 'a filesystem'} NOTIFY_SOCKET with the app's own credentials`, T, async () => {
      unsupervise();
      const dir = kind === 'path' ? fs.mkdtempSync(path.join(os.tmpdir(), 'tend-lib-')) : null;
      const address = dir === null ? `@tend-lib-${process.pid}-${Date.now()}` : path.join(dir, 'notify.sock');
      const fd = native.dgramBind(address);
      const b = inbox(fd);
      try {
        process.env['NOTIFY_SOCKET'] = address;
        assert.equal(lib.ready('direct'), true);
        const msg = await b.next();
        assert.equal(msg.pid, process.pid);
        assert.deepEqual(parsed(msg).fields, [['READY', '1'], ['STATUS', 'direct']]);
        assert.equal(lib.watchdog(), true);
        assert.equal(parsed(await b.next()).watchdog, 'ping');
      } finally {
        b.close();
        native.closeFd(fd);
        if (dir !== null) fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});

describe('tend library: watchdogIntervalMs', () => {
  it('reads WATCHDOG_USEC and honours WATCHDOG_PID', T, () => {
    unsupervise();
    assert.equal(lib.watchdogIntervalMs(), null);
    process.env['WATCHDOG_USEC'] = '3000000';
    assert.equal(lib.watchdogIntervalMs(), 3000);
    process.env['WATCHDOG_PID'] = String(process.pid);
    assert.equal(lib.watchdogIntervalMs(), 3000);
    process.env['WATCHDOG_PID'] = String(process.pid + 1);
    assert.equal(lib.watchdogIntervalMs(), null, 'meant for another process');
    Reflect.deleteProperty(process.env, 'WATCHDOG_PID');
    for (const bad of ['0', '-1', 'abc', '1e6', '']) {
      process.env['WATCHDOG_USEC'] = bad;
      assert.equal(lib.watchdogIntervalMs(), null, bad);
    }
    process.env['WATCHDOG_USEC'] = '1500';
    assert.equal(lib.watchdogIntervalMs(), 1.5);
  });
});

describe('tend library: import cost', () => {
  it("'tend' resolves to this library (package.json exports)", T, async () => {
    const specifier = 'tend'; // a variable: the self-reference is resolved at run time, after the build
    const viaPackage = (await import(specifier)) as typeof lib;
    assert.equal(viaPackage.ready, lib.ready);
    assert.deepEqual(Object.keys(viaPackage).sort(), ['hold', 'notify', 'onStop', 'ready', 'reloading', 'status', 'stopping', 'watchdog', 'watchdogIntervalMs']);
  });

  it('its static module graph has no supervisor/, cli/, zod or yaml, and only Node built-ins outside src/', T, () => {
    const seen = new Set<string>();
    const bare = new Set<string>();
    const visit = (file: string): void => {
      if (seen.has(file)) return;
      seen.add(file);
      const source = fs.readFileSync(file, 'utf8');
      for (const match of source.matchAll(/^\s*(?:import|export)\b[^'"]*?from\s*['"]([^'"]+)['"]|^\s*import\s*['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/gm)) {
        const spec = match[1] ?? match[2] ?? match[3] ?? '';
        if (spec.startsWith('.')) visit(path.resolve(path.dirname(file), spec));
        else bare.add(spec);
      }
    };
    visit(libPath);
    const files = [...seen].map((f) => path.relative(path.join(distRoot, 'src'), f)).sort();
    assert.deepEqual(files.filter((f) => /^(supervisor|cli|config)\//.test(f)), [], `loads ${files.join(', ')}`);
    for (const spec of bare) assert.ok(builtinModules.includes(spec.replace(/^node:/, '')), `imports the package ${spec}`);
    assert.ok(files.length <= 8, `module graph grew: ${files.join(', ')}`); // 6 + the two files of contract/
  });

  it('importing it loads no native code; the addon loads only when a NOTIFY_SOCKET send needs it', T, (t) => {
    const script = `
      const fs = await import('node:fs');
      const addonLoaded = () => fs.readFileSync('/proc/self/maps', 'utf8').includes('tend_native.node');
      const t0 = performance.now();
      const lib = await import(${JSON.stringify(pathToFileURL(libPath).href)});
      const ms = performance.now() - t0;
      const afterImport = addonLoaded();
      lib.ready();                               // unsupervised: nothing
      const afterNoop = addonLoaded();
      process.env.NOTIFY_SOCKET = '@tend-lib-probe-' + process.pid;
      const sent = lib.ready();                  // nobody listens: false, but the addon had to load to try
      console.log(JSON.stringify({ ms, afterImport, afterNoop, sent, afterSend: addonLoaded() }));`;
    const env = { PATH: process.env['PATH'] ?? '/usr/bin:/bin' };
    const out = JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { env, encoding: 'utf8', timeout: 10_000 })) as
      { ms: number; afterImport: boolean; afterNoop: boolean; sent: boolean; afterSend: boolean };
    t.diagnostic(`import of the library took ${out.ms.toFixed(2)} ms in a fresh node`);
    assert.deepEqual({ ...out, ms: 0 }, { ms: 0, afterImport: false, afterNoop: false, sent: false, afterSend: true });
    assert.ok(out.ms < 200, `import took ${out.ms} ms`);
  });
});
