// A stand-in for tend's output path, run as its own process so its memory and CPU can be measured: starts the
// workers given in argv[2] (JSON) on pipes it owns, pumps them all into its own stdout (one shared sink), and
// reports on stderr, one JSON object a line: {"event":"status",…} every statusEveryMs, then {"event":"done",…}.
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { Socket } from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { LogFormat, LogPrefix, OutputStream } from '../../src/output/format.js';
import { LineRing } from '../../src/output/line-ring.js';
import { OutputSink } from '../../src/output/sink.js';
import { native } from '../../src/os/native.js';
import { pumpOutput, stdioSink, type OutputPump } from '../../src/os/output.js';

/** What the harness runs. */
export interface HarnessConfig {
  readonly workers: readonly { service: string; slot: number; stream: OutputStream; argv: readonly string[] }[];
  readonly prefix: LogPrefix;
  readonly format: LogFormat;
  readonly maxLine?: number;
  readonly sinkCap?: number;
  readonly statusEveryMs?: number;
  /** A writer run first through the same path into a pipe the harness drains itself, before the baseline is
   * taken: Node pages in its code and compiles the hot path once, as in a tend that has been running a while. */
  readonly warmup?: readonly string[];
}

/** Memory figures from /proc/self/status, in bytes. */
function memory(): { rss: number; hwm: number } {
  const status = readFileSync('/proc/self/status', 'utf8');
  const kib = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  return { rss: kib('VmRSS'), hwm: kib('VmHWM') };
}

/** The longest time the loop went without running a 10 ms timer, counting only time this process spent on CPU:
 * a stall caused by tend's own work, not by the scheduler giving the CPU to other processes of a busy machine. */
function watchBusyGaps(): { stop(): number } {
  let longest = 0;
  let wall = performance.now();
  let cpu = process.cpuUsage();
  const timer = setInterval(() => {
    const nowWall = performance.now();
    const cpuDelta = process.cpuUsage(cpu);
    longest = Math.max(longest, Math.min(nowWall - wall, (cpuDelta.user + cpuDelta.system) / 1000) - 10);
    wall = nowWall;
    cpu = process.cpuUsage();
  }, 10);
  return { stop: () => { clearInterval(timer); return longest; } };
}

function report(event: Record<string, unknown>): void {
  process.stderr.write(`${JSON.stringify(event)}\n`);
}

// Start a worker on a pipe and pump it into `sink`.
function startWorker(argv: readonly string[], sink: OutputSink, config: HarnessConfig, labels: { service: string; slot: number; stream: OutputStream }, ring: LineRing): { pump: OutputPump; exit: Promise<number | null> } {
  const [readEnd, writeEnd] = native.pipe();
  const [file, ...args] = argv;
  const child = spawn(file ?? 'false', args, { stdio: ['ignore', writeEnd, 'inherit'] });
  native.closeFd(writeEnd);
  const exit = new Promise<number | null>((resolve) => { child.on('exit', (code) => { resolve(code); }); });
  const pump = pumpOutput({
    fd: readEnd, stream: labels.stream, sink, ring,
    format: { prefix: config.prefix, format: config.format },
    labels: { service: labels.service, slot: labels.slot, pid: child.pid ?? 0 },
    ...(config.maxLine === undefined ? {} : { maxLine: config.maxLine }),
  });
  return { pump, exit };
}

// Run the warm-up writer into a pipe this process drains, through a sink of its own.
async function warmUp(argv: readonly string[], config: HarnessConfig): Promise<void> {
  const [readEnd, writeEnd] = native.pipe();
  const drain = new Socket({ fd: readEnd, readable: true, writable: false });
  const drained = new Promise((resolve) => { drain.on('end', resolve); });
  drain.resume();
  const out = new Socket({ fd: writeEnd, readable: false, writable: true });
  const sink = new OutputSink(out);
  const { pump, exit } = startWorker(argv, sink, config, { service: 'warmup', slot: 0, stream: 'stdout' }, new LineRing());
  await pump.done;
  await exit;
  await sink.flushed();
  out.end();
  await drained;
  drain.destroy();
}

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2] ?? '{}') as HarnessConfig;
  const cold = memory();
  if (config.warmup !== undefined) await warmUp(config.warmup, config);
  const sink = stdioSink('stdout', config.sinkCap === undefined ? {} : { maxQueuedBytes: config.sinkCap });
  // Writing 5 resets VmHWM (Linux ≥ 4.0), so the peak measured is the pump's, not start-up's.
  try { writeFileSync('/proc/self/clear_refs', '5'); } catch { /* older kernel: VmHWM then includes start-up */ }
  const baseline = memory();
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  const busy = watchBusyGaps();
  const cpuBefore = process.cpuUsage();
  const startedAt = performance.now();
  const exits: Promise<number | null>[] = [];
  const pumps: OutputPump[] = [];
  const rings: LineRing[] = [];
  for (const worker of config.workers) {
    const ring = new LineRing({ lines: 1000, bytes: 256 * 1024 });
    rings.push(ring);
    const { pump, exit } = startWorker(worker.argv, sink, config, worker, ring);
    pumps.push(pump);
    exits.push(exit);
  }
  const status = setInterval(() => {
    report({ event: 'status', ...memory(), heap: process.memoryUsage().heapTotal, external: process.memoryUsage().external, queued: sink.queuedBytes, paused: pumps.map((p) => p.stats().paused), bytesRead: pumps.map((p) => p.stats().bytesRead) });
  }, config.statusEveryMs ?? 100);
  await Promise.all(pumps.map((p) => p.done));
  const codes = await Promise.all(exits);
  await sink.flushed();
  const cpu = process.cpuUsage(cpuBefore);
  loop.disable();
  const maxBusyGapMs = busy.stop();
  clearInterval(status);
  report({
    event: 'done', cold, baseline, ...memory(), exitCodes: codes, sinkError: sink.error?.message ?? null,
    cpuMs: (cpu.user + cpu.system) / 1000, wallMs: performance.now() - startedAt, maxLoopDelayMs: loop.max / 1e6, maxBusyGapMs,
    stats: pumps.map((p) => p.stats()), rings: rings.map((r) => r.size),
  });
}

await main();
