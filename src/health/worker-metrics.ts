// `--metrics-workers PATH`: each worker's own Prometheus metrics, scraped through its private probe socket (so each
// answer is that worker's, not whichever worker the shared port picks) and re-exported with `service` and `slot`
// labels, never summed: one worker's restart resets only its own series (prom-client's cluster aggregation sums
// counters across workers, so every restart looks like a reset of the whole). A worker that does not answer within
// the timeout is skipped and counted; it never fails the scrape.
import { request } from 'node:http';

/** One worker to scrape. */
export interface WorkerEndpoint {
  readonly service: string;
  readonly slot: number;
  /** Its private probe socket. */
  readonly socket: string;
  /** The path its metrics are served on (`--metrics-workers`). */
  readonly path: string;
}

/** One worker's answer: its text, or null when it did not answer (in time, with 200). */
export interface WorkerScrape {
  readonly service: string;
  readonly slot: number;
  readonly text: string | null;
}

/** How long tend waits for a worker's metrics. */
export const WORKER_SCRAPE_TIMEOUT_MS = 2_000;
/** The most tend reads of one worker's answer. */
const MAX_WORKER_METRICS_BYTES = 4 * 1024 * 1024;

// Scrape every endpoint at once, each bounded by `timeoutMs`.
export function scrapeWorkers(endpoints: readonly WorkerEndpoint[], timeoutMs = WORKER_SCRAPE_TIMEOUT_MS): Promise<WorkerScrape[]> {
  return Promise.all(endpoints.map(async (e) => ({ service: e.service, slot: e.slot, text: await scrapeOne(e.socket, e.path, timeoutMs) })));
}

function scrapeOne(socketPath: string, path: string, timeoutMs: number): Promise<string | null> {
  return new Promise((resolve) => {
    let settled = false;
    const finish = (text: string | null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(text);
    };
    const req = request({ socketPath, path, method: 'GET', agent: false, headers: { host: 'localhost', connection: 'close', accept: 'text/plain;version=0.0.4' } }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        finish(null);
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_WORKER_METRICS_BYTES) {
          req.destroy();
          finish(null);
          return;
        }
        chunks.push(chunk);
      });
      res.on('end', () => { finish(Buffer.concat(chunks).toString('utf8')); });
      res.on('error', () => { finish(null); });
    });
    const timer = setTimeout(() => { req.destroy(); finish(null); }, timeoutMs);
    req.on('error', () => { finish(null); });
    req.end();
  });
}

/** One metric family of a worker's text: its HELP and TYPE lines (if any) and its samples, relabelled. */
interface Family {
  readonly name: string;
  help: string | null;
  type: string | null;
  readonly samples: string[];
}

const SUFFIXES = ['_bucket', '_sum', '_count', '_total', '_created', '_info', '_gcount', '_gsum'];
const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+(-?\d+))?\s*$/;
const META = /^#\s+(HELP|TYPE)\s+([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\s+(.*))?$/;

// Merge the workers' texts into families, each family once (its HELP and TYPE from the first worker that has them),
// every sample with `service` and `slot` labels in front (a worker's own labels of those names become exported_*).
// A family named like one of tend's own (`reserved` prefixes: tend_, process_) gets a `worker_` prefix.
export function mergeWorkerMetrics(scrapes: readonly WorkerScrape[], reserved: readonly string[] = ['tend_', 'process_']): string[] {
  const families = new Map<string, Family>();
  const rename = (name: string): string => (reserved.some((p) => name.startsWith(p)) ? `worker_${name}` : name);
  for (const s of scrapes) if (s.text !== null) addWorker(families, s.text, s.service, s.slot, rename);
  const out: string[] = [];
  for (const f of families.values()) {
    if (f.help !== null) out.push(`# HELP ${f.name} ${f.help}`);
    if (f.type !== null) out.push(`# TYPE ${f.name} ${f.type}`);
    out.push(...f.samples);
  }
  return out;
}

// One worker's text into the families: HELP/TYPE open a family, samples join the open one when their name is its
// (or its _bucket, _sum, ...), else their own; comments and lines that do not parse are dropped.
function addWorker(families: Map<string, Family>, text: string, service: string, slot: number, rename: (name: string) => string): void {
  let current: Family | null = null;
  const family = (name: string): Family => {
    const key = rename(name);
    let f = families.get(key);
    if (f === undefined) {
      f = { name: key, help: null, type: null, samples: [] };
      families.set(key, f);
    }
    return f;
  };
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    const meta = META.exec(line);
    if (meta !== null) {
      current = family(meta[2] ?? '');
      if (meta[1] === 'HELP') current.help ??= meta[3] ?? '';
      else current.type ??= meta[3] ?? 'untyped';
      continue;
    }
    const sample = line.startsWith('#') ? null : SAMPLE.exec(line);
    const name = sample?.[1];
    const labels = sample == null ? null : relabel(sample[2] ?? '', service, slot);
    if (sample == null || name === undefined || labels === null) continue;
    const owner = current !== null && belongsTo(rename(name), current.name) ? current : family(name);
    owner.samples.push(`${rename(name)}{${labels}} ${sample[3] ?? ''}${sample[4] === undefined ? '' : ` ${sample[4]}`}`);
  }
}

function belongsTo(sample: string, family: string): boolean {
  return sample === family || SUFFIXES.some((suffix) => sample === family + suffix);
}

// `service="web",slot="0"` and the worker's own labels (service/slot renamed exported_*); null when they do not parse.
function relabel(text: string, service: string, slot: number): string | null {
  const own: string[] = [];
  let rest = text.trim();
  while (rest !== '') {
    const m = /^([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*(?:,\s*)?/.exec(rest);
    if (m === null) return null;
    const name = m[1] ?? '';
    own.push(`${name === 'service' || name === 'slot' ? `exported_${name}` : name}="${m[2] ?? ''}"`);
    rest = rest.slice(m[0].length);
  }
  return [`service="${escapeLabel(service)}"`, `slot="${slot}"`, ...own].join(',');
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}
