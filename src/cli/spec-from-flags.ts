// Today's flag shape (RunConfig + PoolConfig) as a TendSpec with one service named "main".
import { DEFAULT_GUARDS, DEFAULT_READY_TIMEOUT_MS, DEFAULT_RESTART, type PoolConfig } from '../config/pool-config.js';
import type { RunConfig } from '../config/run-config.js';
import type { TendSpec } from '../config/spec.js';

// One service: a pool when --workers was given, else the single command (never restarted, its exit ends tend).
export function specFromFlags(config: RunConfig, pool: PoolConfig | null): TendSpec {
  return {
    services: [{
      name: 'main',
      command: config.command,
      env: {},
      cwd: null,
      type: 'simple',
      pool: pool !== null,
      workers: pool?.workers ?? 1,
      restart: pool === null ? 'never' : 'always',
      canDie: false,
      dependsOn: [],
      before: config.before,
      stop: config.stop,
      signalScope: config.signalScope,
      remapExit: config.remapExit,
      limits: config.limits,
      user: config.user,
      listen: pool?.listen ?? [],
      socketStrategy: pool?.socketStrategy ?? 'shared',
      ready: pool?.ready ?? { kind: 'auto' },
      readyTimeoutMs: pool?.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS,
      backoff: pool?.restart ?? DEFAULT_RESTART,
      reloadSurge: pool?.reloadSurge ?? 1,
      guards: pool?.guards ?? DEFAULT_GUARDS,
      preload: pool?.preload ?? false,
      watchdogMs: pool?.watchdogMs ?? null,
    }],
    subreaper: config.subreaper,
    verbose: config.verbose,
    control: pool?.control ?? null,
    eventLog: config.eventLog,
    source: { kind: 'flags' },
  };
}
