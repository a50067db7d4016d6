// tend's own HTTP listener for a load balancer, Kubernetes and Prometheus: /livez, /readyz, /metrics. It is bound
// before anything starts (a port in use is a start-up error, not a surprise later) and answers from tend's own loop,
// so a live answer means tend's loop runs. It reads only the event stream and the status snapshot.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { ServiceSpec } from '../config/spec.js';
import { TendError } from '../errors.js';
import type { EventSink } from '../core/events.js';
import { answerChecks, liveChecks, readyChecks, type HealthAnswer, type ServiceFacts, type StatusView } from './checks.js';
import { METRICS_CONTENT_TYPE, MetricsCounters, renderMetrics } from './metrics.js';
import type { HealthAddress } from './options.js';
import { mergeWorkerMetrics, scrapeWorkers, type WorkerEndpoint } from './worker-metrics.js';

/** What the listener reads of a running tend (runner.ts's TendHandle is one). */
export interface HealthSource {
  status(): StatusView;
  subscribe(sink: EventSink): () => void;
  /** The private probe socket of each ready worker (for --metrics-workers). */
  probeSockets?(): readonly { readonly service: string; readonly slot: number; readonly socket: string }[];
}

/** A bound health listener; `attach` connects it to the running tend. */
export interface HealthServer {
  readonly address: string;
  attach(tend: HealthSource): void;
  close(): void;
}

// Bind `address` and answer 503 until a tend is attached; rejects with TEND_ERR_LISTEN (exit 69) when it cannot bind.
export function listenHealth(address: HealthAddress, services: readonly ServiceSpec[]): Promise<HealthServer> {
  const facts = new Map<string, ServiceFacts>(services.map((s) => [s.name, { minReady: s.minReady ?? 1, oneshot: s.type === 'oneshot' }]));
  const counters = new MetricsCounters();
  const workerPaths = new Map(services.flatMap((s) => (s.metricsWorkers === undefined ? [] : [[s.name, s.metricsWorkers] as const])));
  const givenUp: string[] = [];
  let tend: HealthSource | null = null;
  const server = createServer((req, res) => { void respond(req, res, () => (tend === null ? null : route(req, tend, { facts, counters, givenUp, workerPaths }))); });
  server.keepAliveTimeout = 5_000;
  return new Promise((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      reject(new TendError('TEND_ERR_LISTEN', `--health-listen ${address.host}:${address.port}: cannot listen (${error.code ?? error.message}); choose a free port or another address`));
    });
    server.listen({ host: address.host, port: address.port, exclusive: true }, () => {
      const bound = server.address();
      const shown = typeof bound === 'object' && bound !== null ? `${bound.family === 'IPv6' ? `[${bound.address}]` : bound.address}:${bound.port}` : String(bound);
      resolve({
        address: shown,
        attach: (t) => {
          tend = t;
          t.subscribe((event) => {
            counters.observe(event, Date.now());
            if (event.type === 'service-ended' && event.why === 'gave-up' && !givenUp.includes(event.service)) givenUp.push(event.service);
          });
        },
        close: () => { closeServer(server); },
      });
    });
  });
}

/** What the routes read besides the running tend. */
interface RouteContext {
  readonly facts: ReadonlyMap<string, ServiceFacts>;
  readonly counters: MetricsCounters;
  readonly givenUp: readonly string[];
  /** Per service, its --metrics-workers path. */
  readonly workerPaths: ReadonlyMap<string, string>;
}

type Answer = HealthAnswer & { type?: string };

function route(req: IncomingMessage, tend: HealthSource, ctx: RouteContext): Answer | Promise<Answer> {
  const url = new URL(req.url ?? '/', 'http://tend');
  const path = url.pathname.replace(/\/+$/, '');
  if (path === '/metrics') return metrics(tend, ctx);
  const match = /^\/(livez|readyz)(?:\/(.+))?$/.exec(path);
  if (match === null) return { code: 404, body: '404 page not found: tend serves /livez, /readyz and /metrics\n' };
  const base = match[1] === 'livez' ? 'livez' : 'readyz';
  const checks = base === 'livez' ? liveChecks(ctx.givenUp) : readyChecks(tend.status(), ctx.facts);
  return answerChecks(base, match[2] ?? '', url.searchParams, checks);
}

// tend's own metrics, then (with --metrics-workers) each worker's, scraped now through its private socket.
async function metrics(tend: HealthSource, ctx: RouteContext): Promise<Answer> {
  const endpoints: WorkerEndpoint[] = ctx.workerPaths.size === 0 || tend.probeSockets === undefined ? [] : tend.probeSockets().flatMap((w) => {
    const path = ctx.workerPaths.get(w.service);
    return path === undefined ? [] : [{ ...w, path }];
  });
  const scrapes = endpoints.length === 0 ? [] : await scrapeWorkers(endpoints);
  for (const s of scrapes) ctx.counters.workerScrape(s.service, s.slot, s.text !== null);
  const own = renderMetrics(tend.status(), ctx.counters, Date.now());
  if (ctx.workerPaths.size === 0) return { code: 200, body: own, type: METRICS_CONTENT_TYPE };
  const extra: string[] = [];
  ctx.counters.renderScrapes(extra);
  extra.push(...mergeWorkerMetrics(scrapes));
  return { code: 200, body: `${own}${extra.join('\n')}\n`, type: METRICS_CONTENT_TYPE };
}

async function respond(req: IncomingMessage, res: ServerResponse, answer: () => Answer | Promise<Answer> | null): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain; charset=utf-8' }).end('method not allowed\n');
    return;
  }
  const a = (await answer()) ?? { code: 503, body: 'tend is starting\n' };
  if (res.destroyed) return;
  res.writeHead(a.code, {
    'Content-Type': a.type ?? 'text/plain; charset=utf-8',
    'Content-Length': Buffer.byteLength(a.body),
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
  });
  res.end(req.method === 'HEAD' ? undefined : a.body);
}

function closeServer(server: Server): void {
  server.close();
  server.closeAllConnections();
}
