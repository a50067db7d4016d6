// The tend ⇄ worker contract read from both sides: what tend's runner writes (the listen map, socket addresses,
// notify datagrams) is exactly what the preload and the in-app library read back.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, openSync, readSync } from 'node:fs';
import address from '../../src/contract/address.cjs';
import contract from '../../src/contract/env.cjs';
import notifyFd from '../../src/contract/notify-fd.cjs';
import preloadEnv from '../../src/preload/env.cjs';
import { native } from '../../src/os/native.js';
import { parseNotify } from '../../src/protocol/sd-notify.js';

describe('addresses', () => {
  test('parseAddress', () => {
    assert.deepEqual(address.parseAddress('tcp:127.0.0.1:1'), { kind: 'tcp', host: '127.0.0.1', port: 1, text: 'tcp:127.0.0.1:1' });
    assert.deepEqual(address.parseAddress('tcp:[::1]:65535'), { kind: 'tcp', host: '::1', port: 65535, text: 'tcp:[::1]:65535' });
    assert.deepEqual(address.parseAddress('unix:@abstract'), { kind: 'unix', path: '@abstract', text: 'unix:@abstract' });
    for (const bad of ['tcp:1.2.3.4', 'tcp:::1:80', 'tcp:[::1]80', 'tcp:h:0', 'tcp:h:65536', 'tcp:h:x', 'unix:', 'unix:a\0b', 'udp:h:1', '']) {
      assert.equal(address.parseAddress(bad), null, bad);
    }
  });

  test('formatAddress writes server.address() the way tend names its sockets', () => {
    assert.equal(address.formatAddress({ address: '0.0.0.0', family: 'IPv4', port: 3000 }), 'tcp:0.0.0.0:3000');
    assert.equal(address.formatAddress({ address: '::', family: 'IPv6', port: 3000 }), 'tcp:[::]:3000');
    assert.equal(address.formatAddress({ address: '::1', family: 6, port: 1 }), address.tcpAddress('::1', 1));
    assert.equal(address.formatAddress('/run/app.sock'), address.unixAddress('/run/app.sock'));
    assert.equal(address.formatAddress('\0abstract'), 'unix:@abstract');
    assert.equal(address.formatAddress(null), null);
    assert.equal(address.formatAddress({ address: 'x' }), null);
  });

  test('every address tend writes parses back to the same host, port or path', () => {
    for (const [host, port] of [['0.0.0.0', 3000], ['::', 80], ['127.0.0.1', 65535], ['fe80::1', 8080]] as const) {
      assert.deepEqual(address.parseAddress(address.tcpAddress(host, port)), { kind: 'tcp', host, port, text: address.tcpAddress(host, port) });
    }
    assert.deepEqual(address.parseAddress(address.unixAddress('/run/a b.sock')), { kind: 'unix', path: '/run/a b.sock', text: 'unix:/run/a b.sock' });
  });
});

describe('the listen map', () => {
  test('the map the runner writes is the entries the preload reads', () => {
    const sockets = [address.tcpAddress('::', 3000), address.unixAddress('/run/app.sock')];
    const env = {
      [contract.ENV.listenFds]: String(sockets.length),
      [contract.ENV.listenPid]: '7',
      [contract.ENV.listenMap]: address.formatListenMap(sockets, contract.FIRST_LISTEN_FD),
    };
    const r = preloadEnv.readConfig(env, 7);
    assert.ok(r.active);
    assert.deepEqual(r.config.entries.map((e) => [e.fd, e.address.text]), [[3, sockets[0]], [4, sockets[1]]]);
    assert.deepEqual(r.problems, []);
  });

  test('entries outside the passed fds, repeated or malformed are dropped one by one', () => {
    const { entries, problems } = address.parseListenMap('3=tcp:h:1,3=tcp:h:2,9=tcp:h:3,x,4=unix:/s', 3, 2);
    assert.deepEqual(entries.map((e) => e.fd), [3, 4]);
    assert.equal(problems.length, 3);
  });
});

describe('the notify channel', () => {
  test('a listening report the preload writes is what tend parses', () => {
    const [mine, theirs] = native.dgramSocketPair();
    try {
      assert.equal(notifyFd.notifyFdFrom(String(theirs)), theirs);
      assert.equal(notifyFd.writeNotify(theirs, `${contract.NOTIFY_LISTENING}=${address.tcpAddress('::', 3000)}\n`), 'sent');
      const buffer = Buffer.alloc(4096);
      const n = readSync(mine, buffer);
      const message = parseNotify(buffer.subarray(0, n));
      assert.ok(!('rejected' in message));
      assert.equal(message.listening, 'tcp:[::]:3000');
    } finally {
      native.closeFd(mine);
      native.closeFd(theirs);
    }
  });

  test('an fd that is not a datagram socket is never written to', () => {
    const file = openSync('/dev/null', 'w');
    const [r, w] = native.pipe();
    try {
      for (const fd of [file, r, w]) assert.equal(notifyFd.notifyFdFrom(String(fd)), null, `fd ${fd}`);
      for (const text of [undefined, '', 'x', '-1', '99999']) assert.equal(notifyFd.notifyFdFrom(text), null, String(text));
      assert.equal(notifyFd.writeNotify(99_999, 'READY=1\n'), 'unusable');
    } finally {
      closeSync(file);
      native.closeFd(r);
      native.closeFd(w);
    }
  });

  test('a peer that has gone is a failed send, never a throw', () => {
    const [mine, theirs] = native.dgramSocketPair();
    native.closeFd(mine);
    try {
      assert.equal(notifyFd.writeNotify(theirs, 'READY=1\n'), 'failed');
    } finally {
      native.closeFd(theirs);
    }
  });
});
