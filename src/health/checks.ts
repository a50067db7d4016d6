// tend's /livez and /readyz as the Kubernetes API server answers them: named checks, `?verbose` with [+]/[-] lines,
// `/readyz/<check>` for one check, `?exclude=<check>` to leave some out. Pure: status and facts in, status code and
// body out. Never an environment value or an argument: only names, counts and states.

/** What the health endpoints read of one worker (the status snapshot has these and more). */
export interface WorkerView {
  readonly slot: number;
  readonly pid: number | null;
  readonly state: string;
  readonly role: 'step' | 'worker';
  readonly uptimeMs: number;
}

/** What the health endpoints read of the status snapshot; runner/status.ts's TendStatus is one. */
export interface StatusView {
  readonly phase: string;
  readonly services: readonly {
    readonly name: string;
    readonly phase: string;
    readonly ready: number;
    readonly desired: number;
    readonly workers: readonly WorkerView[];
  }[];
}

/** One named check and what `?verbose` shows under it. */
export interface Check {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
  /** Informational lines (one per worker) shown under the check with `?verbose`; they do not decide anything. */
  readonly lines: readonly string[];
}

/** An HTTP answer: status code and plain-text body. */
export interface HealthAnswer {
  readonly code: number;
  readonly body: string;
}

/** What /readyz needs beyond the status: each service's `--min-ready` and whether it is a oneshot. */
export interface ServiceFacts {
  readonly minReady: number;
  readonly oneshot: boolean;
}

// /livez: the loop answered (ping), and no service has given up (a crash loop tend stopped trying to fix).
export function liveChecks(givenUp: readonly string[]): Check[] {
  return [
    { name: 'ping', ok: true, detail: 'ok', lines: [] },
    { name: 'crash-loop', ok: givenUp.length === 0, detail: givenUp.length === 0 ? 'ok' : `gave up on ${givenUp.join(', ')}`, lines: [] },
  ];
}

// /readyz: tend is not stopping (nor in its stop delay), and each service has at least its --min-ready workers ready.
export function readyChecks(status: StatusView, facts: ReadonlyMap<string, ServiceFacts>): Check[] {
  const checks: Check[] = [
    { name: 'ping', ok: true, detail: 'ok', lines: [] },
    { name: 'shutdown', ok: status.phase === 'running', detail: status.phase === 'running' ? 'ok' : `tend is ${status.phase}`, lines: [] },
  ];
  for (const s of status.services) {
    const f = facts.get(s.name) ?? { minReady: 1, oneshot: false };
    const ok = f.oneshot ? s.phase === 'done' : s.ready >= f.minReady && s.phase !== 'stopping' && s.phase !== 'stopped';
    const detail = f.oneshot ? (ok ? 'ok (done)' : `not done (${s.phase})`) : `${s.ready}/${s.desired} ready, needs ${f.minReady}`;
    const lines = s.workers.filter((w) => w.role === 'worker').map((w) => `${w.state === 'ready' ? '[+]' : '[-]'}${s.name}.${w.slot} ${w.state}`);
    checks.push({ name: `service/${s.name}`, ok, detail, lines });
  }
  return checks;
}

// Answer GET/HEAD /livez or /readyz (`base`), optionally `/<check>`, with the API server's conventions.
export function answerChecks(base: 'livez' | 'readyz', rest: string, query: URLSearchParams, checks: readonly Check[]): HealthAnswer {
  if (rest !== '') {
    const one = checks.find((c) => c.name === rest);
    if (one === undefined) return { code: 404, body: `404 page not found: no ${base} check named ${JSON.stringify(rest)}\n` };
    return one.ok ? { code: 200, body: 'ok' } : { code: 500, body: `internal server error: ${one.name} failed: ${one.detail}\n` };
  }
  const excluded = new Set(query.getAll('exclude'));
  const used = checks.filter((c) => !excluded.has(c.name));
  const unknown = [...excluded].filter((name) => !checks.some((c) => c.name === name));
  const verbose = query.has('verbose');
  const ok = used.every((c) => c.ok);
  if (ok && !verbose) return { code: 200, body: 'ok' };
  const out: string[] = [];
  for (const c of used) {
    out.push(c.ok ? `[+]${c.name} ok` : `[-]${c.name} failed: ${verbose ? c.detail : 'reason withheld'}`);
    if (verbose) for (const line of c.lines) out.push(`  ${line}`);
  }
  for (const c of checks) if (excluded.has(c.name)) out.push(`[+]${c.name} excluded: ok`);
  if (unknown.length > 0) out.push(`warn: some health checks cannot be excluded: no matches for ${unknown.map((n) => JSON.stringify(n)).join(',')}`);
  out.push(`${base} check ${ok ? 'passed' : 'failed'}`);
  return { code: ok ? 200 : 500, body: `${out.join('\n')}\n` };
}
