// docs/errors.md and src/errors.ts must list the same codes with the same exit codes.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'node:test';
import { ExitCode, exitCodeOf } from '../../src/errors.js';
import { repoRoot } from '../helpers/tend.js';

it('docs/errors.md lists every error code with its exit code, and nothing else', () => {
  const doc = readFileSync(join(repoRoot, 'docs', 'errors.md'), 'utf8');
  const documented = new Map([...doc.matchAll(/^\| `(TEND_ERR_\w+)` \| (\d+) \|/gm)].map((m) => [m[1], Number(m[2])]));
  assert.deepEqual(Object.fromEntries(documented), { ...exitCodeOf });
  for (const code of Object.values(ExitCode)) {
    assert.match(doc, new RegExp(`^\\| ${code} \\|`, 'm'), `exit code ${code} is documented`);
  }
});
