// The output pump end to end: real child processes write into real pipes, a separate Node process (the harness)
// pumps them into its stdout, and this test is the (sometimes stalled) reader of that stdout.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { LineSplitter, type LinePart } from '../../src/output/line-splitter.js';
import { CONTINUATION_MARKER, CUT_MARKER } from '../../src/output/format.js';
import { fixture } from '../helpers/tend.js';
import type { HarnessConfig } from './output-harness.js';

const harnessPath = join(dirname(fileURLToPath(import.meta.url)), 'output-harness.js');
const writer = fixture('line-writer.js');
const MiB = 1024 * 1024;

interface Status { event: 'status'; rss: number; hwm: number; queued: number; paused: boolean[]; bytesRead: number[] }
interface Done {
  event: 'done'; baseline: { rss: number; hwm: number }; rss: number; hwm: number; exitCodes: (number | null)[];
  sinkError: string | null; cpuMs: number; wallMs: number; maxLoopDelayMs: number;
  stats: { bytesRead: number; lines: number; cutPieces: number; pauses: number }[];
}

const running = new Set<ChildProcess>();
after(() => { for (const child of running) child.kill('SIGKILL'); });

/** Run the harness; `stalled` is called (and awaited) before its stdout is read, once every pump is paused. */
async function runHarness(config: HarnessConfig, onLine: (line: Buffer) => void, options: { stall?: (statuses: Status[]) => Promise<void>; timeoutMs?: number } = {}): Promise<{ done: Done; statuses: Status[] }> {
  const child = spawn(process.execPath, [harnessPath, JSON.stringify(config)], { stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  const statuses: Status[] = [];
  let done: Done | null = null;
  let stderrText = '';
  const statusWaiters = new Set<() => void>();
  // Lines of the harness's stdout are split with a generous maxLine: its own lines are at most maxLine + markers.
  const splitter = new LineSplitter(64 * MiB);
  const feed = (line: Buffer, cut: LinePart | null): void => {
    if (cut !== null) throw new Error('a harness output line exceeded 64 MiB');
    onLine(line);
  };
  const stdout = child.stdout;
  const stderr = child.stderr;
  if (stdout === null || stderr === null) throw new Error('no pipes');
  stdout.pause();
  stderr.setEncoding('utf8');
  let partial = '';
  stderr.on('data', (text: string) => {
    const lines = (partial + text).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      if (!line.startsWith('{"event"')) { stderrText += `${line}\n`; continue; }
      const event = JSON.parse(line) as Status | Done;
      if (event.event === 'status') statuses.push(event);
      else done = event;
      for (const wake of statusWaiters) wake();
    }
  });
  const closed = new Promise<number | null>((resolve) => { child.on('close', (code) => { resolve(code); }); });
  const timeoutMs = options.timeoutMs ?? 50_000;
  const timer = setTimeout(() => { child.kill('SIGKILL'); }, timeoutMs);
  try {
    if (options.stall !== undefined) {
      // Wait (bounded by the timer above) for a status in which every pump has stopped reading.
      const deadline = Date.now() + timeoutMs;
      while (!statuses.some((s) => s.paused.every(Boolean))) {
        if (Date.now() > deadline || done !== null) throw new Error(`pumps never all paused; statuses: ${JSON.stringify(statuses.slice(-3))}`);
        await new Promise<void>((resolve) => { statusWaiters.add(resolve); });
        statusWaiters.clear();
      }
      await options.stall(statuses);
    }
    stdout.on('data', (chunk: Buffer) => { splitter.push(chunk, feed); });
    stdout.resume();
    const code = await closed;
    splitter.flush(feed);
    assert.equal(code, 0, `harness exited with ${code}: ${stderrText}`);
    const result = done as Done | null;
    if (result === null) throw new Error(`no report from the harness: ${stderrText}`);
    assert.equal(stderrText, '', 'nothing unexpected on the harness stderr');
    return { done: result, statuses };
  } finally {
    clearTimeout(timer);
    running.delete(child);
  }
}

/** Checks lines `<prefix><id> <seq> <len> <letters>` per writer: exactly once, in order, unmixed. */
class SequenceChecker {
  readonly next = new Map<string, number>();
  lines = 0;
  bytes = 0;

  constructor(private readonly prefixOf: (id: string) => string) {}

  check(text: string): void {
    const match = /^(.*?)(w\d+) (\d+) (\d+) ([a-z]*)$/.exec(text);
    if (match === null) throw new Error(`malformed line: ${JSON.stringify(text.slice(0, 120))}`);
    const [, prefix, id = '', seqText = '', lenText = '', letters = ''] = match;
    const seq = Number(seqText);
    assert.equal(prefix, this.prefixOf(id), `prefix of ${id} ${seq}`);
    assert.equal(seq, this.next.get(id) ?? 0, `${id}: expected line ${this.next.get(id) ?? 0}, got ${seq}`);
    assert.equal(letters.length, Number(lenText), `${id} ${seq}: length`);
    assert.equal(letters, String.fromCharCode(97 + (seq % 26)).repeat(letters.length), `${id} ${seq}: content`);
    this.next.set(id, seq + 1);
    this.lines++;
    this.bytes += text.length;
  }
}

describe('output pump', () => {
  it('(a) a stalled reader: 2 workers write 200 MB, tend\'s memory stays flat, every line arrives once, in order', { timeout: 120_000 }, async () => {
    // ~100 MB each: lines of 15 to 4,015 bytes (mean ~2 KB), 50,000 per worker.
    const perWorker = 50_000;
    const workers = [1, 2].map((slot) => ({ service: 'web', slot, stream: 'stdout' as const, argv: [process.execPath, writer, 'lines', `w${slot}`, String(perWorker), String(slot * 7), '4000', '1'] }));
    const checker = new SequenceChecker((id) => `web.${id.slice(1)} | `);
    let holdStatuses: Status[] = [];
    const { done, statuses } = await runHarness({ workers, prefix: 'slot', format: 'text' }, (line) => { checker.check(line.toString('latin1')); }, {
      stall: async (seen) => {
        // The reader stays stalled for 2 s more (the scenario, not a synchronisation): nothing may be read meanwhile.
        const from = seen.length;
        await new Promise((resolve) => { setTimeout(resolve, 2000); });
        holdStatuses = seen.slice(from - 1);
      },
    });
    assert.ok(holdStatuses.length >= 5, `status reports while stalled: ${holdStatuses.length}`);
    for (const s of holdStatuses) {
      assert.deepEqual(s.paused, [true, true], 'both pumps stay paused while the reader is stalled');
      assert.deepEqual(s.bytesRead, holdStatuses[0]?.bytesRead, 'no worker byte is read while the sink is full');
      assert.ok(s.queued <= 1.5 * MiB, `queued in tend: ${s.queued}`);
    }
    assert.deepEqual(done.exitCodes, [0, 0]);
    assert.deepEqual([...checker.next.values()], [perWorker, perWorker], 'every line of both workers arrived');
    assert.ok(checker.bytes > 190 * 1e6, `bytes through: ${checker.bytes}`);
    const growth = done.hwm - done.baseline.rss;
    const maxRss = Math.max(...statuses.map((s) => s.rss));
    // The measurement of the old code: +232 MiB for the same scenario.
    assert.ok(growth < 16 * MiB, `peak RSS grew by ${(growth / MiB).toFixed(1)} MiB (baseline ${(done.baseline.rss / MiB).toFixed(1)} MiB, max seen ${(maxRss / MiB).toFixed(1)} MiB)`);
    assert.ok(done.stats.every((s) => s.pauses > 0), 'back-pressure engaged on both pumps');
  });
});
