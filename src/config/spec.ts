// What tend is asked to supervise, whatever the source (flags, a tend.yaml `services:` map, a Procfile, a PM2
// ecosystem file): one TendSpec with one ServiceSpec per service. A single command is a service with one slot that
// is never restarted and whose exit ends tend; a pool is a service with N slots. Types only.
import type { GuardPolicy, ListenSpec, LivenessPolicy, ReadyMode, RestartPolicy } from './pool-config.js';
import type { LogFormat, LogPrefix } from '../output/format.js';
import type { HealthAddress } from '../health/options.js';
import type { LimitSpec, StopStage, UserSpec } from './run-config.js';

/** Whether a service is done when its command exits 0 (oneshot, systemd's Type=oneshot) or is meant to run. */
export type ServiceType = 'simple' | 'oneshot';

/** When an exited process of a service is started again. */
export type RestartMode = 'always' | 'on-failure' | 'never';

/** One supervised service: everything a flag can say per service, plus the keys only a services map has. */
export interface ServiceSpec {
  /** The key in the services map; "main" for `tend run -- cmd`. */
  readonly name: string;
  readonly command: readonly string[];
  /** Variables set over tend's own environment for this service's processes. */
  readonly env: Readonly<Record<string, string>>;
  /** Working directory of its processes; null = tend's. */
  readonly cwd: string | null;
  readonly type: ServiceType;
  /** True when the service was declared as a pool (`--workers`, `workers:`): SIGHUP rolls it, HUP is not forwarded. */
  readonly pool: boolean;
  readonly workers: number;
  readonly restart: RestartMode;
  /** When it exits for good or gives up, tend goes on (true) or stops everything with its status (false). */
  readonly canDie: boolean;
  readonly dependsOn: readonly string[];
  /** Setup steps run once, in order, before the first process starts (systemd's ExecStartPre). */
  readonly before: readonly (readonly string[])[];
  readonly stop: readonly StopStage[];
  readonly signalScope: 'group' | 'child';
  readonly remapExit: ReadonlyMap<number, number>;
  readonly limits: readonly LimitSpec[];
  readonly user: UserSpec | null;
  readonly listen: readonly ListenSpec[];
  readonly socketStrategy: 'shared' | 'reuseport';
  readonly ready: ReadyMode;
  readonly readyTimeoutMs: number;
  readonly backoff: RestartPolicy;
  readonly reloadSurge: number;
  readonly guards: GuardPolicy;
  readonly preload: boolean;
  readonly watchdogMs: number | null;
  /** How long the preload spreads closing upgraded connections over (`--drain-spread`); absent = the default, 5 s. */
  readonly drainSpreadMs?: number;
  /** Workers that must be ready for tend's /readyz to pass (`--min-ready`); absent = 1. */
  readonly minReady?: number;
  /** Per-worker liveness probes (`--liveness`); absent = none. */
  readonly liveness?: LivenessPolicy;
  /** `--metrics-workers PATH`: each worker's own metrics, scraped through its private probe socket; absent = none. */
  readonly metricsWorkers?: string;
}

/** Everything one tend process supervises, plus the settings that belong to tend itself. */
export interface TendSpec {
  readonly services: readonly ServiceSpec[];
  readonly subreaper: boolean;
  readonly verbose: boolean;
  readonly control: string | null;
  /** `--control-group`: a group (name or gid) allowed read-only control requests, or null. */
  readonly controlGroup: string | null;
  /** Where the typed event stream is written as JSON lines (`--event-log`), or null. */
  readonly eventLog: string | null;
  /** `--log-prefix`; null = the default (none for a single command, slot for pools and several services). */
  readonly logPrefix: LogPrefix | null;
  readonly logFormat: LogFormat;
  readonly logMaxLine: number;
  /** Where tend serves /livez, /readyz and /metrics (`--health-listen`), or null. */
  readonly healthListen: HealthAddress | null;
  /** How long /readyz fails while the workers keep serving before a stop begins (`--stop-delay`). */
  readonly stopDelayMs: number;
  /** The orchestrator's budget for the whole stop (`--grace`), or null when none is given. */
  readonly graceMs: number | null;
  /** Where the services came from, for messages. */
  readonly source: { readonly kind: 'flags' } | { readonly kind: 'file'; readonly path: string; readonly format: 'tend' | 'procfile' | 'ecosystem' };
}
