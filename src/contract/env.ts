// The tend ⇄ worker contract: the environment variable names tend sets for the processes it starts. One home, read by
// the runner (which sets them), documented in docs/protocol.md; the preload and the in-app library read the same names.
export const ENV = {
  /** The service's name (several services, or a pool). */
  service: 'TEND_SERVICE',
  workerIndex: 'TEND_WORKER_INDEX',
  workerCount: 'TEND_WORKER_COUNT',
  generation: 'TEND_GENERATION',
  /** sd_notify path for any language, and the already-connected datagram fd for apps without native code. */
  notifySocket: 'NOTIFY_SOCKET',
  notifyFd: 'TEND_NOTIFY_FD',
  /** systemd socket activation: fds 3 … 3+n-1, for LISTEN_PID only (filled in between fork and exec). */
  listenFds: 'LISTEN_FDS',
  listenPid: 'LISTEN_PID',
  listenFdNames: 'LISTEN_FDNAMES',
  /** What each inherited fd listens on: "3=tcp:0.0.0.0:3000,4=unix:/run/app.sock". */
  listenMap: 'TEND_LISTEN_MAP',
  /** A Node IPC channel to tend (JSON mode), claimed as process.send by the first Node process that is not a launcher. */
  ipcFd: 'TEND_IPC_FD',
  /** Node workers with the preload: how long it spreads closing upgraded connections over on a stop (ms). */
  drainSpreadMs: 'TEND_DRAIN_SPREAD_MS',
} as const;
