// Worker-pool benchmark: tend vs PM2 7.0.4 (cluster mode) and a naive node:cluster primary, 2 workers each (4 in
// the on-demand and balance scenarios), loopback only, load from wrk. One command runs everything (about 9 minutes):
//
//   npm run bench:pool [-- --quick] [--rounds N] [--only reload,badbuild,throughput,ondemand,balance] [--update-docs]
//
// Prints markdown tables on stdout and progress on stderr, writes bench/results/pool-<date>.json, and with
// --update-docs replaces the generated part of the "Worker pools" section in docs/benchmarks.md.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import {
  badBuildTable, balanceTable, contentionLine, memoryTable, planLine, reloadTable, strategyVerdict, summarizeBalance, summarizeMemory,
  summarizeThroughput, throughputTable, type Results,
} from './report.js';
import { busyBetween, cpuTotals, RUN_ID, sleep, sweep } from './procs.js';
import { badBuild, balance, BURST_CONNECTIONS, PLAN, reloadUnderLoad, throughput, WIDE_WORKERS, type Context, type Plan } from './scenarios.js';
import { killPm2Sync, PM2_BIN, repoRoot, type Kind } from './servers.js';
import { prepareWrk } from './wrk.js';

const PM2_VERSION = '7.0.4';
const QUICK: Plan = {
  ...PLAN, steadySeconds: 4, reloadSeconds: 10, reloads: 3, badBuildSeconds: 8, throughputSeconds: 3, closeSeconds: 2, warmupSeconds: 1, rounds: 2,
  onDemandSteadySeconds: 3, bursts: 3, balanceRounds: 1, balanceSeconds: 3, balanceCloseSeconds: 2,
};
const THROUGHPUT_KINDS: readonly Kind[] = ['tend-shared', 'tend-reuseport', 'node-cluster', 'pm2'];
const BALANCE_KINDS: readonly Kind[] = ['tend-shared', 'tend-reuseport', 'tend-ondemand', 'pm2'];
const SCENARIOS = ['reload', 'badbuild', 'throughput', 'ondemand', 'balance'] as const;
type Scenario = typeof SCENARIOS[number];
const COMMAND = 'npm run bench:pool';

const T0 = Date.now();
function log(message: string): void {
  process.stderr.write(`pool bench [${((Date.now() - T0) / 1000).toFixed(0).padStart(3)} s]: ${message}\n`);
}

let workDir: string | null = null;

function cleanup(): void {
  killPm2Sync();
  const n = sweep();
  if (n > 0) log(`cleanup: killed ${n} leftover process(es) of this run`);
  if (workDir !== null) rmSync(workDir, { recursive: true, force: true });
  workDir = null;
}

// Problems that stop the run (with the command that fixes each).
function prerequisites(): string[] {
  const problems: string[] = [];
  if (spawnSync('sh', ['-c', 'command -v wrk'], { encoding: 'utf8' }).status !== 0) {
    problems.push('wrk is missing: apt-get update && apt-get install -y wrk');
  }
  if (!existsSync(join(repoRoot, 'build', 'Release', 'tend-launcher'))) problems.push('tend\'s native build is missing: npm install');
  if (!existsSync(join(repoRoot, 'dist', 'src', 'cli', 'entry.js'))) problems.push('tend is not compiled: npm run build');
  return problems;
}

