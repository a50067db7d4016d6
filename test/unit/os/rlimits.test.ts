// The launcher's record of the limits tend was started with (TEND_INHERITED_RLIMITS), as tend reads it back.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseInheritedLimits } from '../../../src/os/rlimits.js';

describe('parseInheritedLimits', () => {
  it('reads RESOURCE=SOFT:HARD items, inf as unlimited', () => {
    assert.deepEqual(parseInheritedLimits('7=1024:524288,4=0:inf,3=8388608:inf'),
      new Map([[7, { soft: 1024, hard: 524288 }], [4, { soft: 0, hard: Infinity }], [3, { soft: 8388608, hard: Infinity }]]));
  });
  it('is null when the launcher did not run, and skips any item it did not write', () => {
    assert.equal(parseInheritedLimits(undefined), null);
    assert.equal(parseInheritedLimits(''), null);
    const bad = ['7', '7=', '7=1', '7=1:', '=1:2', 'inf=1:2', 'x=1:2', '7=-1:2', '7=1:2:3', '7=1.5:2', '7= 1:2', '7=0x10:2'];
    assert.deepEqual(parseInheritedLimits([...bad, '1=2:3'].join(',')), new Map([[1, { soft: 2, hard: 3 }]]));
  });
});
