// Resource limits as the kernel reports them in /proc/PID/limits for every process tend starts.
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { killAll, shellCode, start, startTend, tendBin } from '../helpers/tend.js';

afterEach(killAll);
const T = { timeout: 20_000 };

function limitLine(text: string, name: string): [string, string] {
  const line = text.split('\n').find((l) => l.startsWith(name));
  assert.ok(line !== undefined, `${name} in ${text}`);
  const cols = line.slice(name.length).trim().split(/\s+/);
  return [cols[0] ?? '', cols[1] ?? ''];
}

describe('tend run --limit', () => {
  it('applies limits to the command and to every step', T, async () => {
    const t = startTend(['run', '--limit', 'nofile=1234:2345', '--limit', 'core=0', '--limit', 'stack=unlimited',
      '--before', 'cat /proc/self/limits', '--', 'cat', '/proc/self/limits']);
    assert.equal(shellCode(await t.exited()), 0);
    const [step, main] = t.stdout().split(/(?=^Limit\s+Soft Limit)/m);
    for (const text of [step, main]) {
      assert.deepEqual(limitLine(text ?? '', 'Max open files'), ['1234', '2345']);
      assert.deepEqual(limitLine(text ?? '', 'Max core file size'), ['0', '0']);
      assert.deepEqual(limitLine(text ?? '', 'Max stack size'), ['unlimited', 'unlimited']);
    }
  });

  it('without --limit, the child gets the limits tend was started with, not Node\'s raised soft limit', T, async () => {
    // The test shell lowers its soft limit first; Node inside tend raises its own to the hard limit at start-up.
    const t = start(['sh', '-c', `ulimit -Sn 1111 && exec ${tendBin} run -- cat /proc/self/limits`]);
    assert.equal(shellCode(await t.exited()), 0);
    const [soft] = limitLine(t.stdout(), 'Max open files');
    assert.equal(soft, '1111');
  });

  it('reports a limit the kernel refuses, naming it', T, async () => {
    const t = startTend(['run', '--limit', 'nofile=99999999999', '--', 'true']);
    assert.equal(shellCode(await t.exited()), 71);
    assert.match(t.stderr(), /unable to apply --limit nofile: EPERM/);
    assert.deepEqual(t.eventsOf('spawn-failed').map((e) => e.code), [71]);
  });
});
