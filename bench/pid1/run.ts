// PID 1 benchmark: tend vs tini vs dumb-init, each as PID 1 of a new PID namespace (start-up also as a plain
// process), and tend against Node's own floor (`node -e 0`). Run as root:
//   npm run bench:pid1 [-- --quick] [--no-tend] [--no-wait] [--tend=PATH/bin/tend]
// tend runs as an npm install runs it (installedTend below), unless --tend names another build.
// Prints a markdown table on stdout, progress on stderr, and writes bench/results/pid1-<date>.json.
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { cpus, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Delay, type FloorCommand, measureEarlySignal, measureFloor, measureHandlerWindows, measureLatency, measureMemory, measureReap, measureStartup } from './measure.js';
import { cpuBusyFraction, killAllSessions } from './procs.js';
import { earlyTable, floorTable, markdownTable, summarizeAll, summarizeFloor, type Raw } from './report.js';
import { round, sleep } from './stats.js';
import { NODE_START_ENV } from '../common/node-env.js';
import { NONE, buildFixture, checkPrerequisites, DUMB_INIT, supervisors, tendProblem, TINI, versionOf } from './supervisors.js';

/** How many samples each metric takes. */
interface Plan {
  startupRuns: number;
  startupWarmup: number;
  memoryRuns: number;
  latencySignals: number;
  latencyWarmup: number;
  reapRuns: number;
  orphans: number;
  // spawn-relative delays (the grid the early-signal window is read from) and exec-relative ones (the C inits' window)
  earlyDelays: Delay[];
  earlyTrials: number;
  earlyExecTrials: number;
  // whole runs against node -e 0, and as-PID-1 handler windows of tend and of a bare `node -e`
  floorRuns: number;
  floorWarmup: number;
  handlerRuns: number;
}

const fromSpawn = (ms: number[]): Delay[] => ms.map((m) => ({ from: 'spawn', ms: m }));
const fromExec = (ms: number[]): Delay[] => ms.map((m) => ({ from: 'exec', ms: m }));

const FULL: Plan = {
  startupRuns: 30, startupWarmup: 2, memoryRuns: 7, latencySignals: 200, latencyWarmup: 10, reapRuns: 7, orphans: 1000,
  earlyDelays: [...fromExec([0, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 4]), ...fromSpawn(Array.from({ length: 31 }, (_, i) => i * 5))],
  // 200 floor rounds: Node 20's own floor varies by ±30 % from one start to the next, and on a shared VM the ratio of
  // medians of 60 rounds moved by ±0.07× between back-to-back runs of the same build (1.05× to 1.19×).
  earlyTrials: 6, earlyExecTrials: 10, floorRuns: 200, floorWarmup: 2, handlerRuns: 15,
};
const QUICK: Plan = {
  startupRuns: 5, startupWarmup: 1, memoryRuns: 2, latencySignals: 30, latencyWarmup: 2, reapRuns: 2, orphans: 1000,
  earlyDelays: [...fromExec([0, 1]), ...fromSpawn([0, 10, 20, 30, 40, 60, 80, 100, 150])], earlyTrials: 1, earlyExecTrials: 1,
  floorRuns: 5, floorWarmup: 1, handlerRuns: 3,
};

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));


// The version of the Node the commands run on: $TEND_NODE if set, else `node` from PATH.
function measuredNodeVersion(): string {
  try {
    return execFileSync(process.env['TEND_NODE'] ?? 'node', ['--version'], { encoding: 'utf8' }).trim();
  } catch {
    return `unknown (${process.env['TEND_NODE'] ?? 'node'} --version failed)`;
  }
}

function log(message: string): void {
  process.stderr.write(`pid1 bench: ${message}\n`);
}

