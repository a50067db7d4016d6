// The load generator: wrk (C, epoll, one thread) with a Lua done() hook that prints its totals, error classes,
// exact latency percentiles (wrk keeps a per-microsecond histogram) and its own CPU time as one JSON line.
// No per-request Lua hook is installed, so wrk stays as cheap as it is without a script.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { benchEnv, Proc } from './procs.js';

/** What one wrk run measured. */
export interface WrkResult {
  seconds: number;
  /** Complete responses (any status). */
  requests: number;
  rps: number;
  /** Socket errors as wrk counts them: connect() failures; read errors (ECONNRESET, or the server closing the
   *  connection before a complete response); write errors (EPIPE/ECONNRESET while sending); timeouts (a response
   *  slower than --timeout, left out of the latency figures). */
  errors: { connect: number; read: number; write: number; timeout: number };
  /** Responses with status > 399 (wrk's "Non-2xx or 3xx"). */
  non2xx: number;
  /** Requests that got no usable answer: read + write errors + non-2xx + timeouts. */
  failed: number;
  latencyMs: { mean: number; p50: number; p90: number; p99: number; p999: number; max: number };
  /** CPU time wrk itself used, as a fraction of one CPU over the run. */
  wrkCpu: number;
}

const LUA = `-- written by bench/pool/wrk.ts: prints one JSON line with the run's totals when wrk is done
done = function(summary, latency, requests)
  local e = summary.errors
  local ticks = 0
  local f = io.open("/proc/self/stat", "r")
  if f then
    local stat = f:read("*l") or ""
    f:close()
    local rest = stat:match("%) (.*)$") or ""
    local fields = {}
    for w in rest:gmatch("%S+") do fields[#fields + 1] = w end
    ticks = (tonumber(fields[12]) or 0) + (tonumber(fields[13]) or 0)
  end
  local p = function(q) if summary.requests > 0 then return latency:percentile(q) else return 0 end end
  io.write(string.format('WRK_JSON {"durationUs":%d,"requests":%d,"bytes":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,"meanUs":%.1f,"maxUs":%d,"p50Us":%d,"p90Us":%d,"p99Us":%d,"p999Us":%d,"cpuTicks":%d}\\n',
    summary.duration, summary.requests, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency.max, p(50), p(90), p(99), p(99.9), ticks))
end
`;

let scriptPath: string | null = null;

// Write the Lua reporter into `dir` (once per run).
export function prepareWrk(dir: string): void {
  scriptPath = join(dir, 'report.lua');
  writeFileSync(scriptPath, LUA);
}

export interface WrkOptions {
  url: string;
  connections: number;
  seconds: number;
  /** Extra request headers, e.g. "Connection: close". */
  headers?: readonly string[];
  timeoutSeconds?: number;
}

/** A wrk run in progress. */
export interface WrkRun {
  readonly startedAt: number;
  readonly done: Promise<WrkResult>;
  /** End the run early (SIGINT: wrk stops, prints its totals and runs done() as at the end of -d). */
  stop(): void;
}

// Start wrk; `done` resolves with its result (rejects if it fails or overruns its duration by 20 s).
export function startWrk(o: WrkOptions): WrkRun {
  if (scriptPath === null) throw new Error('prepareWrk() first');
  const argv = ['wrk', '-t1', `-c${o.connections}`, `-d${o.seconds}s`, `--timeout`, `${o.timeoutSeconds ?? 2}s`, '-s', scriptPath];
  for (const h of o.headers ?? []) argv.push('-H', h);
  argv.push(o.url);
  const startedAt = Date.now();
  const proc = new Proc(argv, benchEnv());
  const done = (async (): Promise<WrkResult> => {
    const exit = await proc.waitExit(o.seconds * 1000 + 20_000);
    if (exit === null) {
      process.kill(-proc.pid, 'SIGKILL');
      throw new Error(`wrk overran its ${o.seconds} s by 20 s`);
    }
    // stdout may still be buffered right after 'exit'
    const line = (await proc.waitFor(/^WRK_JSON /, 2000)) ?? '';
    if (line === '') throw new Error(`wrk exited ${exit.code ?? exit.signal ?? '?'} without a result: ${proc.tail()}`);
    const j = JSON.parse(line.slice('WRK_JSON '.length)) as Record<string, number>;
    const n = (k: string): number => j[k] ?? 0;
    const seconds = n('durationUs') / 1e6;
    const errors = { connect: n('connect'), read: n('read'), write: n('write'), timeout: n('timeout') };
    const ms = (k: string): number => n(k) / 1000;
    return {
      seconds,
      requests: n('requests'),
      rps: seconds > 0 ? n('requests') / seconds : 0,
      errors,
      non2xx: n('status'),
      failed: errors.read + errors.write + errors.timeout + n('status'),
      latencyMs: { mean: ms('meanUs'), p50: ms('p50Us'), p90: ms('p90Us'), p99: ms('p99Us'), p999: ms('p999Us'), max: ms('maxUs') },
      wrkCpu: seconds > 0 ? n('cpuTicks') / 100 / seconds : 0,
    };
  })();
  return { startedAt, done, stop: () => { if (proc.exit === null) process.kill(proc.pid, 'SIGINT'); } };
}

export function runWrk(o: WrkOptions): Promise<WrkResult> {
  return startWrk(o).done;
}
