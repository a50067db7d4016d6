// Flag value parsers: good values parse, bad values fail with an error naming the flag, the value and the fix.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { splitCommandLine } from '../../../src/config/command-line.js';
import { parseDuration } from '../../../src/config/duration.js';
import { parseLimit, parseRemap, parseStopSpec, parseUserSpec } from '../../../src/config/run-config.js';
import { TendError } from '../../../src/errors.js';

const usage = (pattern: RegExp) => (error: unknown) => error instanceof TendError && error.exitCode === 64 && pattern.test(error.message);

describe('durations', () => {
  it('parse with units and reject bare numbers', () => {
    assert.equal(parseDuration('250ms'), 250);
    assert.equal(parseDuration('10s'), 10_000);
    assert.equal(parseDuration('1.5m'), 90_000);
    assert.equal(parseDuration('1h'), 3_600_000);
    assert.deepEqual(parseDuration('10'), { problem: 'duration "10" has no unit', fix: 'write 10s, 10ms or 10m (units: ms, s, m, h)' });
    assert.ok(typeof parseDuration('soon') === 'object');
  });
});

describe('--stop', () => {
  it('parses the Sidekiq sequence and defaults missing durations', () => {
    assert.deepEqual(parseStopSpec('TSTP:10s,TERM:25s'), [
      { signal: 'SIGTSTP', timeoutMs: 10_000 },
      { signal: 'SIGTERM', timeoutMs: 25_000 },
    ]);
    assert.deepEqual(parseStopSpec('sigquit'), [{ signal: 'SIGQUIT', timeoutMs: 30_000 }]);
    assert.deepEqual(parseStopSpec('TERM:5s,KILL'), [{ signal: 'SIGTERM', timeoutMs: 5_000 }]);
  });
  it('rejects a bare number, an unknown signal and stages after KILL', () => {
    assert.throws(() => parseStopSpec('TERM:10'), usage(/--stop "TERM:10": duration "10" has no unit; write 10s/));
    assert.throws(() => parseStopSpec('TERMINATE:1s'), usage(/"TERMINATE" is not a signal/));
    assert.throws(() => parseStopSpec('KILL,TERM:1s'), usage(/KILL must be the last stage/));
    assert.throws(() => parseStopSpec('KILL'), usage(/no stage before KILL/));
  });
});

describe('--limit', () => {
  it('sets soft and hard from one value, or both, with sizes and unlimited', () => {
    assert.deepEqual(parseLimit('nofile=65536'), { name: 'nofile', soft: 65536, hard: 65536 });
    assert.deepEqual(parseLimit('NOFILE=1024:4096'), { name: 'nofile', soft: 1024, hard: 4096 });
    assert.deepEqual(parseLimit('core=unlimited'), { name: 'core', soft: Infinity, hard: Infinity });
    assert.deepEqual(parseLimit('memlock=64K:1M'), { name: 'memlock', soft: 65536, hard: 1048576 });
  });
  it('rejects unknown resources, soft above hard and sizes on counts', () => {
    assert.throws(() => parseLimit('files=10'), usage(/"files" is not a resource limit; use one of as, core/));
    assert.throws(() => parseLimit('nofile=10:5'), usage(/soft limit 10 is above hard limit 5/));
    assert.throws(() => parseLimit('nofile=1K'), usage(/not a valid value for nofile/));
    assert.throws(() => parseLimit('nofile'), usage(/missing "="/));
  });
});

describe('--remap-exit and --user', () => {
  it('parse and reject', () => {
    assert.deepEqual(parseRemap('143:0'), [143, 0]);
    assert.throws(() => parseRemap('143'), usage(/--remap-exit "143": expected FROM:TO/));
    assert.throws(() => parseRemap('300:0'), usage(/0-255/));
    assert.deepEqual(parseUserSpec('app:staff'), { user: 'app', group: 'staff' });
    assert.deepEqual(parseUserSpec('1000'), { user: '1000', group: null });
    assert.throws(() => parseUserSpec('a:b:c'), usage(/--user "a:b:c"/));
  });
});

describe('--before command lines', () => {
  it('split like sh without a shell', () => {
    assert.deepEqual(splitCommandLine(`node migrate.js --name "a b" 'c d' e\\ f ""`), { argv: ['node', 'migrate.js', '--name', 'a b', 'c d', 'e f', ''] });
  });
  it('refuse operators and expansions with a fix', () => {
    const r = splitCommandLine('make && make install');
    assert.ok('problem' in r && /shell operator "&&"/.test(r.problem) && r.fix.includes("sh -c 'make && make install'"));
    assert.ok('problem' in splitCommandLine('echo $HOME'));
    assert.ok('problem' in splitCommandLine('echo "unterminated'));
  });
});
