// Worker-output benchmark: what tend's output pump costs (CPU, peak memory, event-loop delay) for the scenarios of
// issues 8 and 10. Each scenario runs the test harness (dist/test/os/output-harness.js: real child processes
// writing into pipes, pumped into the harness's stdout) `--runs` times (default 3) and prints medians:
//
//   npm run build && node dist/bench/output/run.js [--runs N]
//
// This process is the reader of the harness's stdout; it discards what it reads (counting bytes), after a stall
// where the scenario has one.
import { spawn } from 'node:child_process';
import { Socket } from 'node:net';
import { cpus, release } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { native } from '../../src/os/native.js';
import type { HarnessConfig } from '../../test/os/output-harness.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const harness = join(root, 'dist', 'test', 'os', 'output-harness.js');
const writer = join(root, 'test', 'fixtures', 'line-writer.js');
const MiB = 1024 * 1024;

interface Done { cold: { rss: number }; baseline: { rss: number }; hwm: number; cpuMs: number; wallMs: number; maxLoopDelayMs: number; exitCodes: (number | null)[] }
interface Scenario { name: string; config: HarnessConfig; stallMs: number }

const node = process.execPath;
const lines = (id: string, count: number, maxLen: number, longEvery: number): string[] => [node, writer, 'lines', id, String(count), '7', String(maxLen), String(longEvery)];
const scenarios: Scenario[] = [
  { name: '2 workers × 100 MB of lines, reader stalled 2 s, prefix slot', stallMs: 2000, config: { prefix: 'slot', format: 'text', warmup: lines('w0', 5000, 4000, 1), workers: [1, 2].map((slot) => ({ service: 'web', slot, stream: 'stdout' as const, argv: lines(`w${slot}`, 50_000, 4000, 1) })) } },
  { name: '2 workers × 100 MB of lines, free reader, no prefix', stallMs: 0, config: { prefix: 'none', format: 'text', workers: [1, 2].map((slot) => ({ service: 'web', slot, stream: 'stdout' as const, argv: lines(`w${slot}`, 50_000, 4000, 1) })) } },
  { name: '2 workers × 100 MB of lines, free reader, --log-format json', stallMs: 0, config: { prefix: 'none', format: 'json', workers: [1, 2].map((slot) => ({ service: 'web', slot, stream: 'stdout' as const, argv: lines(`w${slot}`, 50_000, 4000, 1) })) } },
  { name: '40 MiB without a newline (cut into 640 pieces)', stallMs: 0, config: { prefix: 'slot', format: 'text', workers: [{ service: 'web', slot: 1, stream: 'stdout', argv: [node, writer, 'noline', 'w1', String(40 * MiB)] }] } },
  { name: '40 MB of \\r progress updates', stallMs: 0, config: { prefix: 'slot', format: 'text', workers: [{ service: 'web', slot: 1, stream: 'stdout', argv: [node, writer, 'progress', 'w1', String(40 * MiB)] }] } },
  { name: '8 workers × 1,500 lines up to 100 KiB (~80 MB), prefix slot', stallMs: 0, config: { prefix: 'slot', format: 'text', workers: Array.from({ length: 8 }, (_, i) => ({ service: 'web', slot: i, stream: 'stdout' as const, argv: lines(`w${i}`, 1500, 100 * 1024, 8) })) } },
];

// One harness run; resolves with its report and the bytes this reader got.
async function runOnce(scenario: Scenario): Promise<Done & { bytes: number }> {
  const [readEnd, writeEnd] = native.pipe();
  const child = spawn(node, [harness, JSON.stringify(scenario.config)], { stdio: ['ignore', writeEnd, 'pipe'] });
  native.closeFd(writeEnd);
  let report: Done | null = null;
  let errors = '';
  child.stderr?.setEncoding('utf8');
  let partial = '';
  child.stderr?.on('data', (text: string) => {
    const all = (partial + text).split('\n');
    partial = all.pop() ?? '';
    for (const line of all) {
      if (line.startsWith('{"event":"done"')) report = JSON.parse(line) as Done;
      else if (!line.startsWith('{"event"')) errors += `${line}\n`;
    }
  });
  const exited = new Promise<number | null>((resolve) => { child.on('close', resolve); });
  const killer = setTimeout(() => { child.kill('SIGKILL'); }, 120_000);
  // The stall is the scenario (a stuck log reader), not a synchronisation.
  if (scenario.stallMs > 0) await new Promise((resolve) => { setTimeout(resolve, scenario.stallMs); });
  let bytes = 0;
  const reader = new Socket({ fd: readEnd, readable: true, writable: false });
  reader.on('data', (chunk: Buffer) => { bytes += chunk.length; });
  await new Promise((resolve) => { reader.on('end', resolve); });
  reader.destroy();
  const code = await exited;
  clearTimeout(killer);
  const done = report as Done | null;
  if (code !== 0 || done === null) throw new Error(`harness failed (${code}): ${errors}`);
  return { ...done, bytes };
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
};

async function main(): Promise<void> {
  const runsArg = process.argv.indexOf('--runs');
  const runs = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 3;
  console.log(`Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Linux ${release()}; median of ${runs} runs\n`);
  console.log('| scenario | output MB | wall s | pump CPU ms | MB per CPU s | peak RSS growth MiB (from start) | max event-loop delay ms |');
  console.log('|---|---|---|---|---|---|---|');
  for (const scenario of scenarios) {
    const results = [];
    for (let i = 0; i < runs; i++) results.push(await runOnce(scenario));
    const mb = median(results.map((r) => r.bytes)) / 1e6;
    const cpu = median(results.map((r) => r.cpuMs));
    console.log(`| ${scenario.name} | ${mb.toFixed(0)} | ${(median(results.map((r) => r.wallMs)) / 1000).toFixed(1)} | ${cpu.toFixed(0)} | ${(mb / (cpu / 1000)).toFixed(0)} | ${(median(results.map((r) => r.hwm - r.baseline.rss)) / MiB).toFixed(1)} (${(median(results.map((r) => r.hwm - r.cold.rss)) / MiB).toFixed(1)}) | ${median(results.map((r) => r.maxLoopDelayMs)).toFixed(0)} |`);
  }
}

await main();
