// Contract tests for the signal side of native spawn: the child starts with exactly the ignored signals and mask it
// is given (what exec would have passed on), the launcher records them before Node resets them, and a child with
// parentDeathSignal dies with its parent, including when the parent died before the child could ask.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn as spawnNode } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as native from '../../src/os/native.js';
import type { SpawnRequest } from '../../src/os/native.js';
import { fixture, procStat, until } from '../helpers/tend.js';
import { ChildReaper } from './child-reaper.js';

const T = { timeout: 20_000 };
const PATH = process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin';
const root = fileURLToPath(new URL('../../../', import.meta.url));
const launcher = path.join(root, 'build/Release/tend-launcher');
const nativeUrl = new URL('../../src/os/native.js', import.meta.url).href;
const isRoot = process.getuid?.() === 0;

const reaper = new ChildReaper();
let tmp = '';
let devnull = -1;
let seq = 0;

before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tend-spawn-signals-'));
  devnull = fs.openSync('/dev/null', 'r+');
  reaper.start();
});

after(() => {
  reaper.stop();
  fs.closeSync(devnull);
  fs.rmSync(tmp, { recursive: true, force: true });
});

function request(over: Partial<SpawnRequest> & Pick<SpawnRequest, 'file' | 'args'>): SpawnRequest {
  return {
    env: [`PATH=${PATH}`], searchPath: PATH, cwd: null, newProcessGroup: false, foregroundTty: -1,
    rlimits: [], uid: -1, gid: -1, groups: null, fds: [devnull, 1, 2], ...over,
  };
}

/** Runs a request to completion with stdout captured; returns stdout after checking a zero exit. */
async function output(over: Partial<SpawnRequest> & Pick<SpawnRequest, 'file' | 'args'>): Promise<string> {
  const outPath = path.join(tmp, `out-${++seq}`);
  const out = fs.openSync(outPath, 'w');
  let pid: number;
  try {
    pid = native.spawn(request({ fds: [devnull, out, 2], ...over }));
  } finally {
    fs.closeSync(out);
  }
  const exit = await reaper.exit(pid);
  assert.equal(exit.code, 0);
  return fs.readFileSync(outPath, 'utf8');
}

/** The SigIgn and SigBlk masks (hex, as /proc prints them) of `grep` started with the request's signal fields. */
async function childMasks(over: Partial<SpawnRequest>): Promise<{ SigIgn: string; SigBlk: string }> {
  const text = await output({ file: 'grep', args: ['grep', '-E', '^Sig(Ign|Blk):', '/proc/self/status'], ...over });
  const fields = Object.fromEntries(text.trim().split('\n').map((l) => l.split(':\t') as [string, string]));
  return { SigIgn: fields['SigIgn'] ?? '?', SigBlk: fields['SigBlk'] ?? '?' };
}

const mask = (...signals: number[]): string => signals.reduce((m, s) => m | (1n << BigInt(s - 1)), 0n).toString(16).padStart(16, '0');

/** True once pid is gone or a zombie (dead, waiting for whoever adopted it to reap it). */
const dead = (pid: number): boolean => { const st = procStat(pid); return st === null || st.state === 'Z'; };

describe('spawn: the signal state exec would pass on', () => {
  test('ignoredSignals stay ignored and blockedSignals are the mask, exactly; everything else is reset', T, async () => {
    native.ignoreSignal(21); // tend's own SIG_IGN of SIGTTIN must not leak; Node's SIGPIPE/SIGXFSZ neither
    assert.deepEqual(await childMasks({ ignoredSignals: [1, 37], blockedSignals: [10, 40] }), { SigIgn: mask(1, 37), SigBlk: mask(10, 40) });
    assert.deepEqual(await childMasks({ ignoredSignals: [], blockedSignals: [] }), { SigIgn: mask(), SigBlk: mask() });
    assert.deepEqual(await childMasks({}), { SigIgn: mask(), SigBlk: mask() }, 'absent fields mean none');
  });

  test('the facade rejects signal numbers outside 1..64', () => {
    assert.throws(() => native.spawn(request({ file: 'true', args: ['true'], ignoredSignals: [0] })), /ignoredSignals\[0\] must be an integer in \[1, 64\]/);
    assert.throws(() => native.spawn(request({ file: 'true', args: ['true'], blockedSignals: [65] })), /blockedSignals\[0\]/);
    assert.throws(() => native.spawn(request({ file: 'true', args: ['true'], parentDeathSignal: -1 })), /parentDeathSignal must be an integer in \[0, 64\]/);
  });

  test('tend-launcher records what it was started with in TEND_INHERITED_SIGNALS, before Node resets it', T, async () => {
    const script = `process.stdout.write(process.env.TEND_INHERITED_SIGNALS + '\\n' + require('fs').readFileSync('/proc/self/status', 'utf8').match(/^SigIgn:\\t(\\w+)/m)[1])`;
    const env = [`PATH=${PATH}`, `TEND_NODE=${process.execPath}`];
    const started = await output({ file: launcher, args: ['tend-launcher', '-e', script], env, ignoredSignals: [1, 37], blockedSignals: [10, 40, 64] });
    const [record, nodeIgnores] = started.split('\n');
    assert.equal(record, 'ignore=1,37;block=10,40,64');
    assert.equal(BigInt(`0x${nodeIgnores ?? ''}`) & 1n, 0n, 'Node un-ignored SIGHUP at start-up: hence the record');
    assert.equal((await output({ file: launcher, args: ['tend-launcher', '-e', script], env })).split('\n')[0], 'ignore=;block=');
  });
});

