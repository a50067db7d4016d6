// Where a `tend run -- true` spends its time, step by step: a copy of dist/bundle gets a timestamp at each anchor
// below (a piece of the built bundle's own text), runs N times through the launcher, and the median of each step is
// printed, with the whole run from Node's first line of tend to its exit. An anchor that no longer matches the
// build fails loudly, naming it: update ANCHORS with the code. Not a budget (bench:pid1 is): a map of the path.
//   npm run bench:steps [-- --runs=N]          TEND_NODE=... for another Node
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { percentile } from '../pid1/stats.js';
import { withoutNodeStartEnv } from '../common/node-env.js';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

/** One timestamp: inserted before `before` (or after `after`) in the named bundle file. */
interface Anchor {
  readonly file: 'entry.cjs' | 'main.cjs';
  readonly label: string;
  readonly before?: string;
  readonly after?: string;
}

// In the order a run reaches them. Each label names the step that ends there.
const ANCHORS: readonly Anchor[] = [
  { file: 'entry.cjs', label: "loader: node:vm, the launcher's addon, the signal watch", before: 'requireWithCodeCache(`${__dirname}/main.cjs`' },
  { file: 'entry.cjs', label: 'reading main.cjs and its code cache', before: 'let script=new import_node_vm.Script(' },
  { file: 'entry.cjs', label: 'V8 restoring the code cache (vm.Script)', before: 'let module2={exports:{}};return script.runInThisContext()' },
  { file: 'main.cjs', label: "the bundle's top level", after: 'async function main(argv,signals){' },
  { file: 'main.cjs', label: 'parse, subscribers, stale sockets', before: 'tend=startTend(spec,{signals,env,inheritEnv:!0},sinks)' },
  { file: 'main.cjs', label: 'the runner up to the spawn', before: 'let __r=native.spawn(' },
  { file: 'main.cjs', label: 'the spawn (until the child execs)', after: 'signalNumber(spec.parentDeathSignal)});' },
  { file: 'main.cjs', label: 'after the spawn (first timers, events)', after: 'tend=startTend(spec,{signals,env,inheritEnv:!0},sinks)' },
  { file: 'main.cjs', label: 'waiting for the child to exit', after: 'function startReaper(onReaped){let reapNow=()=>{' },
  { file: 'main.cjs', label: 'reaping, the stop, the exit code', after: 'let code=await tend.done;' },
];

// The step after the last anchor, which ends at the exit event (the last mark, taken there).
const LAST_STEP = 'flushing output, process.exit, to its exit event';

// The spawn call returns its pid straight away: it becomes `let __r=...; mark; return __r` so a mark can follow it.
const SPAWN_CALL = 'try{return native.spawn(';
const SPAWN_END = 'signalNumber(spec.parentDeathSignal)})}catch(error){throw describeSpawnError';

// Mark the bundle copy in `dir` at every anchor; throws naming an anchor the build no longer has.
function instrument(dir: string): void {
  const mark = (i: number): string => `;globalThis.__tendMark(${i});`; // the leading ';' ends whatever expression comes before
  const texts: Record<string, string> = {
    'entry.cjs': readFileSync(join(dir, 'entry.cjs'), 'utf8'),
    'main.cjs': readFileSync(join(dir, 'main.cjs'), 'utf8'),
  };
  const main = texts['main.cjs']!;
  if (!main.includes(SPAWN_CALL) || !main.includes(SPAWN_END)) throw new Error(`bench:steps: the spawn call is not where ANCHORS expects it (${SPAWN_CALL}); update bench/startup/steps.ts`);
  texts['main.cjs'] = main.replace(SPAWN_CALL, 'try{let __r=native.spawn(').replace(SPAWN_END, 'signalNumber(spec.parentDeathSignal)});return __r}catch(error){throw describeSpawnError');
  ANCHORS.forEach((anchor, i) => {
    const text = texts[anchor.file]!;
    const at = anchor.before ?? anchor.after!;
    const index = text.indexOf(at);
    if (index < 0) throw new Error(`bench:steps: anchor ${JSON.stringify(anchor.label)} not found in ${anchor.file}; update bench/startup/steps.ts`);
    const cut = anchor.before !== undefined ? index : index + at.length;
    texts[anchor.file] = text.slice(0, cut) + mark(i + 1) + text.slice(cut);
  });
  // Mark 0 is tend's first line; an anchor reached twice (reaping) keeps its first time; the marks are printed at exit.
  const prologue = 'const __tendT=[process.hrtime.bigint()];globalThis.__tendMark=(i)=>{__tendT[i]??=process.hrtime.bigint()};' +
    `process.on("exit",()=>{__tendT[${ANCHORS.length + 1}]=process.hrtime.bigint();process._rawDebug("STEPS "+__tendT.map((t)=>String(t)).join(" "))});`;
  // After the banner's "use strict" (the file's first statement), on the same line: the source map's lines stay put.
  if (!texts['entry.cjs']!.startsWith('"use strict";')) throw new Error('bench:steps: entry.cjs does not start with "use strict"; update bench/startup/steps.ts');
  texts['entry.cjs'] = `"use strict";${prologue}${texts['entry.cjs']!.slice('"use strict";'.length)}`;
  for (const [name, text] of Object.entries(texts)) writeFileSync(join(dir, name), text);
}

