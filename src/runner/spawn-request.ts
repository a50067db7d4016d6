// One place that turns "start process P of service S" into a spawn request: argv, env (the tend ⇄ worker contract),
// fds (stdio or output pipes, LISTEN_FDS sockets, the notify channel), working directory, limits and credentials.
import type { ServiceSpec } from '../config/spec.js';
import address from '../contract/address.cjs';
import contract from '../contract/env.cjs';
import { drainSpreadMs } from '../core/stop-budget.js';
import type { OpenSocket } from '../os/listen-sockets.js';
import type { NotifyChannel } from '../os/notify-channel.js';
import type { RlimitEntry } from '../os/rlimits.js';
import type { ProcessSpec } from '../os/spawn.js';
import type { Credentials } from '../os/users.js';

const { ENV, FIRST_LISTEN_FD } = contract;

/** What the runner knows about the process being started. */
export interface SpawnContext {
  readonly spec: ServiceSpec;
  readonly slot: number;
  readonly generation: number;
  readonly role: 'step' | 'worker';
  readonly step: number;
  /** The service's current number of slots. */
  readonly workers: number;
  /** The single command of a plain `tend run`: its environment passes through untouched, like tini's. */
  readonly plain: boolean;
  /** tend's environment, what a child gets of it (but tend's own variables) and what tend reads of it. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** `env` is process.env itself: the child inherits it through the addon, and the request holds only the changes. */
  readonly inheritEnv: boolean;
  readonly sockets: readonly OpenSocket[];
  readonly notify: NotifyChannel | null;
  /** The worker's end of its Node IPC channel (ipc-channel.ts), for Node workers with the preload. */
  readonly ipc: { readonly childFd: number } | null;
  readonly stdio: readonly [number, number, number];
  readonly rlimits: readonly RlimitEntry[];
  readonly credentials: Credentials | null;
  readonly foregroundTty: number;
  readonly preloadPath: string | null;
  /** Where the worker's preload serves liveness probes (TEND_PROBE_SOCKET), or null. */
  readonly probeSocket?: string | null;
}

// systemd's watchdog and socket settings are tend's own; a child gets only what tend gives it.
const TEND_OWN_NAMES: readonly string[] = ['WATCHDOG_PID', 'WATCHDOG_USEC', ENV.listenFds, ENV.listenPid, ENV.listenFdNames, ENV.ipcFd, ENV.probeSocket];
const TEND_OWN_ENV: ReadonlySet<string> = new Set<string>(TEND_OWN_NAMES);

/** What a child gets the moment tend dies: TERM, the start of every graceful stop (a drain, a clean exit). */
export const PARENT_DEATH_SIGNAL = 'SIGTERM';

// Build the spawn request for one process.
export function spawnRequest(ctx: SpawnContext): ProcessSpec {
  const argv = ctx.role === 'step' ? (ctx.spec.before[ctx.step] ?? []) : ctx.spec.command;
  const sockets = ctx.role === 'step' ? [] : ctx.sockets;
  const notifyFd = FIRST_LISTEN_FD + sockets.length;
  // Inheriting, `env` holds only what changes: tend's own variables are left out by name (unsetEnv).
  const env = passedEnv(ctx.inheritEnv ? [ctx.spec.env] : [ctx.env, ctx.spec.env], TEND_OWN_ENV);
  // What the child's variable `name` is so far: set here, else inherited (unless it is one of tend's own).
  const current = (name: string): string | undefined => (name in env || !ctx.inheritEnv || TEND_OWN_ENV.has(name) ? env[name] : ctx.env[name]);
  if (!ctx.plain) {
    env[ENV.service] = ctx.spec.name;
    env[ENV.workerIndex] = String(ctx.slot);
    env[ENV.workerCount] = String(ctx.workers);
    env[ENV.generation] = String(ctx.generation);
  }
  if (ctx.notify !== null) {
    env[ENV.notifySocket] = ctx.notify.path;
    env[ENV.notifyFd] = String(notifyFd);
  }
  const ipcFd = notifyFd + (ctx.notify === null ? 0 : 1);
  if (ctx.ipc !== null) env[ENV.ipcFd] = String(ipcFd);
  if (sockets.length > 0) {
    env[ENV.listenFds] = String(sockets.length);
    env[ENV.listenPid] = ''; // filled with the child's own pid between fork and exec
    env[ENV.listenFdNames] = sockets.map((s) => s.spec.name).join(':');
    env[ENV.listenMap] = address.formatListenMap(sockets.map((s) => s.address), FIRST_LISTEN_FD);
    const tcp = sockets.find((s) => s.port !== null);
    if (current('PORT') === undefined && tcp?.port != null) env['PORT'] = String(tcp.port);
  }
  if (ctx.spec.watchdogMs !== null && ctx.role === 'worker') env['WATCHDOG_USEC'] = String(ctx.spec.watchdogMs * 1000);
  Object.assign(env, probeEnv(ctx));
  if (ctx.preloadPath !== null && ctx.role === 'worker') {
    env['NODE_OPTIONS'] = `${current('NODE_OPTIONS') ?? ''} --require ${ctx.preloadPath}`.trim();
    env[ENV.drainSpreadMs] = String(drainSpreadMs(ctx.spec));
  }
  return {
    argv,
    env,
    inheritEnv: ctx.inheritEnv,
    unsetEnv: TEND_OWN_NAMES,
    cwd: ctx.spec.cwd,
    rlimits: ctx.rlimits,
    credentials: ctx.credentials,
    foregroundTty: ctx.foregroundTty,
    // No process outlives tend: if tend dies (SIGKILL, the OOM killer) its children get the usual graceful signal.
    parentDeathSignal: PARENT_DEATH_SIGNAL,
    fds: [...ctx.stdio, ...sockets.map((s) => s.fd), ...(ctx.notify === null ? [] : [ctx.notify.childFd]), ...(ctx.ipc === null ? [] : [ctx.ipc.childFd])],
  };
}

// The variables of `sources` (later ones win) but the `own` ones, in one pass. A null prototype makes the object a
// dictionary from the start (a literal would take a new hidden class per variable: ~40 µs for 35 variables) and
// keeps a variable named like an Object.prototype member (`constructor`) an ordinary one.
function passedEnv(sources: readonly Readonly<Record<string, string | undefined>>[], own: ReadonlySet<string>): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = Object.create(null) as Record<string, string | undefined>;
  for (const source of sources) {
    for (const key of Object.keys(source)) if (!own.has(key)) env[key] = source[key];
  }
  return env;
}

// TEND_PROBE_SOCKET for a Node worker whose liveness probe goes through its private socket.
function probeEnv(ctx: SpawnContext): Record<string, string> {
  return ctx.probeSocket != null && ctx.preloadPath !== null && ctx.role === 'worker' ? { [ENV.probeSocket]: ctx.probeSocket } : {};
}
