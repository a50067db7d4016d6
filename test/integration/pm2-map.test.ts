// docs/pm2.md maps every everyday PM2 command to tend: test/pm2-map runs each mapped tend command against a real tend
// started from a PM2 ecosystem file. Run here so `npm test` keeps the page true.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { it } from 'node:test';
import { killAll, repoRoot, start } from '../helpers/tend.js';

it('every tend command docs/pm2.md maps does what the page says', { timeout: 120_000 }, async () => {
  const p = start(['bash', join(repoRoot, 'test', 'pm2-map')]);
  try {
    const exit = await p.exited(110_000);
    assert.equal(exit.code, 0, `${p.stdout()}\n${p.stderr()}`);
  } finally {
    killAll();
  }
});