function pm2Version(): string | null {
  try {
    return (JSON.parse(readFileSync(join(repoRoot, 'bench', 'node_modules', 'pm2', 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return null;
  }
}

// Install PM2 into bench/node_modules (pinned by bench/package.json and its lock file) if it is not there.
function ensurePm2(): void {
  if (pm2Version() === PM2_VERSION && existsSync(PM2_BIN)) return;
  log(`installing pm2@${PM2_VERSION} into bench/node_modules…`);
  execFileSync('npm', ['install', '--prefix', join(repoRoot, 'bench'), '--no-audit', '--no-fund', `pm2@${PM2_VERSION}`, '--save-exact'], { stdio: 'inherit', timeout: 300_000 });
  if (pm2Version() !== PM2_VERSION) throw new Error(`bench/node_modules/pm2 is ${pm2Version() ?? 'missing'}, expected ${PM2_VERSION}`);
}

function gitRevision(): string {
  try {
    const rev = execFileSync('git', ['-C', repoRoot, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['-C', repoRoot, 'status', '--porcelain', '--', 'src', 'native', 'bin'], { encoding: 'utf8' }).trim() !== '';
    return dirty ? `${rev}+uncommitted src` : rev;
  } catch {
    return 'unknown';
  }
}

function wrkVersion(): string {
  const r = spawnSync('wrk', ['-v'], { encoding: 'utf8' });
  return (r.stdout.split('\n')[0] ?? '').replace(/ Copyright.*$/, '').trim() || 'wrk (unknown version)';
}

async function waitForQuiet(maxSeconds: number, verbose = true, sampleMs = 1000): Promise<number> {
  const deadline = Date.now() + maxSeconds * 1000;
  for (;;) {
    const a = cpuTotals();
    await sleep(sampleMs);
    const busy = busyBetween(a, cpuTotals());
    if (busy < 0.15 || Date.now() > deadline) {
      if (busy >= 0.15) log(`warning: the machine is ${(busy * 100).toFixed(0)} % busy with other work; numbers will be noisy`);
      return busy;
    }
    if (verbose) log(`machine ${(busy * 100).toFixed(0)} % busy with other work; waiting…`);
  }
}

async function main(argv: readonly string[]): Promise<number> {
  const problems = prerequisites();
  if (problems.length > 0) {
    for (const p of problems) log(p);
    return 2;
  }
  ensurePm2();
  const roundsArg = argv.indexOf('--rounds');
  const plan: Plan = { ...(argv.includes('--quick') ? QUICK : PLAN) };
  if (roundsArg >= 0) plan.rounds = Math.max(1, Number(argv[roundsArg + 1]) || plan.rounds);
  const onlyArg = argv.indexOf('--only');
  const only = onlyArg >= 0 ? (argv[onlyArg + 1] ?? '').split(',').filter(Boolean) : [...SCENARIOS];
  const unknown = only.filter((s) => !(SCENARIOS as readonly string[]).includes(s));
  if (unknown.length > 0 || only.length === 0) {
    log(`--only ${only.join(',')}: unknown scenario ${unknown.join(', ')}; use a comma-separated list of ${SCENARIOS.join(', ')}`);
    return 2;
  }
  const runs = (s: Scenario): boolean => only.includes(s);
  const preload = join(repoRoot, 'dist', 'src', 'preload', 'preload.cjs');
  if (!existsSync(preload)) log(`warning: ${preload} is missing: tend's workers run without the graceful drain`);

  const otherLoad = await waitForQuiet(30);
  workDir = mkdtempSync(join(tmpdir(), 'tend-pool-bench-'));
  prepareWrk(workDir);
  const ctx: Context = { workDir, buildFile: join(workDir, 'BUILD'), log };
  const startedAt = new Date();
  const t0 = Date.now();
  log(`run ${RUN_ID}; ${planLine(plan)}`);

  const results: Results = { reload: [], badBuild: [], throughput: [], onDemandReload: [], onDemandBadBuild: [], balance: [] };
  if (runs('reload')) {
    log('1/5 reload under load…');
    for (const kind of ['tend-shared', 'tend-reuseport', 'pm2'] as const) {
      log(` ${kind}`);
      results.reload.push(await reloadUnderLoad(ctx, kind, plan));
    }
  }
  if (runs('badbuild')) {
    log('2/5 bad build…');
    for (const kind of ['tend-shared', 'pm2'] as const) {
      log(` ${kind}`);
      results.badBuild.push(await badBuild(ctx, kind, plan));
    }
  }
  if (runs('ondemand')) {
    log(`3/5 sockets on demand (no --listen), ${WIDE_WORKERS} workers: reload under load and bad build…`);
    for (const kind of ['tend-ondemand', 'pm2'] as const) {
      log(` ${kind}`);
      results.onDemandReload.push(await reloadUnderLoad(ctx, kind, plan, WIDE_WORKERS, plan.onDemandSteadySeconds, 'all-reloads'));
      results.onDemandBadBuild.push(await badBuild(ctx, kind, plan, WIDE_WORKERS));
    }
  }
  if (runs('balance')) {
    log(`4/5 balance, ${WIDE_WORKERS} workers, ${plan.balanceRounds} round(s)…`);
    for (let round = 0; round < plan.balanceRounds; round++) {
      const order = round % 2 === 0 ? BALANCE_KINDS : [...BALANCE_KINDS].reverse();
      for (const kind of order) {
        await waitForQuiet(8, false, 500);
        const r = await balance(ctx, kind, round, plan);
        log(` round ${round + 1} ${kind}: bursts of ${BURST_CONNECTIONS}, busiest worker ${r.bursts.map((b) => b.counts[0] ?? 0).join(' ')}; ` +
          `keep-alive ${r.keepAlive.wrk.rps.toFixed(0)} req/s, worker CPU ${r.keepAlive.workerCpu.map((c) => (c * 100).toFixed(0)).join('/')} %; ` +
          `new conn ${r.close.wrk.rps.toFixed(0)} req/s, worker CPU ${r.close.workerCpu.map((c) => (c * 100).toFixed(0)).join('/')} %`);
        results.balance.push(r);
      }
    }
  }
  log(`5/5 throughput, ${runs('throughput') ? plan.rounds : 0} round(s)…`);
  for (let round = 0; runs('throughput') && round < plan.rounds; round++) {
    const order = round % 2 === 0 ? THROUGHPUT_KINDS : [...THROUGHPUT_KINDS].reverse();
    for (const kind of order) {
      await waitForQuiet(8, false, 500);
      const r = await throughput(ctx, kind, round, plan);
      log(` round ${round + 1} ${kind}: keep-alive ${r.keepAlive.wrk.rps.toFixed(0)} req/s p99 ${r.keepAlive.wrk.latencyMs.p99.toFixed(1)} ms; ` +
        `new conn ${r.close.wrk.rps.toFixed(0)} req/s p99 ${r.close.wrk.latencyMs.p99.toFixed(1)} ms; ` +
        `other processes ${r.keepAlive.otherCores.toFixed(2)} / ${r.close.otherCores.toFixed(2)} cores`);
      results.throughput.push(r);
    }
  }
  const seconds = (Date.now() - t0) / 1000;
  log(`done in ${seconds.toFixed(0)} s`);

  const tp = summarizeThroughput(results.throughput);
  const bal = summarizeBalance(results.balance);
  const memory = summarizeMemory(results);
  const machine = {
    nproc: cpus().length,
    cpu: cpus()[0]?.model ?? 'unknown',
    memGiB: Math.round(totalmem() / 2 ** 30),
    kernel: release(),
    node: process.version,
    wrk: wrkVersion(),
    pm2: pm2Version(),
    tend: gitRevision(),
  };
  const markdown = [
    `Machine: ${machine.nproc} vCPUs (${machine.cpu}), ${machine.memGiB} GiB, Linux ${machine.kernel}, Node ${machine.node}; ` +
      `${machine.wrk}; PM2 ${machine.pm2 ?? '?'}; tend ${machine.tend}. Run ${startedAt.toISOString()}, ${seconds.toFixed(0)} s; ` +
      `other load before the run ${(otherLoad * 100).toFixed(0)} %.`,
    `Command: \`${COMMAND}\``,
    planLine(plan),
    '',
    '#### 1. Reload under load (2 workers, app without drain logic, 20 ms handler, 50 keep-alive connections)',
    '',
    reloadTable(results.reload),
    '',
    'wrk counts a connection closed or reset by the server before a complete response as a read error (checked: Debian\'s ' +
      'wrk 4.1.0 counts a FIN mid-request as one). Probes run alongside wrk from the harness, one GET on a new connection each.',
    '',
    '#### 2. Bad build: the build on disk crashes at boot, reload under load',
    '',
    badBuildTable(results.badBuild),
    '',
    'Once no worker listens any more, every connection wrk opens is refused; wrk finds out on its first write, counts a write ' +
      'error and reconnects at once, so a failed-request count in the hundreds of thousands counts connection attempts, not ' +
      'clients: the probe rows give the outage in time.',
    '',
    '#### 3. Throughput (2 workers, handler answers at once, 50 connections)',
    '',
    throughputTable(tp),
    '',
    `tend's socket strategy: ${strategyVerdict(tp)}`,
    '',
    `#### 4. Sockets on demand (no \`--listen\`): ${WIDE_WORKERS} workers, reload under load and a bad build, next to PM2`,
    '',
    `tend: \`PORT=P tend run --workers ${WIDE_WORKERS} -- node http-app.cjs\`; PM2: \`pm2 start http-app.cjs -i ${WIDE_WORKERS}\`, \`pm2 reload app\`. ` +
      'Same app, load, reloads and bad build as 1 and 2.',
    '',
    reloadTable(results.onDemandReload),
    '',
    badBuildTable(results.onDemandBadBuild),
    '',
    `#### 5. Balance (${WIDE_WORKERS} workers, handler answers at once, wrk with 50 connections)`,
    '',
    balanceTable(bal),
    '',
    '#### 6. Memory',
    '',
    memoryTable(memory),
    '',
    contentionLine(results, tp),
  ].join('\n');
  process.stdout.write(`${markdown}\n`);

  const path = writeResults(startedAt, { date: startedAt.toISOString(), seconds, command: COMMAND, machine, otherLoadBefore: otherLoad, plan, summary: { throughput: tp, balance: bal, memory }, results, markdown });
  process.stdout.write(`\nresults: ${path}\n`);
  if (argv.includes('--update-docs')) updateDocs(markdown);
  return 0;
}

function writeResults(at: Date, data: object): string {
  const dir = join(repoRoot, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const stamp = at.toISOString().replace(/:/g, '-').replace(/\.\d+Z$/, 'Z');
  const path = join(dir, `pool-${stamp}.json`);
  writeFileSync(`${path}.tmp`, `${JSON.stringify(data, null, 2)}\n`);
  renameSync(`${path}.tmp`, path);
  return path;
}

const BEGIN = '<!-- pool-bench:begin (generated by bench/pool/run.ts --update-docs) -->';
const END = '<!-- pool-bench:end -->';

// Replace the generated block of the "Worker pools" section; the rest of docs/benchmarks.md stays as it is.
function updateDocs(markdown: string): void {
  const path = join(repoRoot, 'docs', 'benchmarks.md');
  const text = existsSync(path) ? readFileSync(path, 'utf8') : '# Benchmarks\n';
  const block = `${BEGIN}\n${markdown}\n${END}`;
  const b = text.indexOf(BEGIN);
  const e = text.indexOf(END);
  const next = b >= 0 && e > b
    ? `${text.slice(0, b)}${block}${text.slice(e + END.length)}`
    : `${text.trimEnd()}\n\n## Worker pools: tend vs PM2\n\n${block}\n`;
  writeFileSync(path, next);
  log(`updated ${path}`);
}

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => {
    log(`${signal}: cleaning up`);
    cleanup();
    process.exit(128 + (signal === 'SIGINT' ? 2 : signal === 'SIGTERM' ? 15 : 1));
  });
}
process.on('exit', cleanup);

main(process.argv.slice(2)).then(
  (code) => {
    cleanup();
    process.exitCode = code;
  },
  (error: unknown) => {
    log(`failed: ${error instanceof Error ? error.stack ?? error.message : String(error)}`);
    cleanup();
    process.exitCode = 1;
  },
);
