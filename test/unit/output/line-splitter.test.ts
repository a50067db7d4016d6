// The line splitter: whole lines whatever the chunking, long lines cut at maxLine without splitting a UTF-8
// character, and linear cost on input without newlines.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LineSplitter, type LinePart } from '../../../src/output/line-splitter.js';

interface Got { text: string; cut: LinePart | null }

function split(chunks: readonly (string | Buffer)[], maxLine = 8): Got[] {
  const splitter = new LineSplitter(maxLine);
  const got: Got[] = [];
  const onLine = (line: Buffer, cut: LinePart | null): void => { got.push({ text: line.toString('utf8'), cut }); };
  for (const chunk of chunks) splitter.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk, onLine);
  splitter.flush(onLine);
  return got;
}

const whole = (...texts: string[]): Got[] => texts.map((text) => ({ text, cut: null }));

describe('LineSplitter', () => {
  const rows: [string, string[], Got[]][] = [
    ['one chunk, two lines', ['a\nbb\n'], whole('a', 'bb')],
    ['a line across chunks', ['ab', 'c', 'd\ne', '\n'], whole('abcd', 'e')],
    ['empty lines are lines', ['\n\n'], whole('', '')],
    ['a last line without newline is flushed', ['x\ny'], whole('x', 'y')],
    ['nothing at all', [], []],
    ['exactly maxLine is not cut', ['12345678\n'], whole('12345678')],
    ['maxLine + 1 is cut in two', ['123456789\n'], [
      { text: '12345678', cut: { part: 1, more: true } }, { text: '9', cut: { part: 2, more: false } }]],
    ['a cut across chunks and at EOF', ['1234', '56789abcdefghij'], [
      { text: '12345678', cut: { part: 1, more: true } }, { text: '9abcdefg', cut: { part: 2, more: true } },
      { text: 'hij', cut: { part: 3, more: false } }]],
    ['\\r is data, not a line end', ['50%\r60%\r\n'], whole('50%\r60%\r')],
  ];
  for (const [name, chunks, expected] of rows) {
    it(name, () => { assert.deepEqual(split(chunks), expected); });
  }

  it('never splits a UTF-8 character when cutting', () => {
    // 'é' is 2 bytes, '€' 3 bytes: with maxLine 8 the natural cut points fall inside them.
    for (const text of ['abcdefgé tail', 'abcdef€xyz', 'abcdefg€xyz', '€€€€€€€€', 'éééééééééé']) {
      const got = split([text + '\n']);
      assert.equal(got.map((g) => g.text).join(''), text, text);
      for (const g of got) {
        assert.ok(!g.text.includes('\uFFFD'), `${JSON.stringify(text)} piece ${JSON.stringify(g.text)} is valid UTF-8`);
        assert.ok(Buffer.byteLength(g.text) <= 8);
      }
    }
  });

  it('cuts invalid UTF-8 at maxLine exactly', () => {
    const bytes = Buffer.from([0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x80, 0x80, 0x80, 0x0a]);
    const lengths: number[] = [];
    const splitter = new LineSplitter(8);
    splitter.push(bytes, (line) => { lengths.push(line.length); });
    assert.deepEqual(lengths, [8, 2]);
  });

  it('gives the same lines for every chunking', () => {
    const text = Array.from({ length: 200 }, (_, i) => 'x'.repeat((i * 7919) % 23)).join('\n');
    const expected = split([text], 16);
    for (const size of [1, 2, 3, 5, 16, 17, 1000]) {
      const chunks: Buffer[] = [];
      for (let i = 0; i < text.length; i += size) chunks.push(Buffer.from(text.slice(i, i + size)));
      assert.deepEqual(split(chunks, 16), expected, `chunk size ${size}`);
    }
  });

  it('costs linear time on 32 MB without a newline, in 128-byte and 64 KiB chunks', () => {
    const chunk = Buffer.alloc(64 * 1024, 0x78);
    const small = Buffer.alloc(128, 0x78);
    const splitter = new LineSplitter(64 * 1024);
    let bytes = 0;
    let pieces = 0;
    const onLine = (line: Buffer): void => { bytes += line.length; pieces++; };
    const started = process.cpuUsage();
    for (let i = 0; i < 256; i++) splitter.push(chunk, onLine);
    for (let i = 0; i < 131_072; i++) splitter.push(small, onLine);
    splitter.flush(onLine);
    const cpu = process.cpuUsage(started);
    assert.equal(bytes, 32 * 1024 * 1024);
    assert.equal(pieces, 512);
    // A quadratic splitter needs minutes here; a linear one well under a second even on a busy 2-core VM.
    assert.ok((cpu.user + cpu.system) / 1000 < 2000, `took ${(cpu.user + cpu.system) / 1000} ms of CPU`);
  });

  it('refuses a maxLine too small to hold a character', () => {
    assert.throws(() => new LineSplitter(3), /maxLine/);
  });
});