// One run: the marks in ns, or null when the run printed none (a failed run).
function runOnce(entry: string): bigint[] | null {
  const launcher = join(repoRoot, 'build', 'Release', 'tend-launcher');
  const result = spawnSync(launcher, [entry, 'run', '--', 'true'], { env: withoutNodeStartEnv(process.env), encoding: 'utf8', timeout: 10_000 });
  const line = result.stderr.split('\n').find((l) => l.startsWith('STEPS '));
  return line === undefined ? null : line.slice(6).split(' ').map((t) => BigInt(t));
}

// Instrument a copy of dist/bundle, run it, print the medians; the exit code.
function main(): number {
  const runs = Number(process.argv.find((a) => a.startsWith('--runs='))?.slice(7) ?? 31);
  const bundle = join(repoRoot, 'dist', 'bundle');
  if (!existsSync(join(bundle, 'main.cjs'))) {
    process.stderr.write('bench:steps: dist/bundle is missing: npm run build\n');
    return 2;
  }
  // A package of its own, as installed (<copy>/dist/bundle, with the checkout's native builds and dist/src linked), so
  // the launcher finds the addon for it (TEND_ADDON) and the bundle's paths resolve as in the real one.
  const copy = mkdtempSync(join(repoRoot, 'dist', 'steps-'));
  try {
    const copied = join(copy, 'dist', 'bundle');
    cpSync(bundle, copied, { recursive: true });
    symlinkSync(join(repoRoot, 'dist', 'src'), join(copy, 'dist', 'src'));
    for (const linked of ['build', 'prebuilds', 'node_modules', 'package.json']) {
      if (existsSync(join(repoRoot, linked))) symlinkSync(join(repoRoot, linked), join(copy, linked));
    }
    instrument(copied);
    const entry = join(copied, 'entry.cjs');
    for (let i = 0; i < 2; i++) runOnce(entry); // the first writes the copy's code cache
    const samples: bigint[][] = [];
    for (let i = 0; i < runs; i++) {
      const marks = runOnce(entry);
      if (marks !== null && marks.length === ANCHORS.length + 2) samples.push(marks);
    }
    if (samples.length === 0) throw new Error('bench:steps: no run printed its marks');
    const node = execFileSync(process.env['TEND_NODE'] ?? 'node', ['--version'], { encoding: 'utf8' }).trim();
    const ms = (a: bigint, b: bigint): number => Number(b - a) / 1e6;
    const labels = [...ANCHORS.map((anchor) => anchor.label), LAST_STEP];
    const rows = labels.map((label, i) => `| ${label} | ${percentile(samples.map((m) => ms(m[i]!, m[i + 1]!)), 50).toFixed(2)} |`);
    const whole = samples.map((m) => ms(m[0]!, m[labels.length]!));
    process.stdout.write(`tend run -- true on Node ${node}: median of ${samples.length} runs, from tend's first line\n\n` +
      `| step | ms |\n|---|---:|\n${rows.join('\n')}\n| **whole run, first line to exit event** (median; min ${Math.min(...whole).toFixed(2)}) | ${percentile(whole, 50).toFixed(2)} |\n`);
    return 0;
  } finally {
    rmSync(copy, { recursive: true, force: true });
  }
}

process.exitCode = main();
