// What `tend run` costs at start-up, held close to Node's own floor: no heavy built-in loaded that the run does not
// use, peak memory within a bound of a bare `node`, the stdio streams created only when written, and compiled code
// kept between runs, without ever failing when its directory is unusable.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
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
      // Each built-in costs start-up memory (64-250 kB of node's own pages), even small ones.
      const heavy = ['net', 'http', 'child_process', 'tty', 'dgram', 'stream', 'internal/modules/esm/module_job', 'os', 'diagnostics_channel',
        'string_decoder', 'internal/util/parse_args/parse_args', 'internal/abort_controller'].map((m) => `NativeModule ${m}`);
      // Node's errno table loads when an exception is built for a failed system call (an EEXIST, a kill of a gone pid).
      heavy.push('Internal Binding uv');
      const extra = heavy.filter((m) => tend.has(m) && !bare.has(m));
      assert.deepEqual(extra, [], 'loaded at start-up although unused (and not loaded by node -e 0)');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('stays near the peak memory of a bare node (a regression guard at 1.3x; the 1.1x target is measured by bench:pid1)', T, async () => {
    // Both report "up" with a synchronous write (no stream) and stay alive; VmHWM is read once they did.
    const node = start([nodeBin, '-e', "require('fs').writeSync(1, 'up\\n'); setInterval(() => {}, 1000)"]);
    await node.waitFor(/up/);
    const nodeKb = peakKb(node.pid);
    const tend = startTend(['run', '--', 'sh', '-c', 'echo up; exec sleep 30']);
    await tend.waitFor(/up/);
    const tendKb = peakKb(tend.pid);
    assert.ok(tendKb <= nodeKb * 1.3, `tend peaked at ${tendKb} kB, node at ${nodeKb} kB (${(tendKb / nodeKb).toFixed(2)}x)`);
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

describe('compiled code cache', () => {
  const probe = spawnSync(nodeBin, ['-p', "typeof require('node:module').enableCompileCache"], { encoding: 'utf8' });
  const nodeHasCompileCache = probe.stdout.trim() === 'function';
  const runIn = async (home: string, args: readonly string[] = ['run', '--', 'true']): Promise<void> => {
    const run = startTend(args, { env: { ...process.env, HOME: home, XDG_CACHE_HOME: undefined, NODE_DISABLE_COMPILE_CACHE: undefined } });
    assert.equal(shellCode(await run.exited()), 0, run.stderr());
    assert.equal(run.stderr(), '');
  };
  const entriesIn = (dir: string): string[] => readdirSync(dir).filter((n) => n.endsWith('.v8')).sort();

  it("keeps V8's code for the CLI in ~/.cache/tend (0700): written once, then used; stale or corrupt entries replaced", T, async () => {
    const home = tempDir();
    try {
      const dir = join(home, '.cache', 'tend');
      await runIn(home);
      assert.equal(statSync(dir).mode & 0o777, 0o700);
      const [entry, ...more] = entriesIn(dir);
      assert.ok(entry !== undefined && more.length === 0, `one entry: ${entriesIn(dir).join(', ')}`);
      const writtenAt = statSync(join(dir, entry)).mtimeMs;
      await runIn(home);
      assert.equal(statSync(join(dir, entry)).mtimeMs, writtenAt, 'a valid entry is used, not rewritten');
      // Same name (same build), wrong content: V8 rejects it, tend compiles from source and writes a good one, and
      // drops what an earlier build of this installation left, not what another installation keeps.
      const garbage = Buffer.alloc(statSync(join(dir, entry)).size, 7);
      writeFileSync(join(dir, entry), garbage);
      const installation = entry.split('-').slice(0, 2).join('-');
      const earlier = `${installation}-v0.0.0-x64-1-2-3.v8`;
      const other = 'main.cjs-00000000-v0.0.0-x64-1-2-3.v8';
      writeFileSync(join(dir, earlier), 'an earlier build');
      writeFileSync(join(dir, other), 'another installation');
      await runIn(home);
      assert.deepEqual(entriesIn(dir), [entry, other].sort());
      assert.ok(!readFileSync(join(dir, entry)).equals(garbage), 'the corrupt entry was replaced');
      const rewrittenAt = statSync(join(dir, entry)).mtimeMs;
      await runIn(home);
      assert.equal(statSync(join(dir, entry)).mtimeMs, rewrittenAt, 'and the replacement is used');
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  it('writes no entry from a run that stops on an error (a bad flag): the next run that gets through writes it whole', T, async () => {
    const home = tempDir();
    try {
      const dir = join(home, '.cache', 'tend');
      const bad = startTend(['run', '--no-such-flag', '--', 'true'], { env: { ...process.env, HOME: home, XDG_CACHE_HOME: undefined, NODE_DISABLE_COMPILE_CACHE: undefined } });
      assert.equal(shellCode(await bad.exited()), 64, bad.stderr());
      assert.deepEqual(existsSync(dir) ? readdirSync(dir).filter((n) => n.endsWith('.v8')) : [], [], 'a usage error wrote no entry');
      await runIn(home);
      const [entry, ...more] = entriesIn(dir);
      assert.ok(entry !== undefined && more.length === 0, `one entry: ${entriesIn(dir).join(', ')}`);
      // A full entry holds the supervisor's code: more than a run that only parsed its arguments would have compiled.
      const fresh = tempDir();
      try {
        await runIn(fresh, ['--version']);
        const [versionOnly] = entriesIn(join(fresh, '.cache', 'tend'));
        assert.ok(versionOnly !== undefined && statSync(join(dir, entry)).size > statSync(join(fresh, '.cache', 'tend', versionOnly)).size);
      } finally {
        rmSync(fresh, { recursive: true, force: true });
      }
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  it('keeps one entry per command word, so a first `tend --version` leaves `tend run` its own', T, async () => {
    const home = tempDir();
    try {
      const dir = join(home, '.cache', 'tend');
      await runIn(home, ['--version']);
      const [version, ...none] = entriesIn(dir);
      assert.ok(version !== undefined && none.length === 0 && version.includes('--v'), `one entry for --version: ${entriesIn(dir).join(', ')}`);
      await runIn(home);
      const run = entriesIn(dir).find((name) => name !== version);
      assert.ok(run?.includes('-run-v') === true && entriesIn(dir).length === 2, `and one for run: ${entriesIn(dir).join(', ')}`);
      assert.ok(statSync(join(dir, run)).size > statSync(join(dir, version)).size, 'the run entry holds the supervisor\'s code too');
      const writtenAt = statSync(join(dir, run)).mtimeMs;
      await runIn(home, ['--version']);
      await runIn(home);
      assert.equal(statSync(join(dir, run)).mtimeMs, writtenAt, 'each is used, not rewritten');
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  it("turns on Node's compile cache there too, for what loads later (zod and yaml for a config file)", T, async (t) => {
    if (!nodeHasCompileCache) { t.skip(`${nodeBin} has no module.enableCompileCache (Node 22.8+)`); return; }
    const home = tempDir();
    try {
      const config = join(home, 'tend.yaml');
      writeFileSync(config, 'command: [sh, -c, "exit 0"]\n');
      await runIn(home, ['run', '-c', config]);
      const dir = join(home, '.cache', 'tend');
      const nodeCache = readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory());
      assert.equal(nodeCache.length, 1, 'one directory per Node version');
      const files = readdirSync(join(dir, nodeCache[0]!.name), { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
      assert.ok(files.length > 0, "Node's compile cache holds compiled modules");
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
