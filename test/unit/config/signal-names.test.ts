// Signal names: the forms users write (names, short names, numbers, real-time offsets) and the numbers they mean.
import assert from 'node:assert/strict';
import { constants } from 'node:os';
import { describe, it } from 'node:test';
import { linuxSignals, parseSignal, signalFromNumber, signalNumber, type SignalName } from '../../../src/config/signal-names.js';
import { parseStopSpec } from '../../../src/config/run-config.js';
import { describeStatus } from '../../../src/os/exit-status.js';
import { parseInheritedSignals } from '../../../src/os/inherited-signals.js';
import { LINUX_CAUGHT_SIGNALS } from '../../../src/os/signal-capture.js';
import { CAUGHT_SIGNALS } from '../../../src/os/signals.js';

describe('the signal table', () => {
  it('is the one Node reads from this machine (tend writes it out to keep node:os out of its start-up)', (t) => {
    if (process.arch.startsWith('mips')) { t.skip('MIPS numbers its signals differently; there tend reads them from node:os'); return; }
    assert.deepEqual(linuxSignals(), { ...constants.signals });
  });
  it('lists the caught signals by number as os/signals.ts lists them by name (the loader installs them by number)', () => {
    assert.deepEqual([...LINUX_CAUGHT_SIGNALS], CAUGHT_SIGNALS.map((name) => linuxSignals()[name]));
    for (const left of ['SIGKILL', 'SIGSTOP', 'SIGCHLD', 'SIGSEGV', 'SIGBUS', 'SIGFPE', 'SIGILL', 'SIGABRT', 'SIGTRAP', 'SIGSYS', 'SIGTTIN', 'SIGTTOU']) {
      assert.ok(!LINUX_CAUGHT_SIGNALS.includes(linuxSignals()[left] ?? 0), left);
    }
  });
  it('names the signal a process died of, real-time ones included', () => {
    assert.equal(describeStatus({ code: null, signal: 15 }), 'signal SIGTERM (15)');
    assert.equal(describeStatus({ code: null, signal: 6 }), 'signal SIGABRT (6)');
    assert.equal(describeStatus({ code: null, signal: 37 }), 'signal SIGRTMIN+3 (37)');
    assert.equal(describeStatus({ code: 3, signal: null }), 'exit code 3');
  });
});

describe('parseSignal', () => {
  const rows: [string, SignalName | null][] = [
    ['TERM', 'SIGTERM'], ['sigterm', 'SIGTERM'], [' 15 ', 'SIGTERM'], ['9', 'SIGKILL'],
    ['RTMIN', 'SIGRTMIN'], ['SIGRTMIN', 'SIGRTMIN'], ['RTMIN+0', 'SIGRTMIN'], ['34', 'SIGRTMIN'],
    ['RTMIN+3', 'SIGRTMIN+3'], ['SIGRTMIN+3', 'SIGRTMIN+3'], ['sigrtmin+3', 'SIGRTMIN+3'], ['37', 'SIGRTMIN+3'],
    ['RTMAX', 'SIGRTMIN+30'], ['SIGRTMAX-1', 'SIGRTMIN+29'], ['RTMAX-30', 'SIGRTMIN'], ['64', 'SIGRTMIN+30'],
    ['RTMIN+30', 'SIGRTMIN+30'],
    ['RTMIN+31', null], ['RTMIN-1', null], ['RTMAX+1', null], ['RTMAX-31', null], ['RTMIN+', null], ['RTMIN+100', null],
    ['32', null], ['33', null], ['65', null], ['0', null], ['NOPE', null], ['', null],
  ];
  for (const [text, expected] of rows) {
    it(`${JSON.stringify(text)} → ${String(expected)}`, () => { assert.equal(parseSignal(text), expected); });
  }
});

describe('signalNumber and signalFromNumber', () => {
  it('round-trip every signal from 1 to 64 that has a name', () => {
    for (let signo = 1; signo <= 64; signo++) {
      const name = signalFromNumber(signo);
      if (signo === 32 || signo === 33) {
        assert.equal(name, null, `${signo} is reserved by libc`);
        continue;
      }
      assert.notEqual(name, null, `signal ${signo} has a name`);
      assert.equal(signalNumber(name!), signo, `${name} ↔ ${signo}`);
    }
  });

  it('rejects real-time names outside the range', () => {
    assert.throws(() => signalNumber('SIGRTMIN+31'), /unknown signal SIGRTMIN\+31/);
    assert.throws(() => signalNumber('SIGRTMIN+x' as SignalName), /unknown signal/);
  });

  it('a real-time signal can be a --stop stage (a STOPSIGNAL like SIGRTMIN+3)', () => {
    assert.deepEqual(parseStopSpec('RTMIN+3:5s,TERM:5s'), [
      { signal: 'SIGRTMIN+3', timeoutMs: 5_000 },
      { signal: 'SIGTERM', timeoutMs: 5_000 },
    ]);
  });
});

describe('parseInheritedSignals (the launcher record)', () => {
  it('reads both lists, either of which may be empty', () => {
    assert.deepEqual(parseInheritedSignals('ignore=1,13;block=10'), { ignored: [1, 13], blocked: [10] });
    assert.deepEqual(parseInheritedSignals('ignore=;block='), { ignored: [], blocked: [] });
    assert.deepEqual(parseInheritedSignals('ignore=;block=10,37,64'), { ignored: [], blocked: [10, 37, 64] });
    assert.deepEqual(parseInheritedSignals('ignore=013;block=1'), { ignored: [13], blocked: [1] });
  });

  it('treats an absent or malformed record as none', () => {
    const malformed = ['ignore=1', 'ignore=1;block=x', 'ignore=0;block=', 'ignore=65;block=', 'ignore=1,,2;block=', 'block=1;ignore=2',
      'ignore=1,;block=', 'ignore=,1;block=', 'ignore=1;block=2;x', 'ignore= 1;block=', 'ignore=1;block=2,a', 'xignore=1;block=', 'ignore=1;block=-2',
      'ignore=1.5;block=', 'ignore=1e1;block='];
    for (const text of [undefined, '', ...malformed]) {
      assert.equal(parseInheritedSignals(text), null, String(text));
    }
  });
});
