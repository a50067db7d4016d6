// The tend ⇄ worker contract, one home for both sides: the names tend sets in a worker's environment, the keys and
// commands it accepts back, and the address text both sides write. tend's runner sets these, the preload (inside
// every Node worker) and the in-app library (`import … from 'tend'`) read them; docs/protocol.md documents them.
// CommonJS with no imports, because the preload loads it with require() inside the app's own process.

/** Environment variables tend sets for the processes it starts. */
const ENV = {
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
  /** What each inherited fd listens on: "3=tcp:0.0.0.0:3000,4=unix:/run/app.sock" (see address.cts). */
  listenMap: 'TEND_LISTEN_MAP',
  /** A Node IPC channel to tend (JSON mode), claimed as process.send by the first Node process that is not a launcher. */
  ipcFd: 'TEND_IPC_FD',
  /** How long a keep-alive connection must be idle before the preload's drain closes it (ms). */
  drainIdleMs: 'TEND_DRAIN_IDLE_MS',
  /** Node workers with the preload: how long it spreads closing upgraded connections over on a stop (ms). */
  drainSpreadMs: 'TEND_DRAIN_SPREAD_MS',
  /** With --liveness http:/tcp or --metrics-workers: the unix socket path where the preload serves the app's server for this worker alone. */
  probeSocket: 'TEND_PROBE_SOCKET',
  /** Set for an exec liveness probe (--liveness exec:CMD), never for a worker: the probed worker's pid, slot, service. */
  probePid: 'TEND_PROBE_PID',
  probeSlot: 'TEND_PROBE_SLOT',
  probeService: 'TEND_PROBE_SERVICE',
  /** Verbose preload tracing on stderr. */
  preloadDebug: 'TEND_PRELOAD_DEBUG',
} as const;

/** systemd's first passed fd (SD_LISTEN_FDS_START): LISTEN_FDS=n means fds 3 … 3+n-1. */
const FIRST_LISTEN_FD = 3;

/** tend's own sd_notify key: the preload reports a listening server ("TEND_LISTENING=tcp:0.0.0.0:3000"). */
const NOTIFY_LISTENING = 'TEND_LISTENING';

/** tend's own sd_notify keys: the app holds work its stop must wait for (`hold(name)`), and releases it. */
const NOTIFY_HOLD = 'X_TEND_HOLD';
const NOTIFY_RELEASE = 'X_TEND_RELEASE';
/** The longest hold name tend accepts. */
const HOLD_NAME_MAX = 200;

/** Internal messages on the IPC channel (Node delivers cmd "NODE_…" as 'internalMessage', never to the app). */
const IPC = {
  /** {"cmd":"NODE_TEND_LISTEN","id":1,"kind":"tcp","host":null,"port":3000} or {…,"kind":"unix","path":…}. */
  listenRequest: 'NODE_TEND_LISTEN',
  /** tend's answer, with the socket attached ({"address":…}) or without it ({"error":{code, errno, syscall}}). */
  listenReply: 'NODE_TEND_LISTEN_REPLY',
  /** tend → a stopping Node worker: `{ cmd, reason, stage, stages, ms }` (docs/drain.md). */
  stopNotice: 'NODE_TEND_STOP',
} as const;

export = { ENV, FIRST_LISTEN_FD, NOTIFY_LISTENING, NOTIFY_HOLD, NOTIFY_RELEASE, HOLD_NAME_MAX, IPC };
