// How long a service's stop may take: the drain spread lengthens a short first stage, and holds may use the stop chain
// or, with --grace, what the budget leaves. A table, no processes.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ServiceSpec } from '../../../src/config/spec.js';
import { DEADLINE_MARGIN_MS, DEFAULT_DRAIN_SPREAD_MS, drainSpreadMs, holdLimitMs, stopChainMs } from '../../../src/core/stop-budget.js';
import { stopDeadlineMs } from '../../../src/core/tend-machine.js';

const base: ServiceSpec = {
  name: 'web', command: ['node'], env: {}, cwd: null, type: 'simple', pool: true, workers: 2, restart: 'always', canDie: false, dependsOn: [], before: [],
  stop: [{ signal: 'received', timeoutMs: 30_000 }], signalScope: 'group', remapExit: new Map(), limits: [], user: null, listen: [], socketStrategy: 'shared',
  ready: { kind: 'auto' }, readyTimeoutMs: 60_000,
  backoff: { initialDelayMs: 100, maxDelayMs: 30_000, stableAfterMs: 10_000, maxRestarts: 10, onCrashLoop: 'exit' }, reloadSurge: 1,
  guards: { maxRssBytes: null, maxCpuPercent: null, windowMs: 30_000, sampleMs: 1_000, fdWarnRatio: 0.8 }, preload: true, watchdogMs: null,
};
const spec = (over: Partial<ServiceSpec>): ServiceSpec => ({ ...base, ...over });
const stages = (...ms: number[]): ServiceSpec['stop'] => ms.map((timeoutMs) => ({ signal: 'SIGTERM' as const, timeoutMs }));

describe('stop budget', () => {
  const chains: readonly [string, ServiceSpec, number][] = [
    ['a long first stage holds the spread: TERM:30s', base, 30_000],
    ['a short first stage lasts the spread (default 5 s): TERM:1s', spec({ stop: stages(1_000) }), DEFAULT_DRAIN_SPREAD_MS],
    ['only the first stage: TERM:1s,INT:2s with a 4 s spread', spec({ stop: stages(1_000, 2_000), drainSpreadMs: 4_000 }), 6_000],
    ['--drain-spread 0 changes nothing', spec({ stop: stages(1_000), drainSpreadMs: 0 }), 1_000],
    ['--no-preload: nothing is spread', spec({ stop: stages(1_000), preload: false }), 1_000],
  ];
  for (const [name, s, ms] of chains) it(`stopChainMs: ${name}`, () => { assert.equal(stopChainMs(s), ms); });

  it('drainSpreadMs: the default, the value given, 0 without the preload', () => {
    assert.deepEqual([drainSpreadMs(base), drainSpreadMs(spec({ drainSpreadMs: 2_000 })), drainSpreadMs(spec({ preload: false }))], [DEFAULT_DRAIN_SPREAD_MS, 2_000, 0]);
  });

  const limits: readonly [string, ServiceSpec, number | null, number, number][] = [
    ['no --grace: the stop chain', spec({ stop: stages(1_000, 2_000), drainSpreadMs: 0 }), null, 0, 3_000],
    ['--grace 20s: all of it but KILL\'s margin', spec({ stop: stages(500), drainSpreadMs: 0 }), 20_000, 0, 20_000 - DEADLINE_MARGIN_MS],
    ['--grace 20s with --stop-delay 5s: the delay is used up first', spec({ stop: stages(500), drainSpreadMs: 0 }), 20_000, 5_000, 14_000],
    ['never less than the chain', base, 10_000, 0, 30_000],
  ];
  for (const [name, s, grace, delay, ms] of limits) it(`holdLimitMs: ${name}`, () => { assert.equal(holdLimitMs(s, grace, delay), ms); });

  it('the tend deadline counts the spread: TERM:1s with the default spread → 5 s + margin', () => {
    assert.equal(stopDeadlineMs({ services: [spec({ stop: stages(1_000) })] }), DEFAULT_DRAIN_SPREAD_MS + DEADLINE_MARGIN_MS);
  });

  it('a plain single command (no pool) never gets the preload: nothing is spread', () => {
    assert.equal(stopDeadlineMs({ services: [spec({ stop: stages(1_000), pool: false, workers: 1 })] }), 1_000 + DEADLINE_MARGIN_MS);
    assert.equal(stopChainMs(spec({ stop: stages(1_000) }), true), 1_000);
  });
});