/** A tend-like parent: node spawning children with the addon, printing their pids; SIGKILLed by the test. */
function startParent(children: Partial<SpawnRequest>[]): { pids: Promise<number[]>; kill(): Promise<void> } {
  const script = `
    import { spawn } from ${JSON.stringify(nativeUrl)};
    const base = { file: 'sleep', args: ['sleep', '60'], env: [], searchPath: ${JSON.stringify(PATH)}, cwd: null,
      newProcessGroup: true, foregroundTty: -1, rlimits: [], uid: -1, gid: -1, groups: null, fds: [0, 1, 2] };
    const pids = ${JSON.stringify(children)}.map((over) => spawn({ ...base, ...over }));
    process.stdout.write(JSON.stringify(pids) + '\\n');
    setInterval(() => undefined, 1 << 30);
  `;
  const parent = spawnNode(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) => { parent.on('exit', () => { resolve(); }); });
  const pids = new Promise<number[]>((resolve, reject) => {
    let text = '';
    parent.stdout.on('data', (d: Buffer) => {
      text += d.toString();
      if (text.includes('\n')) resolve(JSON.parse(text) as number[]);
    });
    parent.on('exit', (code) => { reject(new Error(`parent exited ${code} before printing pids`)); });
  });
  return { pids, kill: async () => { parent.kill('SIGKILL'); await exited; } };
}

describe('spawn: parentDeathSignal', () => {
  test('a SIGKILLed parent leaves no child alive within 1 s; without parentDeathSignal the child lives on', T, async (t) => {
    const children: Partial<SpawnRequest>[] = [
      { parentDeathSignal: 9 },
      { parentDeathSignal: 15 },
      { parentDeathSignal: 0 }, // control: shows the orphan would otherwise survive
      // The identity change clears PR_SET_PDEATHSIG, so it must be set after setuid: checked when we can switch.
      ...(isRoot ? [{ parentDeathSignal: 9, uid: 65534, gid: 65534, groups: [] }] : []),
    ];
    if (!isRoot) t.diagnostic('not root: the case of a child started as another user is skipped');
    const parent = startParent(children);
    const pids = await parent.pids;
    const [control, ...guarded] = [pids[2]!, pids[0]!, pids[1]!, ...pids.slice(3)];
    try {
      for (const pid of pids) assert.ok(!dead(pid), `child ${pid} runs while the parent lives`);
      await parent.kill();
      await until(() => guarded.every(dead), 1000, `children ${guarded.join(', ')} died within 1 s of their parent`);
      assert.ok(!dead(control), 'the child without parentDeathSignal outlived its parent');
    } finally {
      for (const pid of pids) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
    }
  });

  // ptrace stops the forked child before it runs, the parent is SIGKILLed, then the child is let go: prctl comes too
  // late to ever fire, so only the getppid() check stands between the child and an unsupervised exec.
  const race = (deathSignal: number): Promise<string> => new Promise((resolve, reject) => {
    const script = `
      import { spawn } from ${JSON.stringify(nativeUrl)};
      spawn({ file: 'sleep', args: ['sleep', '30'], env: [], searchPath: ${JSON.stringify(PATH)}, cwd: null,
        newProcessGroup: true, foregroundTty: -1, rlimits: [], uid: -1, gid: -1, groups: null, fds: [0, 1, 2],
        parentDeathSignal: ${deathSignal} });
    `;
    execFile('python3', [fixture('pdeathsig-race.py'), process.execPath, '--input-type=module', '-e', script], { timeout: 15_000 }, (error, stdout, stderr) => {
      if (error !== null) reject(new Error(`${error.message}\n${stderr}`));
      else resolve(stdout.trim());
    });
  });

  test('a parent that dies between fork and prctl: the child delivers the death signal to itself and never execs', T, async () => {
    assert.equal(await race(9), 'child killed by 9');
    assert.equal(await race(15), 'child killed by 15');
    assert.equal(await race(0), "child exec'd", 'control: without parentDeathSignal the orphan runs its command');
  });
});
