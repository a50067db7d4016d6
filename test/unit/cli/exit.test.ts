// How tend ends: at once (_exit) when nothing waits for Node's own exit, else through process.exit.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { needsNodeExit } from '../../../src/cli/main.js';

describe('needsNodeExit', () => {
  it('is false for a run with no exit listener, no Node flag, no NODE_OPTIONS and no coverage', () => {
    assert.equal(needsNodeExit(0, [], {}), false);
    assert.equal(needsNodeExit(0, [], { NODE_OPTIONS: '', NODE_V8_COVERAGE: '', PATH: '/bin' }), false);
    assert.equal(needsNodeExit(0, ['--preserve-symlinks-main'], {}), false, "the launcher's own option writes nothing at exit");
  });

  it('is true when anything may wait for Node\'s exit', () => {
    const cases: [number, string[], Record<string, string>][] = [
      [1, [], {}], // the code cache entry a first run writes
      [0, ['--cpu-prof'], {}],
      [0, ['--preserve-symlinks-main', '--cpu-prof'], {}],
      [0, [], { NODE_OPTIONS: '--require ./hook.js' }],
      [0, [], { NODE_V8_COVERAGE: '/tmp/coverage' }],
    ];
    for (const [listeners, execArgv, env] of cases) assert.equal(needsNodeExit(listeners, execArgv, env), true, JSON.stringify([listeners, execArgv, env]));
  });
});
