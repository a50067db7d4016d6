// Guard verdicts as tables: a worker's samples over time → the verdict after each sample. Pure: no /proc, no clock.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { GuardPolicy } from '../../../src/config/pool-config.js';
import { FRESH_GUARD_HISTORY, judgeSample, judgeWatchdog, type GuardHistory, type GuardSample, type GuardVerdict } from '../../../src/core/guards.js';

const MIB = 1_048_576;
const TICKS = 100;

interface Row {
  readonly name: string;
  readonly policy?: Partial<GuardPolicy>;
  readonly samples: readonly GuardSample[];
  /** The verdicts after each sample, one list per sample. */
  readonly verdicts: readonly (readonly GuardVerdict[])[];
}

const basePolicy: GuardPolicy = { maxRssBytes: 512 * MIB, maxCpuPercent: 90, windowMs: 2_000, sampleMs: 1_000, fdWarnRatio: 0.8 };

// Feed the samples in order, threading the history through, and compare every verdict list.
function table(title: string, rows: readonly Row[]): void {
  describe(title, () => {
    for (const row of rows) {
      it(row.name, () => {
        const policy = { ...basePolicy, ...row.policy };
        let history: GuardHistory = FRESH_GUARD_HISTORY;
        const seen: GuardVerdict[][] = [];
        for (const sample of row.samples) {
          const judged = judgeSample(policy, history, sample, TICKS);
          history = judged.history;
          seen.push(judged.verdicts);
        }
        assert.deepEqual(seen, row.verdicts);
      });
    }
  });
}

const sample = (at: number, over: Partial<GuardSample> = {}): GuardSample => ({ at, rssBytes: 100 * MIB, cpuTicks: 0, fdCount: null, nofileSoft: null, ...over });
const rss = (at: number, mib: number): GuardSample => sample(at, { rssBytes: mib * MIB });
const cpu = (at: number, ticks: number): GuardSample => sample(at, { cpuTicks: ticks });
const fds = (at: number, count: number | null, soft: number | null = 1_000): GuardSample => sample(at, { fdCount: count, nofileSoft: soft });
const unhealthy = (reason: 'memory' | 'cpu', why: string): GuardVerdict => ({ kind: 'unhealthy', reason, why });
const fdWarning = (count: number, percent: number): GuardVerdict => ({
  kind: 'fd-warning', message: `${count} open files, ${percent}% of its limit 1000; at 100% it fails with EMFILE (raise it with --limit nofile=N)`,
});
const rssVerdict = unhealthy('memory', 'RSS 600 MiB above --max-memory 512 MiB for 2s');

table('guards: --max-memory', [
  { name: 'under the limit → ok', samples: [rss(0, 500), rss(1_000, 500), rss(2_000, 500)], verdicts: [[], [], []] },
  { name: 'over for less than the window → ok', samples: [rss(0, 600), rss(1_000, 600)], verdicts: [[], []] },
  { name: 'over for the whole window → unhealthy, and again on every later sample', samples: [rss(0, 600), rss(1_000, 600), rss(2_000, 600), rss(3_000, 600)], verdicts: [[], [], [rssVerdict], [rssVerdict]] },
  {
    name: 'a dip under the limit starts the window over', samples: [rss(0, 600), rss(1_000, 400), rss(2_000, 600), rss(3_000, 600), rss(4_000, 600)],
    verdicts: [[], [], [], [], [rssVerdict]],
  },
  { name: 'no --max-memory → never', policy: { maxRssBytes: null }, samples: [rss(0, 9_000), rss(5_000, 9_000)], verdicts: [[], []] },
]);

