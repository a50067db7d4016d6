// The output pump end to end: real child processes write into real pipes, a separate Node process (the harness)
// pumps them into its stdout, and this test is the (sometimes stalled) reader of that stdout.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { fstatSync } from 'node:fs';
import { Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { LineSplitter, type LinePart } from '../../src/output/line-splitter.js';
import { CONTINUATION_MARKER, CUT_MARKER } from '../../src/output/format.js';
import { native } from '../../src/os/native.js';
import { isJournalStream } from '../../src/os/output.js';
import { fixture } from '../helpers/tend.js';
import type { HarnessConfig } from './output-harness.js';

const harnessPath = join(dirname(fileURLToPath(import.meta.url)), 'output-harness.js');
const writer = fixture('line-writer.js');
const MiB = 1024 * 1024;

interface Status { event: 'status'; rss: number; hwm: number; queued: number; paused: boolean[]; bytesRead: number[] }
interface Done {
  event: 'done'; cold: { rss: number; hwm: number }; baseline: { rss: number; hwm: number }; rss: number; hwm: number; exitCodes: (number | null)[];
  sinkError: string | null; cpuMs: number; wallMs: number; maxLoopDelayMs: number; maxBusyGapMs: number;
  stats: { bytesRead: number; lines: number; cutPieces: number; pauses: number }[];
}

const running = new Set<ChildProcess>();
after(() => { for (const child of running) child.kill('SIGKILL'); });

/** Run the harness with its stdout on a pipe this test reads; with `stall`, reading starts only once every
 * pump is paused and `stall` has returned (until then the pipe fills and stays full). */
async function runHarness(config: HarnessConfig, onLine: (line: Buffer) => void, options: { stall?: (statuses: Status[]) => Promise<void>; timeoutMs?: number; env?: NodeJS.ProcessEnv; stdout?: [number, number] } = {}): Promise<{ done: Done; statuses: Status[] }> {
  const [readEnd, writeEnd] = options.stdout ?? native.pipe();
  const child = spawn(process.execPath, [harnessPath, JSON.stringify(config)], { stdio: ['ignore', writeEnd, 'pipe'], env: options.env ?? process.env });
  native.closeFd(writeEnd);
  running.add(child);
  const statuses: Status[] = [];
  const report: { done: Done | null } = { done: null };
  let stderrText = '';
  const statusWaiters = new Set<() => void>();
  // Lines of the harness's stdout are split with a generous maxLine: its own lines are at most maxLine + markers.
  const splitter = new LineSplitter(64 * MiB);
  const feed = (line: Buffer, cut: LinePart | null): void => {
    if (cut !== null) throw new Error('a harness output line exceeded 64 MiB');
    onLine(line);
  };
  const stderr = child.stderr;
  if (stderr === null) throw new Error('no stderr pipe');
  stderr.setEncoding('utf8');
  let partial = '';
  stderr.on('data', (text: string) => {
    const lines = (partial + text).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      if (!line.startsWith('{"event"')) { stderrText += `${line}\n`; continue; }
      const event = JSON.parse(line) as Status | Done;
      if (event.event === 'status') statuses.push(event);
      else report.done = event;
    }
    for (const wake of statusWaiters) wake();
  });
  const exited = new Promise<number | null>((resolve) => { child.on('close', (code) => { resolve(code); }); });
  const timeoutMs = options.timeoutMs ?? 50_000;
  const timer = setTimeout(() => { child.kill('SIGKILL'); }, timeoutMs);
  try {
    if (options.stall !== undefined) {
      // Wait (bounded by the timer above) for a status in which every pump has stopped reading.
      while (!statuses.some((s) => s.paused.every(Boolean))) {
        if (report.done !== null || child.exitCode !== null || child.signalCode !== null) throw new Error(`pumps never all paused; statuses: ${JSON.stringify(statuses.slice(-3))}`);
        await new Promise<void>((resolve) => { statusWaiters.add(resolve); });
        statusWaiters.clear();
      }
      await options.stall(statuses);
    }
    const stdout = new Socket({ fd: readEnd, readable: true, writable: false });
    const ended = new Promise<void>((resolve, reject) => { stdout.on('end', resolve); stdout.on('error', reject); });
    stdout.on('data', (chunk: Buffer) => { splitter.push(chunk, feed); });
    await ended;
    stdout.destroy();
    splitter.flush(feed);
    const code = await exited;
    assert.equal(code, 0, `harness exited with ${code}: ${stderrText}`);
    const result = report.done;
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
  it('(a) a stalled reader: 2 workers write 200 MB, tend\'s memory stays flat, every line arrives once, in order', { timeout: 120_000 }, async (t) => {
    // ~100 MB each: lines of 15 to 4,015 bytes (mean ~2 KB), 50,000 per worker.
    const perWorker = 50_000;
    const workers = [1, 2].map((slot) => ({ service: 'web', slot, stream: 'stdout' as const, argv: [process.execPath, writer, 'lines', `w${slot}`, String(perWorker), String(slot * 7), '4000', '1'] }));
    const checker = new SequenceChecker((id) => `web.${id.slice(1)} | `);
    let holdStatuses: Status[] = [];
    // The warm-up (10 MB through the same path, before the baseline) stands for a tend that has run a while:
    // without it the baseline misses ~6 MiB of Node's own code paged in on first use (reported as "cold").
    const warmup = [process.execPath, writer, 'lines', 'w0', '5000', '3', '4000', '1'];
    const { done, statuses } = await runHarness({ workers, prefix: 'slot', format: 'text', warmup }, (line) => { checker.check(line.toString('latin1')); }, {
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
    t.diagnostic(`200 MB in ${done.wallMs.toFixed(0)} ms, CPU ${done.cpuMs.toFixed(0)} ms; peak RSS +${(growth / MiB).toFixed(1)} MiB over ${(done.baseline.rss / MiB).toFixed(1)} MiB (+${((done.hwm - done.cold.rss) / MiB).toFixed(1)} MiB from cold); queued while stalled ≤ ${(Math.max(...holdStatuses.map((s) => s.queued)) / MiB).toFixed(2)} MiB`);
    // The measurement of the old code: +232 MiB for the same scenario.
    assert.ok(growth < 16 * MiB, `peak RSS grew by ${(growth / MiB).toFixed(1)} MiB (baseline ${(done.baseline.rss / MiB).toFixed(1)} MiB, max seen ${(maxRss / MiB).toFixed(1)} MiB)`);
    assert.ok(done.stats.every((s) => s.pauses > 0), 'back-pressure engaged on both pumps');
  });

  it('(b) 40 MiB without a newline and 40 MB of \\r progress: linear CPU, no event-loop stall, every byte once', { timeout: 120_000 }, async (t) => {
    const size = 40 * MiB;
    const workers = [
      { service: 'web', slot: 1, stream: 'stdout' as const, argv: [process.execPath, writer, 'noline', 'w1', String(size)] },
      { service: 'web', slot: 2, stream: 'stderr' as const, argv: [process.execPath, writer, 'progress', 'w2', String(size)] },
    ];
    const pieces = new Map<string, { count: number; bytes: number; open: boolean }>();
    let progressText = '';
    let updates = 0;
    const { done } = await runHarness({ workers, prefix: 'slot', format: 'text' }, (raw) => {
      const text = raw.toString('latin1');
      const slot = text.slice(0, 8);
      assert.ok(slot === 'web.1 | ' || slot === 'web.2 | ', `prefix of ${JSON.stringify(text.slice(0, 40))}`);
      const state = pieces.get(slot) ?? { count: 0, bytes: 0, open: false };
      let body = text.slice(8);
      assert.equal(body.startsWith(CONTINUATION_MARKER), state.open, `piece ${state.count} of ${slot} marks a continuation exactly when one is open`);
      if (state.open) body = body.slice(CONTINUATION_MARKER.length);
      state.open = body.endsWith(CUT_MARKER);
      if (state.open) body = body.slice(0, -CUT_MARKER.length);
      assert.ok(body.length <= 64 * 1024, `piece of ${body.length} bytes`);
      state.count++;
      state.bytes += body.length;
      pieces.set(slot, state);
      if (slot === 'web.1 | ') {
        assert.ok(/^x*$/.test(body), 'only the worker\'s bytes');
        return;
      }
      // The progress stream, rebuilt across pieces: every "\r" update exactly once, in order.
      const updatesText = (progressText + body).split('\r');
      progressText = updatesText.pop() ?? '';
      for (const update of updatesText) {
        if (update === '') continue;
        assert.equal(update, `w2 ${String(updates).padStart(8, '0')} [${'#'.repeat(updates % 40).padEnd(40, ' ')}]`);
        updates++;
      }
    });
    if (progressText !== '') {
      assert.equal(progressText, `w2 ${String(updates).padStart(8, '0')} [${'#'.repeat(updates % 40).padEnd(40, ' ')}]`);
      updates++;
    }
    assert.deepEqual(done.exitCodes, [0, 0]);
    assert.deepEqual(pieces.get('web.1 | '), { count: 640, bytes: size, open: false }, '40 MiB = 640 pieces of 64 KiB');
    assert.equal(pieces.get('web.2 | ')?.open, false);
    assert.ok(updates > 700_000, `progress updates: ${updates}`);
    t.diagnostic(`80 MB in ${done.wallMs.toFixed(0)} ms, CPU ${done.cpuMs.toFixed(0)} ms, longest event-loop delay ${done.maxLoopDelayMs.toFixed(1)} ms (${done.maxBusyGapMs.toFixed(1)} ms of it on CPU), peak RSS +${((done.hwm - done.baseline.rss) / MiB).toFixed(1)} MiB`);
    // The old splitter: 15.7 s of CPU and a 3.7 s stall for 40 MB alone; linear costs well under a second here.
    assert.ok(done.cpuMs < 2000, `CPU ${done.cpuMs.toFixed(0)} ms for 80 MB`);
    // A stall is the loop busy with our work: count the CPU time between timer ticks (a busy 2-core VM can
    // deschedule the process for longer than 100 ms; that is not tend stalling). Raw delay gets a loose bound.
    assert.ok(done.maxBusyGapMs < 100, `event loop busy for ${done.maxBusyGapMs.toFixed(1)} ms without a break`);
    assert.ok(done.maxLoopDelayMs < 1000, `event loop delayed by ${done.maxLoopDelayMs.toFixed(1)} ms`);
  });

  it('(c) 8 writers, lines of random length up to 100 KiB: nothing mixed or lost, order kept, all prefixed, long lines cut', { timeout: 120_000 }, async () => {
    // Scaled down from the 8 × 100,000 lines (~40 GB) to 8 × 1,500 (~80 MB) to run in seconds here.
    const perWorker = 1500;
    const workers = Array.from({ length: 8 }, (_, i): HarnessConfig['workers'][number] => ({
      service: i < 4 ? 'web' : 'jobs', slot: i, stream: i % 2 === 0 ? 'stdout' : 'stderr',
      argv: [process.execPath, writer, 'lines', `w${i}`, String(perWorker), String(1000 + i), String(100 * 1024), '8'],
    }));
    const prefixOf = (id: string): string => `${Number(id.slice(1)) < 4 ? 'web' : 'jobs'}.${id.slice(1)} | `;
    const checker = new SequenceChecker(prefixOf);
    const open = new Map<string, string[]>();
    let cutLines = 0;
    const { done } = await runHarness({ workers, prefix: 'slot', format: 'text' }, (raw) => {
      const text = raw.toString('latin1');
      const prefix = /^(web|jobs)\.\d \| /.exec(text)?.[0];
      if (prefix === undefined) throw new Error(`unprefixed line: ${JSON.stringify(text.slice(0, 80))}`);
      let body = text.slice(prefix.length);
      const pending = open.get(prefix);
      assert.equal(body.startsWith(CONTINUATION_MARKER), pending !== undefined, `${prefix}continuation marker`);
      if (pending !== undefined) body = body.slice(CONTINUATION_MARKER.length);
      const more = body.endsWith(CUT_MARKER);
      if (more) body = body.slice(0, -CUT_MARKER.length);
      assert.ok(body.length <= 64 * 1024, `a piece of ${body.length} bytes`);
      if (more) {
        open.set(prefix, [...(pending ?? []), body]);
        return;
      }
      if (pending !== undefined) {
        open.delete(prefix);
        cutLines++;
        checker.check(prefix + pending.join('') + body);
      } else {
        checker.check(text);
      }
    });
    assert.deepEqual(done.exitCodes, Array.from({ length: 8 }, () => 0));
    assert.equal(open.size, 0, 'no cut line left unfinished');
    assert.deepEqual([...checker.next.entries()].sort(), workers.map((_, i) => [`w${i}`, perWorker] as [string, number]).sort(), 'every line of every writer, once');
    assert.ok(cutLines > 100, `lines over 64 KiB cut and rebuilt: ${cutLines}`);
    assert.equal(done.stats.reduce((sum, s) => sum + s.lines, 0), checker.lines + done.stats.reduce((sum, s) => sum + s.cutPieces, 0) - cutLines);
  });

  it('(d) json: pino lines get service and slot spliced in byte for byte, other lines are wrapped, all valid JSON', { timeout: 60_000 }, async () => {
    const perWorker = 2000;
    const workers = [
      { service: 'api', slot: 1, stream: 'stdout' as const, argv: [process.execPath, writer, 'json', 'j1', String(perWorker)] },
      { service: 'api', slot: 2, stream: 'stderr' as const, argv: [process.execPath, writer, 'json', 'j2', String(perWorker)] },
    ];
    const next = new Map<number, number>();
    const pids = new Map<number, number>();
    const { done } = await runHarness({ workers, prefix: 'slot', format: 'json' }, (raw) => {
      const text = raw.toString('utf8');
      const value = JSON.parse(text) as Record<string, unknown>;
      const slot = value['slot'] as number;
      const seq = next.get(slot) ?? 0;
      next.set(slot, seq + 1);
      assert.equal(value['service'], 'api');
      const who = `j${slot}`;
      if (seq % 4 === 0) {
        // The worker's own object, with only what it lacked added after '{' and every other byte untouched.
        const pid = value['pid'] as number;
        assert.equal(text, `{"service":"api","slot":${slot},"level":30,"time":1700000000000,"pid":${pid},"hostname":"h","msg":"${who} ${seq} caf\\u00e9 é"}`);
        if (pids.has(slot)) assert.equal(pid, pids.get(slot));
        pids.set(slot, pid);
        return;
      }
      const expected = seq % 4 === 1 ? `${who} ${seq} plain "quoted" \\ text` : seq % 4 === 2 ? `[${seq}]` : `{"broken": ${seq}`;
      assert.deepEqual(Object.keys(value), ['time', 'service', 'slot', 'pid', 'stream', 'msg']);
      assert.equal(value['msg'], expected);
      assert.equal(value['stream'], slot === 1 ? 'stdout' : 'stderr');
      assert.ok(Math.abs(Date.parse(value['time'] as string) - Date.now()) < 120_000, 'time is now');
      if (pids.has(slot)) assert.equal(value['pid'], pids.get(slot), 'the pid tend started');
    });
    assert.deepEqual(done.exitCodes, [0, 0]);
    assert.deepEqual([...next.entries()].sort(), [[1, perWorker], [2, perWorker]]);
  });

  it('(e) under journald (JOURNAL_STREAM names the sink), stderr lines carry <3> and stdout lines no priority', { timeout: 60_000 }, async () => {
    const [readEnd, writeEnd] = native.pipe();
    const stat = fstatSync(writeEnd, { bigint: true });
    const journalStream = `${stat.dev}:${stat.ino}`;
    assert.equal(isJournalStream(writeEnd, journalStream), true);
    assert.equal(isJournalStream(writeEnd, `${stat.dev}:${stat.ino + 1n}`), false, 'another inode is not the journal');
    assert.equal(isJournalStream(writeEnd, undefined), false);
    const workers = [
      { service: 'web', slot: 1, stream: 'stdout' as const, argv: [process.execPath, writer, 'lines', 'w1', '300', '1', '100', '1'] },
      { service: 'web', slot: 2, stream: 'stderr' as const, argv: [process.execPath, writer, 'lines', 'w2', '300', '2', '100', '1'] },
    ];
    const checker = new SequenceChecker((id) => (id === 'w2' ? '<3>web.2 | ' : 'web.1 | '));
    await runHarness({ workers, prefix: 'slot', format: 'text' }, (raw) => { checker.check(raw.toString('latin1')); }, {
      env: { ...process.env, JOURNAL_STREAM: journalStream }, stdout: [readEnd, writeEnd],
    });
    assert.deepEqual([...checker.next.entries()].sort(), [['w1', 300], ['w2', 300]]);
  });
});
