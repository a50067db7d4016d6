// Lifetimes (src/runner/lifetime.ts): what owns the runner's timers, probes and samplers. Each cleanup runs once, in
// order, a release takes it back, a child ends with its parent, and a long-lived parent keeps no cleanup per child
// it ever made (a service's lifetime outlives thousands of crash-loop restarts).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Lifetime } from '../../../src/runner/lifetime.js';

describe('Lifetime', () => {
  it('runs each cleanup once, in registration order, and drops them', () => {
    const lifetime = new Lifetime();
    const ran: string[] = [];
    lifetime.onEnd(() => ran.push('a'));
    lifetime.onEnd(() => ran.push('b'));
    const same = (): void => { ran.push('c'); };
    lifetime.onEnd(same);
    lifetime.onEnd(same);
    assert.equal(lifetime.ended, false);
    assert.equal(lifetime.pending, 4);
    lifetime.end();
    assert.equal(lifetime.ended, true);
    assert.equal(lifetime.pending, 0);
    lifetime.end();
    assert.deepEqual(ran, ['a', 'b', 'c', 'c']);
  });

  it('runs nothing that was released, and a release is idempotent', () => {
    const lifetime = new Lifetime();
    const ran: string[] = [];
    const releaseA = lifetime.onEnd(() => ran.push('a'));
    lifetime.onEnd(() => ran.push('b'));
    releaseA();
    releaseA();
    assert.equal(lifetime.pending, 1);
    lifetime.end();
    releaseA();
    assert.deepEqual(ran, ['b']);
  });

  it('does not run a cleanup released by an earlier one during the end', () => {
    const lifetime = new Lifetime();
    const ran: string[] = [];
    let releaseB: () => void = () => undefined;
    lifetime.onEnd(() => { ran.push('a'); releaseB(); });
    releaseB = lifetime.onEnd(() => ran.push('b'));
    lifetime.end();
    assert.deepEqual(ran, ['a']);
  });

  it('registers nothing on an ended lifetime, also from inside its end', () => {
    const lifetime = new Lifetime();
    let late = 0;
    lifetime.onEnd(() => { lifetime.onEnd(() => { late++; }); });
    lifetime.end();
    const release = lifetime.onEnd(() => { late++; });
    assert.equal(lifetime.pending, 0);
    release();
    lifetime.end();
    assert.equal(late, 0);
  });

  it('runs every cleanup when one throws, then rethrows the first error', () => {
    const lifetime = new Lifetime();
    const ran: string[] = [];
    const first = new Error('first');
    lifetime.onEnd(() => { ran.push('a'); throw first; });
    lifetime.onEnd(() => { ran.push('b'); throw new Error('second'); });
    lifetime.onEnd(() => ran.push('c'));
    assert.throws(() => { lifetime.end(); }, (e) => e === first);
    assert.deepEqual(ran, ['a', 'b', 'c']);
    assert.equal(lifetime.ended, true);
    lifetime.end();
  });

  it('ends a child with its parent, and the child ends alone without ending the parent', () => {
    const parent = new Lifetime();
    const ran: string[] = [];
    const a = parent.child();
    const b = parent.child();
    a.onEnd(() => ran.push('a'));
    b.onEnd(() => ran.push('b'));
    const grandchild = a.child();
    grandchild.onEnd(() => ran.push('a.1'));
    b.end();
    assert.deepEqual(ran, ['b']);
    assert.equal(parent.ended, false);
    assert.equal(a.ended, false);
    parent.end();
    assert.deepEqual(ran, ['b', 'a', 'a.1']);
    assert.equal(a.ended, true);
    assert.equal(grandchild.ended, true);
  });

  it('makes an ended child of an ended parent', () => {
    const parent = new Lifetime();
    parent.end();
    const child = parent.child();
    assert.equal(child.ended, true);
    assert.equal(parent.pending, 0);
  });

  it('keeps no cleanup on the parent for a child that ended (1000 create/end cycles)', () => {
    const parent = new Lifetime();
    const kept = parent.child();
    for (let i = 0; i < 1000; i++) {
      const child = parent.child();
      child.onEnd(() => undefined);
      child.end();
    }
    assert.equal(parent.pending, 1, 'only the child still alive is registered');
    parent.end();
    assert.equal(kept.ended, true);
  });
});
