// Formatting a worker line: prefixes, colour, the cut markers, JSON splicing and wrapping, journald priorities.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLineFormatter, prefixText, type FormatOptions, type OutputStream } from '../../../src/output/format.js';
import type { LinePart } from '../../../src/output/line-splitter.js';

const labels = { service: 'web', slot: 2, pid: 4242 };
const plain: FormatOptions = { prefix: 'none', format: 'text', colour: false, journald: false };
const clock = (): number => Date.UTC(2026, 0, 2, 3, 4, 5, 678);

function render(options: Partial<FormatOptions>, line: string, cut: LinePart | null = null, stream: OutputStream = 'stdout'): string {
  const out: Buffer[] = [];
  let calls = 0;
  createLineFormatter({ ...plain, ...options }, labels, stream, clock)(Buffer.from(line), cut, (parts) => {
    calls++;
    for (const part of parts) out.push(Buffer.from(part));
  });
  assert.equal(calls, 1, 'one output line per input line');
  return Buffer.concat(out).toString('utf8');
}

describe('text format', () => {
  const rows: [string, Partial<FormatOptions>, string, LinePart | null, OutputStream, string][] = [
    ['as is', {}, 'hello', null, 'stdout', 'hello\n'],
    ['name prefix', { prefix: 'name' }, 'hello', null, 'stdout', 'web | hello\n'],
    ['slot prefix', { prefix: 'slot' }, 'hello', null, 'stderr', 'web.2 | hello\n'],
    ['first piece of a cut line', { prefix: 'slot' }, 'aaa', { part: 1, more: true }, 'stdout', 'web.2 | aaa [tend:cut]\n'],
    ['middle piece', { prefix: 'slot' }, 'bbb', { part: 2, more: true }, 'stdout', 'web.2 | [tend:cont] bbb [tend:cut]\n'],
    ['last piece', { prefix: 'slot' }, 'ccc', { part: 3, more: false }, 'stdout', 'web.2 | [tend:cont] ccc\n'],
    ['journald: stderr gets <3>', { journald: true, prefix: 'slot' }, 'boom', null, 'stderr', '<3>web.2 | boom\n'],
    ['journald: stdout gets no priority', { journald: true, prefix: 'slot' }, 'fine', null, 'stdout', 'web.2 | fine\n'],
    ['journald: the worker\'s own priority goes first', { journald: true, prefix: 'slot' }, '<4>careful', null, 'stderr', '<4>web.2 | careful\n'],
    ['not journald: <4> is text', { prefix: 'slot' }, '<4>careful', null, 'stderr', 'web.2 | <4>careful\n'],
  ];
  for (const [name, options, line, cut, stream, expected] of rows) {
    it(name, () => { assert.equal(render(options, line, cut, stream), expected); });
  }

  it('colours the prefix on a terminal, the same colour for the same slot every time', () => {
    const a = prefixText({ prefix: 'slot', colour: true }, labels);
    const esc = String.fromCharCode(27);
    assert.ok(a.startsWith(`${esc}[`) && a.endsWith(`mweb.2 |${esc}[0m `) && /^\[\d+m/.test(a.slice(1)), JSON.stringify(a));
    assert.equal(prefixText({ prefix: 'slot', colour: true }, labels), a);
    const colours = new Set([0, 1, 2, 3, 4, 5, 6, 7].map((slot) => /\[(\d+)m/.exec(prefixText({ prefix: 'slot', colour: true }, { ...labels, slot }))?.[1]));
    assert.ok(colours.size >= 4, `8 slots get ${colours.size} colours`);
    assert.ok(!colours.has('31'), 'red is kept for errors');
  });
});

describe('json format', () => {
  const json = { format: 'json' } as const;

  it('splices service, slot and pid into a pino line without re-encoding it', () => {
    const pino = '{"level":30,"time":1700000000000,"pid":77,"hostname":"h","msg":"hi \\u00e9 1.50"}';
    const out = render(json, pino);
    assert.equal(out, `{"service":"web","slot":2,${pino.slice(1)}\n`, 'the worker\'s own pid is kept, bytes unchanged');
    assert.deepEqual(JSON.parse(out), { service: 'web', slot: 2, level: 30, time: 1700000000000, pid: 77, hostname: 'h', msg: 'hi é 1.50' });
  });

  it('adds all three labels when the object has none, and handles {} and trailing blanks', () => {
    assert.equal(render(json, '{"a":1}'), '{"service":"web","slot":2,"pid":4242,"a":1}\n');
    assert.equal(render(json, '{}'), '{"service":"web","slot":2,"pid":4242}\n');
    assert.equal(render(json, '{ }\r'), '{"service":"web","slot":2,"pid":4242 }\n');
  });

  it('wraps any other line, keeping the text in msg', () => {
    for (const line of ['plain text', '{not json', '[1,2]', '{"a":1} trailing', '"quoted" \\ \t tab', '']) {
      const value = JSON.parse(render(json, line, null, 'stderr')) as Record<string, unknown>;
      assert.deepEqual(value, { time: '2026-01-02T03:04:05.678Z', service: 'web', slot: 2, pid: 4242, stream: 'stderr', msg: line });
    }
  });

  it('drops a CR before the newline and marks cut pieces', () => {
    assert.equal((JSON.parse(render(json, 'dos line\r')) as { msg: string }).msg, 'dos line');
    const first = JSON.parse(render(json, '{"half":', { part: 1, more: true })) as Record<string, unknown>;
    assert.equal(first['msg'], '{"half":');
    assert.equal(first['part'], 1);
    assert.equal(first['partial'], true);
    const last = JSON.parse(render(json, '1}', { part: 2, more: false })) as Record<string, unknown>;
    assert.equal(last['part'], 2);
    assert.equal(last['partial'], undefined);
  });

  it('puts the journald priority before the object', () => {
    assert.match(render({ ...json, journald: true }, 'oops', null, 'stderr'), /^<3>\{"time":/);
    assert.equal(render({ ...json, journald: true }, '{"a":1}', null, 'stderr'), '<3>{"service":"web","slot":2,"pid":4242,"a":1}\n');
    assert.equal(render({ ...json, journald: true }, '<6>{"a":1}', null, 'stdout'), '<6>{"service":"web","slot":2,"pid":4242,"a":1}\n');
  });
});
