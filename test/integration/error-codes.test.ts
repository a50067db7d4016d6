// Every TEND_ERR_* code in src/errors.ts is reachable from the CLI, with its documented exit code and a one-line
// message (never a stack trace). The table below must name every code: the first test fails if one is added without
// a way to reach it.
import assert from 'node:assert/strict';
import { chmodSync, cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { exitCodeOf, type TendErrorCode } from '../../src/errors.js';
import { fixture, killAll, repoRoot, shellCode, start, startTend, tendBin } from '../helpers/tend.js';

let dir = '';
let held: Server | null = null;
let heldPort = 0;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tend-codes-'));
  held = createServer();
  await new Promise<void>((resolve) => { held?.listen(0, '127.0.0.1', resolve); });
  const address = held.address();
  heldPort = typeof address === 'object' && address !== null ? address.port : 0;
});
after(() => {
  killAll();
  held?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** How to reach each code: the argv of one tend run, or a function for the codes that need more set-up. */
const reach: Record<TendErrorCode, () => Promise<{ code: number; stderr: string }>> = {
  TEND_ERR_USAGE: () => run(['run', '--stop', 'TERM:10', '--', 'true']),
  TEND_ERR_SPAWN_NOT_FOUND: () => run(['run', '--', 'no-such-command-xyz']),
  TEND_ERR_SPAWN_NOT_EXECUTABLE: () => {
    const file = join(dir, 'not-executable.sh');
    writeFileSync(file, '#!/bin/sh\nexit 0\n');
    chmodSync(file, 0o644);
    return run(['run', '--', file]);
  },
  TEND_ERR_SPAWN_SETUP: () => {
    const config = join(dir, 'setup.yaml');
    writeFileSync(config, `command: "true"\ncwd: ${join(dir, 'no-such-directory')}\n`);
    return run(['run', '--config', config]);
  },
  TEND_ERR_CONFIG: () => run(['run', '--config', join(dir, 'missing.yaml')]),
  TEND_ERR_LISTEN: () => run(['run', '--workers', '1', '--listen', `tcp://127.0.0.1:${heldPort}`, '--', 'true']),
  TEND_ERR_GAVE_UP: () => run(['run', '--workers', '1', '--max-restarts', '1', '--restart-delay', '10ms', '--', 'false']),
  TEND_ERR_RELOAD_FAILED: async () => {
    const build = join(dir, 'build');
    const control = join(dir, 'reload.ctl');
    writeFileSync(build, 'good');
    const t = startTend(['run', '--workers', '1', '--listen', 'tcp://127.0.0.1:0', '--control', control, '--ready-timeout', '5s', '--', 'node', fixture('http-app.js')],
      { env: { ...process.env, BUILD_FILE: build } });
    await t.waitFor(/app \d+ listening/, 15_000);
    writeFileSync(build, 'crash');
    const result = await run(['reload', '--control', control]);
    t.child.kill('SIGTERM');
    await t.exited(15_000);
    return result;
  },
  TEND_ERR_CONTROL: () => run(['status', '--control', join(dir, 'nobody-listens.sock')]),
  TEND_ERR_CONTROL_DENIED: async () => {
    // A member of --control-group may read status but not change anything: nobody/nogroup asks for a reload.
    const control = join(dir, 'denied.ctl');
    chmodSync(dir, 0o755);
    const t = startTend(['run', '--workers', '1', '--control', control, '--control-group', 'nogroup', '--', 'sleep', '300']);
    await t.waitEvent((e) => e.type === 'service-ready', 15_000);
    const p = start(['setpriv', '--reuid', 'nobody', '--regid', 'nogroup', '--clear-groups', tendBin, 'reload', '--control', control]);
    const exit = await p.exited(15_000);
    t.child.kill('SIGTERM');
    await t.exited(15_000);
    return { code: shellCode(exit), stderr: p.stderr() };
  },
  TEND_ERR_NATIVE_MISSING: async () => {
    // The CLI without its native parts: a copy of the compiled code with no build/ and no prebuilds/ beside it.
    const copy = join(dir, 'no-native');
    cpSync(join(repoRoot, 'dist', 'src'), join(copy, 'dist', 'src'), { recursive: true });
    cpSync(join(repoRoot, 'package.json'), join(copy, 'package.json'));
    cpSync(join(repoRoot, 'node_modules'), join(copy, 'node_modules'), { recursive: true, dereference: false });
    const p = start([process.execPath, join(copy, 'dist', 'src', 'cli', 'entry.js'), 'run', '--', 'true']);
    const exit = await p.exited(15_000);
    return { code: shellCode(exit), stderr: p.stderr() };
  },
};

async function run(args: readonly string[]): Promise<{ code: number; stderr: string }> {
  const t = startTend(args);
  const exit = await t.exited(20_000);
  return { code: shellCode(exit), stderr: t.stderr() };
}

describe('every error code is reachable', { timeout: 120_000 }, () => {
  it('the table names every code in src/errors.ts', () => {
    assert.deepEqual(Object.keys(reach).sort(), Object.keys(exitCodeOf).sort());
  });
  for (const [code, how] of Object.entries(reach) as [TendErrorCode, () => Promise<{ code: number; stderr: string }>][]) {
    it(`${code} → exit ${exitCodeOf[code]}, one line, no stack trace`, async () => {
      const result = await how();
      assert.equal(result.code, exitCodeOf[code], result.stderr);
      const line = result.stderr.split('\n').find((l) => l.startsWith('tend: ') && !l.startsWith('tend: warn: removed a leftover'));
      assert.ok(line !== undefined, `a tend: line explains it:\n${result.stderr}`);
      assert.doesNotMatch(result.stderr, /\n\s+at .+\(.*:\d+:\d+\)/, 'no stack trace');
    });
  }
});


