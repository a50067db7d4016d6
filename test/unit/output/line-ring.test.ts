// The ring of recent lines: bounded by count and bytes, snapshots oldest first, followers with bounded queues.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LineRing, type LogEntry } from '../../../src/output/line-ring.js';
import { parseLogFormat, parseLogMaxLine, parseLogPrefix } from '../../../src/output/options.js';

const text = (entries: readonly LogEntry[]): string[] => entries.map((e) => e.line.toString());

describe('LineRing', () => {
  it('keeps the last N lines, oldest first', () => {
    const ring = new LineRing({ lines: 3 });
    for (const line of ['a', 'b', 'c', 'd', 'e']) ring.push('stdout', Buffer.from(line));
    assert.deepEqual(ring.snapshot(), ['c', 'd', 'e']);
    assert.deepEqual(ring.snapshot(2), ['d', 'e']);
    assert.deepEqual(ring.snapshot(0), []);
    assert.deepEqual(ring.size, { lines: 3, bytes: 3 });
  });

  it('is bounded by bytes too, and always keeps (the start of) the newest line', () => {
    const ring = new LineRing({ lines: 100, bytes: 10 });
    for (const line of ['aaaa', 'bbbb', 'cccc']) ring.push('stdout', Buffer.from(line));
    assert.deepEqual(ring.snapshot(), ['bbbb', 'cccc']);
    ring.push('stdout', Buffer.from('dd'));
    assert.deepEqual(ring.snapshot(), ['cccc', 'dd'], 'contiguous storage: bbbb sat where dd goes');
    ring.push('stderr', Buffer.from('x'.repeat(50)));
    assert.deepEqual(ring.snapshot(), ['x'.repeat(10)]);
    assert.equal(ring.entries()[0]?.stream, 'stderr');
  });

  it('keeps exactly the newest lines that fit, for any mix of lengths (checked against a plain list)', () => {
    let seed = 12345;
    const random = (): number => { seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0; return seed / 0x100000000; };
    for (const [lines, bytes] of [[5, 64], [50, 100], [1000, 37]] as const) {
      const ring = new LineRing({ lines, bytes });
      const all: string[] = [];
      for (let i = 0; i < 3000; i++) {
        const line = String.fromCharCode(97 + (i % 26)).repeat(Math.floor(random() * random() * 40));
        all.push(line);
        ring.push('stdout', Buffer.from(line));
        const kept = ring.snapshot();
        assert.ok(kept.length <= lines && kept.join('').length <= bytes, `bounds at ${i}`);
        assert.deepEqual(kept, all.slice(all.length - kept.length).map((l) => l.slice(0, bytes)), `newest lines at ${i}`);
        // Nothing that would still fit was evicted too early: at least the lines in half the arena are kept.
        let fit = 0;
        for (let j = all.length - 1, used = 0; j >= 0 && fit < lines && used + (all[j]?.length ?? 0) <= bytes / 2; j--, fit++) used += all[j]?.length ?? 0;
        assert.ok(kept.length >= Math.min(fit, lines), `kept ${kept.length} of the ${fit} newest lines that fit in half at ${i}`);
      }
    }
  });

  it('copies lines, so the reader\'s chunk can be reused', () => {
    const ring = new LineRing();
    const chunk = Buffer.from('hello');
    ring.push('stdout', chunk);
    chunk.fill(0x2d);
    assert.deepEqual(ring.snapshot(), ['hello']);
  });

  it('follows new lines after a backlog, and ends with "closed" after the queue', async () => {
    const ring = new LineRing();
    ring.push('stdout', Buffer.from('old1'));
    ring.push('stdout', Buffer.from('old2'));
    const follower = ring.follow({ backlog: 1 });
    ring.push('stdout', Buffer.from('new1'));
    const seen: LogEntry[] = [];
    const reading = (async () => { for await (const e of follower) seen.push(e); })();
    ring.push('stderr', Buffer.from('new2'));
    ring.close();
    ring.push('stdout', Buffer.from('after close'));
    await reading;
    assert.deepEqual(text(seen), ['old2', 'new1', 'new2']);
    assert.equal(await follower.ended, 'closed');
  });

  it('drops a follower that lags beyond its cap and says so, without holding its lines', async () => {
    const ring = new LineRing();
    const slow = ring.follow({ maxQueuedBytes: 1000 });
    const fast = ring.follow({ maxQueuedBytes: 1000 });
    const fastSeen: string[] = [];
    const fastReading = (async () => { for await (const e of fast) fastSeen.push(e.line.toString()); })();
    for (let i = 0; i < 30; i++) {
      ring.push('stdout', Buffer.from(`line ${i} `.padEnd(100, '.')));
      // The fast follower reads as lines come; the slow one never does.
      await new Promise((resolve) => { setImmediate(resolve); });
    }
    assert.equal(slow.queuedBytes, 0, 'nothing held for a dropped follower');
    const slowSeen: LogEntry[] = [];
    for await (const e of slow) slowSeen.push(e);
    assert.deepEqual(slowSeen, []);
    assert.equal(await slow.ended, 'lagged');
    fast.close();
    await fastReading;
    assert.equal(fastSeen.length, 30);
    assert.equal(await fast.ended, 'unsubscribed');
  });

  it('a follower of a closed ring gets the backlog, then ends', async () => {
    const ring = new LineRing();
    ring.push('stdout', Buffer.from('last words'));
    ring.close();
    const seen: LogEntry[] = [];
    const follower = ring.follow({ backlog: 10 });
    for await (const e of follower) seen.push(e);
    assert.deepEqual(text(seen), ['last words']);
    assert.equal(await follower.ended, 'closed');
  });
});

describe('log settings', () => {
  it('parses good values and names the flag on bad ones', () => {
    assert.equal(parseLogPrefix('slot'), 'slot');
    assert.equal(parseLogFormat('json'), 'json');
    assert.equal(parseLogMaxLine('64K'), 65536);
    assert.equal(parseLogMaxLine('1M'), 1048576);
    assert.throws(() => parseLogPrefix('pid'), /^TendError: --log-prefix "pid": unknown prefix; write none, name/);
    assert.throws(() => parseLogFormat('xml'), /--log-format "xml": unknown format; write text or json/);
    assert.throws(() => parseLogMaxLine('10'), /--log-max-line "10": out of range; write a size from 1K to 16M/);
    assert.throws(() => parseLogMaxLine('lots'), /--log-max-line "lots": not a size/);
  });
});
