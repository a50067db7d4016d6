// The log subscriber prints through the logger's levels, and makes no line the logger would not print: without
// --verbose a run prints only its warnings and errors, and spends nothing on its info lines.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TendEvent } from '../../../src/core/events.js';
import { createLogger, type LogLevel } from '../../../src/log.js';
import { logView } from '../../../src/runner/log-view.js';

const spawned: TendEvent = { type: 'spawned', service: 'main', slot: 0, pid: 42, generation: 0, role: 'worker', step: 0 };
const failed: TendEvent = { type: 'spawn-failed', service: 'main', slot: 0, role: 'worker', code: 127, message: 'nope: not found' };

describe('log view', () => {
  it('asks the logger before making a line, and prints what it allows', () => {
    for (const verbose of [false, true]) {
      const printed: string[] = [];
      const asked: LogLevel[] = [];
      const log = createLogger({ verbose, debug: false, write: (line) => { printed.push(line); } });
      const sink = logView({ ...log, enabled: (level) => { asked.push(level); return log.enabled(level); } }, 'command');
      sink(spawned);
      sink(failed);
      assert.deepEqual(asked, ['info', 'error']);
      assert.equal(printed.length, verbose ? 2 : 1, printed.join(''));
    }
  });

  it('levels: warn and error always; info with --verbose or TEND_DEBUG; debug with TEND_DEBUG', () => {
    const levels: LogLevel[] = ['error', 'warn', 'info', 'debug'];
    const enabled = (verbose: boolean, debug: boolean): boolean[] => levels.map((l) => createLogger({ verbose, debug, write: () => undefined }).enabled(l));
    assert.deepEqual(enabled(false, false), [true, true, false, false]);
    assert.deepEqual(enabled(true, false), [true, true, true, false]);
    assert.deepEqual(enabled(false, true), [true, true, true, true]);
  });
});
