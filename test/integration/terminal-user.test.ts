// A terminal session (via a real pty) and privilege dropping (in a private mount namespace with test user files).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, describe, it } from 'node:test';
import { fixture, killAll, shellCode, start, tendBin } from '../helpers/tend.js';

afterEach(killAll);
const T = { timeout: 20_000 };

describe('tend run in a terminal', () => {
  it('makes the child the foreground group: ^C reaches it, ^Z stops it but not tend', T, async () => {
    const t = start(['python3', fixture('pty-session.py'), tendBin]);
    const exit = await t.exited(15_000);
    assert.equal(shellCode(exit), 0, t.stdout() + t.stderr());
    assert.match(t.stdout(), /ok: the child is the foreground process group/);
    assert.match(t.stdout(), /ok: \^C reached the child/);
    assert.match(t.stdout(), /ok: \^Z stopped the child/);
    assert.match(t.stdout(), /ok: tend was not stopped/);
    // The stopped child got TERM and CONT from the stop sequence, so it could die of the TERM.
    assert.match(t.stdout(), /ok: tend exited with 143/);
  });
});

describe('tend run --user', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tend-users-'));
  writeFileSync(join(dir, 'passwd'), 'root:x:0:0:root:/root:/bin/sh\nalice:x:4242:4242:Alice:/home/alice:/bin/sh\n');
  writeFileSync(join(dir, 'group'), 'root:x:0:\nalice:x:4242:\ndevs:x:5000:alice\nops:x:5001:bob,alice\nother:x:5002:bob\n');
  // The user database is replaced inside a private mount namespace only; the machine's files are untouched.
  const inUserNs = (args: string[]) => start(['unshare', '-m', '--', 'sh', '-c',
    `mount --bind ${dir}/passwd /etc/passwd && mount --bind ${dir}/group /etc/group && exec "$0" "$@"`, tendBin, ...args]);

  it('runs as the named user with its supplementary groups and HOME', T, async () => {
    const t = inUserNs(['run', '--user', 'alice', '--', 'sh', '-c', 'id; echo "HOME=$HOME"']);
    assert.equal(shellCode(await t.exited()), 0, t.stderr());
    assert.match(t.stdout(), /^uid=4242\(alice\) gid=4242\(alice\) groups=4242\(alice\),5000\(devs\),5001\(ops\)$/m);
    assert.match(t.stdout(), /^HOME=\/home\/alice$/m);
  });
  it('takes an explicit group, and numeric ids without a passwd entry', T, async () => {
    const a = inUserNs(['run', '--user', 'alice:devs', '--', 'id', '-g']);
    assert.equal(shellCode(await a.exited()), 0, a.stderr());
    assert.equal(a.stdout().trim(), '5000');
    const n = inUserNs(['run', '--user', '7777:7778', '--', 'id']);
    assert.equal(shellCode(await n.exited()), 0, n.stderr());
    assert.match(n.stdout(), /^uid=7777 gid=7778 groups=7778$/m);
  });
  it('rejects an unknown user or group with exit 64', T, async () => {
    const u = inUserNs(['run', '--user', 'mallory', '--', 'true']);
    assert.equal(shellCode(await u.exited()), 64);
    assert.match(u.stderr(), /--user "mallory": no user named "mallory"/);
    const g = inUserNs(['run', '--user', 'alice:nogroup-x', '--', 'true']);
    assert.equal(shellCode(await g.exited()), 64);
    assert.match(g.stderr(), /no group named "nogroup-x"/);
  });
  after(() => { rmSync(dir, { recursive: true }); });
});
