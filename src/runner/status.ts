// The status snapshot `tend status` and the control socket serve: per service, its phase, readiness, generation,
// last reload and workers. Never an environment value or an argument beyond the command's name.
import { basename } from 'node:path';
import { readyCount, type ServicePhase } from '../core/service-machine.js';
import type { TendState } from '../core/tend-machine.js';
import type { ServiceRuntime } from './runner.js';

/** One worker (or setup step) as `tend status` shows it. */
export interface WorkerStatus {
  readonly slot: number;
  readonly pid: number | null;
  readonly state: string;
  readonly role: 'step' | 'worker';
  readonly generation: number;
  readonly uptimeMs: number;
  readonly status: string | null;
  /** Failed liveness probes in a row (with --liveness), else null. */
  readonly probeFailures: number | null;
  /** What the app holds its stop for (`hold(name)`), with when each was first taken (ISO time). */
  readonly holds: readonly { readonly name: string; readonly since: string; readonly count: number }[];
}

/** One service as `tend status` shows it. */
export interface ServiceStatus {
  readonly name: string;
  readonly command: string;
  readonly phase: ServicePhase;
  readonly generation: number;
  readonly ready: number;
  readonly desired: number;
  readonly lastReload: { readonly ok: boolean; readonly at: string; readonly detail: string } | null;
  /** With --liveness: whether half or more of the ready workers fail at once (nobody is replaced then); else null. */
  readonly liveness: { readonly degraded: boolean; readonly threshold: number } | null;
  readonly workers: readonly WorkerStatus[];
}

/** The whole of tend. The first service's figures are repeated at the top level for older clients. */
export interface TendStatus {
  readonly phase: TendState['phase'];
  readonly services: readonly ServiceStatus[];
  readonly generation: number;
  readonly ready: number;
  readonly desired: number;
  readonly lastReload: ServiceStatus['lastReload'];
  readonly workers: readonly WorkerStatus[];
}

// Build the snapshot from the machines' states and the runner's process facts.
export function snapshot(tend: TendState, services: ReadonlyMap<string, ServiceRuntime>): TendStatus {
  const now = Date.now();
  const list: ServiceStatus[] = [...services.values()].map((rt) => {
    const counts = readyCount(rt.state);
    const live = rt.spec.liveness?.probe == null ? null : rt.spec.liveness;
    const workers = Object.values(rt.state.procs).map((rec) => {
      const proc = rt.procs.get(rec.id);
      return {
        slot: rec.slot,
        pid: rec.state?.pid ?? null,
        state: rec.state?.kind ?? 'spawning',
        role: rec.role,
        generation: rec.generation,
        uptimeMs: proc === undefined ? 0 : now - proc.startedAt,
        status: proc?.statusText ?? null,
        probeFailures: live === null ? null : (rt.state.liveness.failures[rec.id] ?? 0),
        holds: rec.state === null || rec.state.kind === 'exited' ? [] : Object.entries(rec.state.holds ?? {})
          .map(([name, h]) => ({ name, since: new Date(h.since).toISOString(), count: h.count })),
      };
    });
    return {
      name: rt.spec.name,
      command: basename(rt.spec.command[0] ?? ''),
      phase: rt.state.phase,
      generation: rt.state.generation,
      ready: counts.ready,
      desired: counts.desired,
      lastReload: rt.lastReload,
      liveness: live === null ? null : { degraded: rt.state.liveness.degraded, threshold: live.failures },
      workers,
    };
  });
  const first = list[0];
  return {
    phase: tend.phase,
    services: list,
    generation: first?.generation ?? 0,
    ready: first?.ready ?? 0,
    desired: first?.desired ?? 0,
    lastReload: first?.lastReload ?? null,
    workers: first?.workers ?? [],
  };
}
