// /livez and /readyz answers as the Kubernetes API server gives them, and the --health-listen / --grace checks. Pure.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { answerChecks, liveChecks, readyChecks, type ServiceFacts } from '../../../src/health/checks.js';
import { checkStopBudget, parseHealthListen } from '../../../src/health/options.js';
import { TendError } from '../../../src/errors.js';
import type { ServiceStatus, TendStatus, WorkerStatus } from '../../../src/runner/status.js';

const worker = (slot: number, state: string): WorkerStatus => ({ slot, pid: 100 + slot, state, role: 'worker', generation: 1, uptimeMs: 1_000, status: null, probeFailures: null, holds: [] });
const service = (name: string, ready: number, workers: readonly WorkerStatus[], phase: ServiceStatus['phase'] = 'running'): ServiceStatus => ({
  name, command: 'node', phase, generation: 1, ready, desired: workers.length, lastReload: null, liveness: null, workers,
});
const status = (phase: TendStatus['phase'], services: readonly ServiceStatus[]): TendStatus => ({
  phase, services, generation: 1, ready: services[0]?.ready ?? 0, desired: services[0]?.desired ?? 0, lastReload: null, workers: [],
});
const facts = new Map<string, ServiceFacts>([['web', { minReady: 1, oneshot: false }], ['migrate', { minReady: 1, oneshot: true }]]);
const q = (text: string): URLSearchParams => new URLSearchParams(text);

describe('health checks', () => {
  const up = status('running', [service('web', 1, [worker(0, 'ready'), worker(1, 'starting')]), service('migrate', 0, [], 'done')]);

  it('/readyz: ok while enough workers are ready and tend runs', () => {
    assert.deepEqual(answerChecks('readyz', '', q(''), readyChecks(up, facts)), { code: 200, body: 'ok' });
  });

  it('/readyz?verbose lists every check and, under a service, its workers', () => {
    const a = answerChecks('readyz', '', q('verbose'), readyChecks(up, facts));
    assert.equal(a.code, 200);
    assert.equal(a.body, '[+]ping ok\n[+]shutdown ok\n[+]service/web ok\n  [+]web.0 ready\n  [-]web.1 starting\n[+]service/migrate ok\nreadyz check passed\n');
  });

  it('/readyz fails during the stop delay, reason withheld without ?verbose', () => {
    const a = answerChecks('readyz', '', q(''), readyChecks({ ...up, phase: 'delaying' }, facts));
    assert.equal(a.code, 500);
    assert.match(a.body, /^\[-\]shutdown failed: reason withheld$/m);
    assert.match(a.body, /readyz check failed\n$/);
  });

  it('/readyz fails below --min-ready; ?exclude leaves that check out, and unknown exclusions are warned about', () => {
    const more = new Map(facts).set('web', { minReady: 2, oneshot: false });
    assert.equal(answerChecks('readyz', '', q(''), readyChecks(up, more)).code, 500);
    const a = answerChecks('readyz', '', q('exclude=service/web&exclude=nope&verbose'), readyChecks(up, more));
    assert.equal(a.code, 200);
    assert.match(a.body, /^\[\+\]service\/web excluded: ok$/m);
    assert.match(a.body, /^warn: some health checks cannot be excluded: no matches for "nope"$/m);
  });

  it('/readyz/<check> answers one check; an unknown one is 404', () => {
    assert.deepEqual(answerChecks('readyz', 'shutdown', q(''), readyChecks(up, facts)), { code: 200, body: 'ok' });
    const stopping = answerChecks('readyz', 'shutdown', q(''), readyChecks({ ...up, phase: 'stopping' }, facts));
    assert.equal(stopping.code, 500);
    assert.equal(answerChecks('readyz', 'etcd', q(''), readyChecks(up, facts)).code, 404);
  });

  it('/livez: ok until a service gave up', () => {
    assert.deepEqual(answerChecks('livez', '', q(''), liveChecks([])), { code: 200, body: 'ok' });
    const a = answerChecks('livez', '', q('verbose'), liveChecks(['web']));
    assert.equal(a.code, 500);
    assert.match(a.body, /^\[-\]crash-loop failed: gave up on web$/m);
  });

  it('a oneshot counts once it is done', () => {
    const running = status('running', [service('migrate', 0, [worker(0, 'started')], 'running')]);
    assert.equal(answerChecks('readyz', '', q(''), readyChecks(running, facts)).code, 500);
  });
});

describe('--health-listen and --grace', () => {
  it('a bare port is loopback; a host is kept; IPv6 in brackets', () => {
    assert.deepEqual(parseHealthListen('9000'), { host: '127.0.0.1', port: 9000 });
    assert.deepEqual(parseHealthListen('0.0.0.0:9100'), { host: '0.0.0.0', port: 9100 });
    assert.deepEqual(parseHealthListen('[::1]:9000'), { host: '::1', port: 9000 });
  });

  it('a bad address names the flag and the fix', () => {
    for (const bad of ['', 'http://x:1', '127.0.0.1:99999', 'host:']) {
      assert.throws(() => parseHealthListen(bad), (e: unknown) => e instanceof TendError && e.exitCode === 64 && e.message.startsWith('--health-listen'));
    }
  });

  it('delay + chain over the budget is refused, naming the numbers', () => {
    assert.doesNotThrow(() => { checkStopBudget(5_000, 25_000, 30_000); });
    assert.doesNotThrow(() => { checkStopBudget(5_000, 99_000, null); });
    assert.throws(() => { checkStopBudget(10_000, 31_000, 30_000); }, (e: unknown) => e instanceof TendError && e.exitCode === 64 && /10s/.test(e.message) && /31s/.test(e.message) && /41s/.test(e.message) && /30s/.test(e.message));
  });
});