// Runs the whole benchmark once; returns the process exit code.
async function main(argv: readonly string[]): Promise<number> {
  const plan = argv.includes('--quick') ? QUICK : FULL;
  // Settings that change what Node itself does at start-up would move the floor, not tend: Node 20 reads and parses
  // the whole NODE_EXTRA_CA_CERTS bundle before running any script (~60 ms and ~2 MB here), which would hide tend's
  // own cost in both ratios. Every command runs without them; the results record which were set.
  const scrubbed = NODE_START_ENV.filter((name) => process.env[name] !== undefined);
  for (const name of scrubbed) Reflect.deleteProperty(process.env, name);
  if (scrubbed.length > 0) log(`left out of every command's environment (they change Node's own start-up): ${scrubbed.join(', ')}`);
  const problems = checkPrerequisites();
  if (problems.length > 0) {
    for (const p of problems) log(p);
    return 2;
  }
  // --tend=PATH measures another build of tend (an earlier commit's bin/tend) against the same peers.
  const otherTend = argv.find((a) => a.startsWith('--tend='))?.slice('--tend='.length);
  const tendBin = otherTend ?? installedTend();
  log(`tend: ${tendBin}`);
  const tendIssue = argv.includes('--no-tend') ? 'skipped (--no-tend)' : tendProblem(tendBin);
  if (tendIssue !== null) log(`tend left out: ${tendIssue}`);
  const sups = supervisors(tendIssue === null ? tendBin : null);
  const busyBefore = argv.includes('--no-wait') ? await cpuBusyFraction(1000) : await waitForQuiet(60);
  const fixture = buildFixture(repoRoot);
  fixtureDir = fixture.dir;
  const startedAt = new Date();
  try {
    const child = fixture.binary;
    const t0 = Date.now();
    log(`supervisors: ${sups.map((s) => s.name).join(', ')}; fixture ${child}`);
    // Other load, sampled while no session runs: before every phase and at the end.
    const otherLoad: number[] = [busyBefore];
    let first = true;
    const phase = async <T>(title: string, run: () => Promise<T>): Promise<T> => {
      if (!first) otherLoad.push(await cpuBusyFraction(300));
      first = false;
      log(title);
      return run();
    };
    const startup = await phase(`1/7 start-up (${plan.startupRuns} runs each, PID 1 and plain)…`,
      () => measureStartup([...sups, NONE], child, plan.startupRuns, plan.startupWarmup));
    const memory = await phase(`2/7 peak memory (${plan.memoryRuns} runs each)…`, () => measureMemory(sups, child, plan.memoryRuns, 300));
    const latency = await phase(`3/7 signal forwarding latency (${plan.latencySignals} signals each)…`,
      () => measureLatency(sups, child, plan.latencySignals, plan.latencyWarmup, 2));
    const reap = await phase(`4/7 reaping a ${plan.orphans}-orphan burst (${plan.reapRuns} runs each)…`,
      () => measureReap(sups, child, plan.reapRuns, plan.orphans));
    const early = await phase(`5/7 early SIGTERM (${plan.earlyDelays.length} delays, ${plan.earlyTrials}–${plan.earlyExecTrials} trials each)…`,
      () => measureEarlySignal(sups, child, plan.earlyDelays, plan.earlyTrials, plan.earlyExecTrials));
    const floorCommands: FloorCommand[] = [
      { name: 'true', argv: ['true'] },
      { name: 'node -e 0', argv: [process.env['TEND_NODE'] ?? 'node', '-e', '0'] },
      ...(tendIssue === null ? [{ name: 'tend', argv: [tendBin, 'run', '--', 'true'] }] : []),
      { name: 'tini', argv: [TINI, '--', 'true'] },
      { name: 'dumb-init', argv: [DUMB_INIT, 'true'] },
    ];
    const floor = await phase(`6/7 against node -e 0: whole runs, wall time and peak RSS (${plan.floorRuns} runs each)…`,
      () => measureFloor(floorCommands, child, plan.floorRuns, plan.floorWarmup));
    const launcher = join(repoRoot, 'build', 'Release', 'tend-launcher');
    const handlersLeftOut = tendIssue !== null ? 'tend left out' : existsSync(launcher) ? null : `${launcher} not found`;
    if (handlersLeftOut !== null) log(`handler windows skipped: ${handlersLeftOut}`);
    const handlers = await phase(`7/7 signal handlers after exec as PID 1, tend and node -e (${plan.handlerRuns} runs each)…`,
      () => handlersLeftOut === null ? measureHandlerWindows(tendBin, launcher, child, plan.handlerRuns) : Promise.resolve({ tend: [], node: [] }));
    otherLoad.push(await cpuBusyFraction(1000));
    const maxOtherLoad = Math.max(...otherLoad);
    if (maxOtherLoad > 0.15) log(`warning: other work used up to ${(maxOtherLoad * 100).toFixed(0)} % CPU during the run; numbers are noisy`);
    const raw: Raw = { startup, memory, latency, reap, early };
    const summaries = summarizeAll(raw);
    const table = markdownTable(summaries);
    const perDelay = earlyTable(summaries, plan.earlyDelays);
    const floorSummaries = summarizeFloor(floor, handlers);
    const vsNode = floorTable(floorSummaries);
    const seconds = (Date.now() - t0) / 1000;
    log(`done in ${seconds.toFixed(0)} s`);

    const machine = {
      nproc: cpus().length,
      cpu: cpus()[0]?.model ?? 'unknown',
      kernel: release(),
      // The Node that `node -e 0` and tend ran on (TEND_NODE, as for the launcher), not the one running the harness.
      node: measuredNodeVersion(),
      tini: versionOf(TINI),
      dumbInit: versionOf(DUMB_INIT),
      tendCommit: otherTend ?? gitRevision(),
      tendRunAs: otherTend ?? (packageDir !== null ? `as installed: <package>/bin/tend is the launcher, as scripts/install.js leaves it (${launcherUsed})` : 'the checkout\'s bin/tend script'),
    };
    const load = `Other load on the machine (sampled between phases): ${otherLoad.map((b) => (b * 100).toFixed(0)).join(', ')} % CPU.`;
    process.stdout.write(`## PID 1: tend vs tini vs dumb-init\n\n${machineLine(machine)} ${load}\n\n${table}\n\n` +
      `Early SIGTERM, per delay (only delays where some supervisor lost a signal or its child died of it):\n\n${perDelay}\n`);
    process.stdout.write(`\n## tend against Node's own floor\n\n${vsNode}\n`);
    for (const [name, e] of Object.entries(summaries.early)) {
      process.stdout.write(`\n${name}: lost ${e.lost}/${e.trials}, killed before the child's handler ${e.killed}, errors ${e.errors}; ` +
        `lost by PID 1 comm ${JSON.stringify(e.lostByComm)}; latest lost send ${e.latestLostSentAtMs ?? '-'} ms after spawn` +
        `${e.errorDetails.length > 0 ? `; notes: ${e.errorDetails.join(' | ')}` : ''}\n`);
    }
    const path = writeResults(startedAt, {
      date: startedAt.toISOString(), seconds, machine, otherCpuLoadBetweenPhases: otherLoad.map((b) => round(b)), plan,
      tendIncluded: tendIssue === null, tendIssue, scrubbedEnv: scrubbed, summaries, floor: floorSummaries,
      table, perDelay, vsNode, raw: { ...rawForJson(raw), floor: Object.fromEntries(floor), handlerAfterExecMs: handlers },
    });
    process.stdout.write(`\nresults: ${path}\n`);
    return 0;
  } finally {
    cleanup();
  }
}

