// Pool flag values: good ones parse, bad ones fail naming the flag, the value and the fix.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseListen, parseReady, parseSize, parseWorkers } from '../../../src/config/pool-config.js';
import { TendError } from '../../../src/errors.js';

const usage = (pattern: RegExp) => (error: unknown) => error instanceof TendError && error.exitCode === 64 && pattern.test(error.message);

describe('pool flags', () => {
  it('--workers N|max|auto', () => {
    assert.equal(parseWorkers('4', 2), 4);
    assert.equal(parseWorkers('max', 8), 8);
    assert.equal(parseWorkers('auto', 8), 7);
    assert.equal(parseWorkers('auto', 1), 1);
    assert.throws(() => parseWorkers('0'), usage(/--workers "0": expected a count/));
    assert.throws(() => parseWorkers('lots'), usage(/--workers "lots"/));
  });
  it('--listen tcp and unix with options', () => {
    assert.deepEqual(parseListen('tcp://0.0.0.0:3000'), { kind: 'tcp', host: '0.0.0.0', port: 3000, name: 'tcp' });
    assert.deepEqual(parseListen('tcp://[::1]:80?name=web'), { kind: 'tcp', host: '::1', port: 80, name: 'web' });
    assert.deepEqual(parseListen('unix:/run/app.sock?mode=0660&owner=app&group=www'),
      { kind: 'unix', path: '/run/app.sock', mode: 0o660, owner: 'app', group: 'www', name: 'unix' });
    assert.throws(() => parseListen('http://x:1'), usage(/--listen "http:\/\/x:1": unknown socket type; write tcp:\/\//));
    assert.throws(() => parseListen('tcp://0.0.0.0:99999'), usage(/not a TCP address/));
    assert.throws(() => parseListen('unix:relative.sock'), usage(/must be absolute/));
    assert.throws(() => parseListen('unix:/a.sock?mode=999'), usage(/mode "999" is not octal/));
    assert.throws(() => parseListen('tcp://0.0.0.0:1?mode=0600'), usage(/unix sockets only/));
  });
  it('--ready modes', () => {
    assert.deepEqual(parseReady('notify'), { kind: 'notify' });
    assert.deepEqual(parseReady('delay:2s'), { kind: 'delay', ms: 2000 });
    assert.deepEqual(parseReady('http://127.0.0.1:3000/health'), { kind: 'http', url: 'http://127.0.0.1:3000/health' });
    assert.deepEqual(parseReady('tcp://127.0.0.1:5432'), { kind: 'tcp', host: '127.0.0.1', port: 5432 });
    assert.throws(() => parseReady('delay:2'), usage(/--ready "delay:2": duration "2" has no unit/));
    assert.throws(() => parseReady('soon'), usage(/unknown readiness mode/));
  });
  it('sizes', () => {
    assert.equal(parseSize('--max-memory', '512M'), 512 * 1024 * 1024);
    assert.equal(parseSize('--max-memory', '1.5G'), 1.5 * 1024 ** 3);
    assert.throws(() => parseSize('--max-memory', 'big'), usage(/--max-memory "big": not a size/));
  });
});