table('guards: --max-cpu', [
  { name: 'one sample → 0 %', samples: [cpu(0, 500)], verdicts: [[]] },
  {
    name: '100 % of a core for the whole window → unhealthy', samples: [cpu(0, 0), cpu(1_000, 100), cpu(2_000, 200), cpu(3_000, 300)],
    verdicts: [[], [], [], [unhealthy('cpu', 'CPU 100% above --max-cpu 90% for 2s')]],
  },
  { name: '50 % → ok', samples: [cpu(0, 0), cpu(1_000, 50), cpu(2_000, 100), cpu(3_000, 150)], verdicts: [[], [], [], []] },
  {
    name: 'a quiet second inside the window → ok until it is busy again for a whole window',
    samples: [cpu(0, 0), cpu(1_000, 100), cpu(2_000, 100), cpu(3_000, 100), cpu(4_000, 200), cpu(5_000, 300), cpu(6_000, 400), cpu(7_000, 500)],
    verdicts: [[], [], [], [], [], [], [], [unhealthy('cpu', 'CPU 100% above --max-cpu 90% for 2s')]],
  },
  { name: 'no --max-cpu → never', policy: { maxCpuPercent: null }, samples: [cpu(0, 0), cpu(1_000, 400), cpu(2_000, 800), cpu(3_000, 1_200)], verdicts: [[], [], [], []] },
  {
    name: 'memory and CPU both over → one verdict, memory\'s',
    samples: [sample(0, { rssBytes: 600 * MIB, cpuTicks: 0 }), sample(1_000, { rssBytes: 600 * MIB, cpuTicks: 100 }), sample(2_000, { rssBytes: 600 * MIB, cpuTicks: 200 }), sample(3_000, { rssBytes: 600 * MIB, cpuTicks: 300 })],
    verdicts: [[], [], [rssVerdict], [rssVerdict]],
  },
]);

table('guards: open files', [
  { name: 'under the warning ratio → nothing', samples: [fds(0, 700)], verdicts: [[]] },
  { name: 'at the ratio → one warning, not repeated while it stays high', samples: [fds(0, 800), fds(1_000, 850), fds(2_000, 990)], verdicts: [[fdWarning(800, 80)], [], []] },
  {
    name: 'it warns again only after dropping clearly below (90 % of the ratio)', samples: [fds(0, 800), fds(1_000, 750), fds(2_000, 800), fds(3_000, 700), fds(4_000, 820)],
    verdicts: [[fdWarning(800, 80)], [], [], [], [fdWarning(820, 82)]],
  },
  { name: 'unknown fd count or limit → nothing', samples: [fds(0, null), fds(1_000, 900, null), fds(2_000, 900, 0)], verdicts: [[], [], []] },
  {
    name: 'a warning and a verdict in the same sample: the warning first',
    samples: [sample(0, { rssBytes: 600 * MIB }), sample(1_000, { rssBytes: 600 * MIB }), sample(2_000, { rssBytes: 600 * MIB, fdCount: 800, nofileSoft: 1_000 })],
    verdicts: [[], [], [fdWarning(800, 80), rssVerdict]],
  },
]);

describe('guards: history stays bounded', () => {
  it('an hour of samples keeps only the window\'s CPU readings', () => {
    let history: GuardHistory = FRESH_GUARD_HISTORY;
    for (let at = 0; at <= 3_600_000; at += 1_000) history = judgeSample(basePolicy, history, cpu(at, at / 20), TICKS).history;
    assert.deepEqual(history.cpu.map((c) => c.at), [3_598_000, 3_599_000, 3_600_000]);
  });
});

describe('guards: the watchdog', () => {
  const rows: readonly [string, number | null, number, number, string | null][] = [
    ['no --watchdog → never', null, 0, 1_000_000, null],
    ['a ping within the interval → healthy', 3_000, 10_000, 12_000, null],
    ['exactly the interval → still healthy', 3_000, 10_000, 13_000, null],
    ['past the interval → the why-text', 3_000, 10_000, 13_001, 'no WATCHDOG=1 for 3001 ms (WATCHDOG_USEC=3000000); it stopped pinging'],
  ];
  for (const [name, watchdogMs, lastPingAt, now, expected] of rows) {
    it(name, () => { assert.equal(judgeWatchdog(watchdogMs, lastPingAt, now), expected); });
  }
});
