// The README's flag table, `tend run --help` and docs/configuration.md must say what the flag table says.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'node:test';
import { flagSignature, readmeFlagTable, runUsage } from '../../../src/cli/usage.js';
import { runOptions } from '../../../src/cli/parse-args.js';
import { PM2_IGNORED, PM2_MAPPED } from '../../../src/config/ecosystem.js';
import { flagTable } from '../../../src/config/flags.js';
import { repoRoot } from '../../helpers/tend.js';

it('README.md carries the flag table as rendered from src/config/flags.ts', () => {
  const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
  const block = /<!-- flags:start[^\n]*-->\n([\s\S]*?)\n<!-- flags:end -->/.exec(readme)?.[1];
  assert.ok(block !== undefined, 'README.md has the flags markers');
  assert.equal(block, readmeFlagTable(), 'README flag table drifted from src/config/flags.ts: run npm run build && node scripts/render-flags.js');
});

it('tend run --help and the argv parser list every flag of the table, and nothing else', () => {
  const help = runUsage();
  const cli = flagTable().filter((f) => f.cli);
  for (const flag of cli) assert.ok(help.includes(`  ${flagSignature(flag)}`), `--help shows ${flagSignature(flag)}`);
  const shown = [...help.matchAll(/^ {2}(?:-\w, )?--([a-z-]+)/gm)].map((m) => m[1]);
  assert.deepEqual(shown.sort(), cli.map((f) => f.name).sort());
  assert.deepEqual(Object.keys(runOptions()).sort(), cli.map((f) => f.name).sort());
  for (const flag of flagTable().filter((f) => !f.cli)) assert.match(help, new RegExp(`\\b${flag.name}\\b`), `--help names the file key ${flag.name}`);
});

it('docs/configuration.md maps every PM2 key tend reads and names every one it ignores', () => {
  const doc = readFileSync(join(repoRoot, 'docs', 'configuration.md'), 'utf8');
  for (const key of [...PM2_MAPPED, ...Object.keys(PM2_IGNORED)]) assert.ok(doc.includes(`\`${key}\``), `docs/configuration.md names ${key}`);
  for (const flag of flagTable().filter((f) => !f.cli)) assert.ok(doc.includes(`| \`${flag.name}\` |`), `docs/configuration.md has a row for ${flag.name}`);
});
