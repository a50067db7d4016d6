// What `tend run` costs at start-up, held close to Node's own floor: no heavy built-in loaded that the run does not
// use, peak memory within a bound of a bare `node`, the stdio streams created only when written, and Node's
// compile cache on where it exists, without ever failing when its directory is unusable.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { killAll, shellCode, start, startTend, tendBin } from '../helpers/tend.js';

afterEach(killAll);
const T = { timeout: 30_000 };
// The Node that bin/tend's launcher runs (TEND_NODE, as in scripts/test-node-versions.sh), so the floor is the same Node.
const nodeBin = process.env['TEND_NODE'] ?? 'node';

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'tend-startup-'));
}

// VmHWM (peak resident set, kB) of a live process.
function peakKb(pid: number): number {
  const match = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (match === null) throw new Error(`no VmHWM for ${pid}`);
  return Number(match[1]);
}

describe('tend run start-up', () => {
  it('loads none of the heavy built-ins a plain run does not use, nor the ES module loader', T, async () => {
    const dir = tempDir();
    try {
      // A --require hook (via NODE_OPTIONS, which the launcher passes on to Node) records what Node loaded by exit.
      const hook = join(dir, 'hook.cjs');
      writeFileSync(hook, "process.on('exit', () => require('fs').writeFileSync(process.env.MODULES_OUT, process.moduleLoadList.join('\\n')));\n");
      const loadedBy = async (argv: string[], name: string): Promise<Set<string>> => {
        const out = join(dir, name);
        const run = start(argv, { env: { ...process.env, NODE_OPTIONS: `--require ${hook}`, MODULES_OUT: out } });
        assert.equal(shellCode(await run.exited()), 0, run.stderr());
        return new Set(readFileSync(out, 'utf8').split('\n'));
      };
      const bare = await loadedBy([nodeBin, '-e', '0'], 'node.txt');
      const tend = await loadedBy([tendBin, 'run', '--', 'true'], 'tend.txt');
      assert.ok(tend.has('NativeModule fs'), 'the hook saw the module list');
      const heavy = ['net', 'http', 'child_process', 'tty', 'dgram', 'stream', 'internal/modules/esm/module_job'];
      const extra = heavy.filter((m) => tend.has(`NativeModule ${m}`) && !bare.has(`NativeModule ${m}`));
      assert.deepEqual(extra, [], 'loaded at start-up although unused (and not loaded by node -e 0)');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('peaks within 1.15x the memory of a bare node (the benchmark holds it to 1.1x)', T, async () => {
    // Both report "up" with a synchronous write (no stream) and stay alive; VmHWM is read once they did.
    const node = start([nodeBin, '-e', "require('fs').writeSync(1, 'up\\n'); setInterval(() => {}, 1000)"]);
    await node.waitFor(/up/);
    const nodeKb = peakKb(node.pid);
    const tend = startTend(['run', '--', 'sh', '-c', 'echo up; exec sleep 30']);
    await tend.waitFor(/up/);
    const tendKb = peakKb(tend.pid);
    assert.ok(tendKb <= nodeKb * 1.15, `tend peaked at ${tendKb} kB, node at ${nodeKb} kB (${(tendKb / nodeKb).toFixed(2)}x)`);
    tend.child.kill('SIGTERM');
    assert.equal(shellCode(await tend.exited()), 143);
  });

  it('survives writing -v lines to a stderr whose reader is gone', T, async () => {
    const t = startTend(['run', '-v', '--', 'sh', '-c', 'sleep 0.3; exit 5']);
    // Close our end at once: every line tend writes then fails with EPIPE.
    t.child.stderr?.destroy();
    assert.equal(shellCode(await t.exited()), 5);
  });
});

describe("Node's compile cache", () => {
  const probe = spawnSync(nodeBin, ['-p', "typeof require('node:module').enableCompileCache"], { encoding: 'utf8' });
  const hasCache = probe.stdout.trim() === 'function';

  it('is kept in $HOME/.cache/tend, private to the user, where Node has one', T, async (t) => {
    if (!hasCache) { t.skip(`${nodeBin} ${process.version} has no module.enableCompileCache (Node 22.8+)`); return; }
    const home = tempDir();
    try {
      for (let i = 0; i < 2; i++) {
        const run = startTend(['run', '--', 'true'], { env: { ...process.env, HOME: home, XDG_CACHE_HOME: undefined, NODE_DISABLE_COMPILE_CACHE: undefined } });
        assert.equal(shellCode(await run.exited()), 0, run.stderr());
      }
      const dir = join(home, '.cache', 'tend');
      assert.equal(statSync(dir).mode & 0o777, 0o700);
      const entries = readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
      assert.ok(entries.length > 0, 'the cache holds compiled code');
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  it('never stops tend from starting when the cache directory cannot be made', T, async () => {
    const dir = tempDir();
    try {
      const file = join(dir, 'a-file');
      writeFileSync(file, '');
      // Under /proc Node's own recursive mkdir never returns; a file cannot hold a directory; "" is no home at all.
      for (const home of ['/proc/self/no-such-dir', file, '']) {
        const run = startTend(['run', '--', 'sh', '-c', 'exit 4'], { env: { ...process.env, HOME: home, XDG_CACHE_HOME: undefined } });
        assert.equal(shellCode(await run.exited(10_000)), 4, `HOME=${home}: ${run.stderr()}`);
        assert.equal(run.stderr(), '', `HOME=${home}`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