let fixtureDir: string | null = null;
let packageDir: string | null = null;
// Which launcher the package's bin/tend is, relative to the checkout.
let launcherUsed: string | null = null;

// tend as an npm install runs it: scripts/install.js copies the prebuilt launcher over <package>/bin/tend, so Node
// starts with no shell before it (the checkout's bin/tend is a script, for a tree that has only a local build). A
// package directory whose bin/tend is this checkout's launcher and whose dist/bundle is a copy of this checkout's
// runs exactly that: the launcher finds dist/bundle/entry.cjs next to its own bin/. The bundle is copied, not linked:
// an installed package has no symlink on the path Node starts, and Node 24 pays ~2 MB for one there. What the bundle
// only reaches later (dist/src, the addon builds, node_modules) is linked. The launcher is the one install.js picks,
// the static prebuilt, when `npm run build:prebuilt` built it from this native/launcher.c; else the local build.
// Falls back to the checkout's bin/tend without either.
function installedTend(): string {
  const launcher = launcherAsInstalled();
  if (launcher === null) return join(repoRoot, 'bin', 'tend');
  launcherUsed = launcher.slice(repoRoot.length);
  packageDir = mkdtempSync(join(tmpdir(), 'tend-bench-package-'));
  mkdirSync(join(packageDir, 'bin'));
  copyFileSync(launcher, join(packageDir, 'bin', 'tend'));
  chmodSync(join(packageDir, 'bin', 'tend'), 0o755);
  mkdirSync(join(packageDir, 'dist'));
  cpSync(join(repoRoot, 'dist', 'bundle'), join(packageDir, 'dist', 'bundle'), { recursive: true });
  symlinkSync(join(repoRoot, 'dist', 'src'), join(packageDir, 'dist', 'src'));
  copyFileSync(join(repoRoot, 'package.json'), join(packageDir, 'package.json'));
  for (const linked of ['build', 'prebuilds', 'node_modules']) {
    if (existsSync(join(repoRoot, linked))) symlinkSync(join(repoRoot, linked), join(packageDir, linked));
  }
  return join(packageDir, 'bin', 'tend');
}

