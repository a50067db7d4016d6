#!/usr/bin/env node
// Run every compiled test file (dist/test/**/*.test.js) with Node's test runner; extra args narrow the set
// by substring, e.g. `node scripts/run-tests.js pid1`.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const root = new URL('..', import.meta.url).pathname;
const filters = process.argv.slice(2);
const files = [];
const walk = (dir) => {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) walk(path);
    else if (entry.name.endsWith('.test.js')) files.push(path);
  }
};
walk(join(root, 'dist', 'test'));
// bin/tend runs dist/bundle/: rebuild it if tsc wrote something newer, so the tests never run a stale bundle.
const bundled = spawnSync(process.execPath, [join(root, 'scripts', 'bundle.js'), '--if-stale'], { stdio: 'inherit' });
if (bundled.status !== 0) process.exit(bundled.status ?? 1);
const selected = files.filter((f) => filters.length === 0 || filters.some((s) => f.includes(s))).sort();
if (selected.length === 0) {
  console.error(`no test files matched ${filters.join(' ')}`);
  process.exit(1);
}
const result = spawnSync(process.execPath, ['--test', '--test-reporter=spec', ...selected], { stdio: 'inherit' });
process.exit(result.status ?? 1);