// The static prebuilt launcher if it is newer than its source, else the local build, else null.
function launcherAsInstalled(): string | null {
  const arch = process.arch === 'x64' || process.arch === 'arm64' ? process.arch : null;
  const prebuilt = arch === null ? null : join(repoRoot, 'prebuilds', `linux-${arch}`, 'tend-launcher.musl');
  const source = statSync(join(repoRoot, 'native', 'launcher.c')).mtimeMs;
  if (prebuilt !== null && existsSync(prebuilt) && statSync(prebuilt).mtimeMs >= source) return prebuilt;
  const local = join(repoRoot, 'build', 'Release', 'tend-launcher');
  return existsSync(local) ? local : null;
}

// Kill every session still alive and remove the compiled fixture (synchronous: also runs on signals and exit).
function cleanup(): void {
  killAllSessions();
  if (fixtureDir !== null) rmSync(fixtureDir, { recursive: true, force: true });
  fixtureDir = null;
  if (packageDir !== null) rmSync(packageDir, { recursive: true, force: true });
  packageDir = null;
}

// Waits (up to `maxSeconds`) for other load to drop below 15 % of the CPUs; returns the last busy fraction seen.
async function waitForQuiet(maxSeconds: number): Promise<number> {
  const deadline = Date.now() + maxSeconds * 1000;
  for (;;) {
    const busy = await cpuBusyFraction(1000);
    if (busy < 0.15) return busy;
    if (Date.now() > deadline) {
      log(`warning: the machine is ${(busy * 100).toFixed(0)} % busy with other work; expect noisy numbers`);
      return busy;
    }
    log(`machine ${(busy * 100).toFixed(0)} % busy with other work; waiting for it to settle…`);
    await sleep(1000);
  }
}

function machineLine(m: { nproc: number; cpu: string; kernel: string; node: string; tini: string; dumbInit: string; tendCommit: string }): string {
  return `Machine: ${m.nproc} CPUs (${m.cpu}), Linux ${m.kernel}, Node ${m.node}; ${m.tini}, ${m.dumbInit}, tend ${m.tendCommit}.`;
}

function gitRevision(): string {
  try {
    const rev = execFileSync('git', ['-C', repoRoot, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['-C', repoRoot, 'status', '--porcelain'], { encoding: 'utf8' }).trim() !== '';
    return dirty ? `${rev}+uncommitted` : rev;
  } catch {
    return 'unknown';
  }
}

// Maps → plain objects so the raw samples land in the JSON file.
function rawForJson(raw: Raw): object {
  const obj = (m: Map<string, unknown>): Record<string, unknown> => Object.fromEntries(m);
  return { startup: obj(raw.startup), memory: obj(raw.memory), latency: obj(raw.latency), reap: obj(raw.reap), early: raw.early };
}

// Writes bench/results/pid1-<UTC date and time>.json (via a .tmp file, renamed); returns its path.
function writeResults(at: Date, data: object): string {
  const dir = join(repoRoot, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const stamp = at.toISOString().replace(/:/g, '-').replace(/\.\d+Z$/, 'Z');
  const path = join(dir, `pid1-${stamp}.json`);
  writeFileSync(`${path}.tmp`, `${JSON.stringify(data, null, 2)}\n`);
  renameSync(`${path}.tmp`, path);
  return path;
}

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => {
    cleanup();
    process.exit(128 + (signal === 'SIGINT' ? 2 : signal === 'SIGTERM' ? 15 : 1));
  });
}
process.on('exit', cleanup);

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (error: unknown) => {
    cleanup();
    log(`failed: ${error instanceof Error ? error.stack ?? error.message : String(error)}`);
    process.exitCode = 1;
  },
);
