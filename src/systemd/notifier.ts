// sd_notify upward: tend tells the service manager that started it (systemd, NOTIFY_SOCKET) about the pool as a
// whole. READY=1 only once every worker is ready, RELOADING=1/READY=1 around rolling reloads, STOPPING=1 and
// EXTEND_TIMEOUT_USEC= while workers drain, and WATCHDOG=1 pings that come only from a healthy event loop.
// Sending never throws: systemd gone, a full queue or a bad address are logged, and supervision goes on.
import { formatNotify } from '../protocol/sd-notify.js';
import type { Logger } from '../log.js';
import { isNativeError, native } from '../os/native.js';

/** What tend tells its service manager about itself; fed from the event stream by systemd/bridge.ts. */
export interface ManagerObserver {
  onReady(status: string): void;
  onReloading(): void;
  onReloaded(ok: boolean, status: string): void;
  onStopping(): void;
  onStatus(status: string): void;
  /** Called regularly while a stop makes progress (workers still draining), for EXTEND_TIMEOUT_USEC. */
  onStopProgress(remainingMs: number): void;
}

/** What createSystemdObserver returns: the pool's observer, and stop() for the watchdog timer at exit. */
export interface SystemdNotifier {
  readonly observer: ManagerObserver;
  /** The watchdog ping period (WATCHDOG_USEC/2) in ms, or null when systemd did not ask for pings. */
  readonly watchdogPingMs: number | null;
  stop(): void;
}

/** Clock, pid and transport, replaceable in tests. */
export interface NotifierDeps {
  readonly pid: number;
  readonly send: (path: string, data: Buffer) => void;
  /** CLOCK_MONOTONIC in microseconds (what MONOTONIC_USEC= carries). */
  readonly monotonicUsec: () => bigint;
  /** A monotonic millisecond clock for the loop-lag check. */
  readonly nowMs: () => number;
}

/** EXTEND_TIMEOUT_USEC covers the stop's remaining time plus this, so one late progress report never lets it lapse. */
export const STOP_EXTEND_MARGIN_MS = 5_000;
/** The loop-lag check runs this often at most (and at least 4 times per ping period). */
const MAX_TICK_MS = 250;
const MIN_TICK_MS = 5;
/** STATUS= longer than this is cut (systemd drops datagrams over 4096 bytes). */
const MAX_STATUS_CHARS = 1_000;
/** Errors that mean "systemd is not listening right now", not a misconfiguration. */
const QUIET_ERRORS = new Set(['EAGAIN', 'EWOULDBLOCK', 'ECONNREFUSED', 'ENOENT']);

// One datagram to a NOTIFY_SOCKET path ('@name' = abstract) through tend's addon, which is loaded on first use.
export function sendDatagram(path: string, data: Buffer): void {
  native.dgramSend(path, data);
}

const realDeps: NotifierDeps = {
  pid: process.pid,
  send: sendDatagram,
  monotonicUsec: () => process.hrtime.bigint() / 1000n,
  nowMs: () => performance.now(),
};

// The observer that reports the pool to systemd, or null when tend was not started with NOTIFY_SOCKET (or with one
// tend cannot use, which is logged). Watchdog pings start at once when WATCHDOG_USEC is set for this process.
export function createSystemdObserver(
  env: Readonly<Record<string, string | undefined>>,
  log: Logger,
  overrides: Partial<NotifierDeps> = {},
): SystemdNotifier | null {
  const deps: NotifierDeps = { ...realDeps, ...overrides };
  const socket = env['NOTIFY_SOCKET'];
  if (socket === undefined || socket === '') return null;
  const unusable = notifySocketProblem(socket);
  if (unusable !== null) {
    log.warn(`NOTIFY_SOCKET=${JSON.stringify(socket.slice(0, 120))} ${unusable}; tend will not report readiness to its service manager`);
    return null;
  }

  const reported = new Set<string>();
  const send = (fields: Record<string, string | number>): void => {
    const text = Object.entries(fields).map(([k, v]) => `${k}=${v}`).join(' ');
    try {
      deps.send(socket, formatNotify(fields));
      if (fields['WATCHDOG'] === undefined) log.debug(`systemd: sent ${text}`);
    } catch (error) {
      const code = isNativeError(error) ? error.code : error instanceof Error ? error.message : String(error);
      if (QUIET_ERRORS.has(code)) {
        log.debug(`systemd: could not send ${text} to ${socket}: ${code}`);
      } else if (!reported.has(code)) {
        reported.add(code);
        log.warn(`could not notify systemd at NOTIFY_SOCKET=${socket}: ${code} (further ${code} errors are not logged)`);
      }
    }
  };

  let readySent = false;
  let stopping = false;
  let lastRemainingMs = Infinity;
  const observer: ManagerObserver = {
    onReady(status) {
      if (stopping) return;
      readySent = true;
      send({ READY: 1, STATUS: statusLine(status) });
    },
    onStatus(status) {
      send({ STATUS: statusLine(status) });
    },
    onReloading() {
      // systemd acts on RELOADING=1 only for a service that is up; a reload during boot is just a status.
      if (!readySent || stopping) return;
      send({ RELOADING: 1, MONOTONIC_USEC: deps.monotonicUsec().toString(), STATUS: 'reloading' });
    },
    onReloaded(ok, status) {
      if (stopping) return;
      // After a failed reload the old workers still serve: the service is up either way. A reload that ran during
      // boot and succeeded has made every worker ready, so it completes the start-up too.
      if (readySent || ok) {
        readySent = true;
        send({ READY: 1, STATUS: statusLine(ok ? status : `${status} (last reload failed, rolled back)`) });
      } else {
        send({ STATUS: statusLine(status) });
      }
    },
    onStopping() {
      if (stopping) return;
      stopping = true;
      send({ STOPPING: 1, STATUS: 'stopping: draining workers' });
    },
    onStopProgress(remainingMs) {
      // Extend only while the stop sequence still has time left and that time is going down; once tend's own
      // deadline has passed (workers are being killed), systemd's TimeoutStopSec takes over again.
      if (!stopping || !(remainingMs > 0) || remainingMs >= lastRemainingMs) return;
      lastRemainingMs = remainingMs;
      send({ EXTEND_TIMEOUT_USEC: Math.ceil(remainingMs + STOP_EXTEND_MARGIN_MS) * 1000 });
    },
  };

  const watchdog = startWatchdog(env, deps, log, () => { send({ WATCHDOG: 1 }); });
  log.info(`systemd: reporting to NOTIFY_SOCKET=${socket}${watchdog === null ? '' : `, watchdog ping every ${formatMs(watchdog.pingMs)}`}`);
  return {
    observer,
    watchdogPingMs: watchdog?.pingMs ?? null,
    stop() { watchdog?.stop(); },
  };
}

// WATCHDOG_USEC in microseconds when it applies to `pid` (WATCHDOG_PID absent or equal), else null.
export function watchdogUsecFor(env: Readonly<Record<string, string | undefined>>, pid: number): number | null {
  const usecText = env['WATCHDOG_USEC'];
  if (usecText === undefined || !/^\d{1,16}$/.test(usecText)) return null;
  const usec = Number(usecText);
  if (usec <= 0) return null;
  const pidText = env['WATCHDOG_PID'];
  if (pidText !== undefined && pidText !== '' && pidText !== String(pid)) return null;
  return usec;
}

// Pings every WATCHDOG_USEC/2, but only from a healthy loop: a timer ticking several times per period measures its
// own lateness, and a tick late by more than the ping period (the loop was blocked, or tend was stopped) withholds
// pings for a whole WATCHDOG_USEC, so systemd's watchdog fires instead of a stalled tend pinging on as it resumes.
function startWatchdog(
  env: Readonly<Record<string, string | undefined>>,
  deps: NotifierDeps,
  log: Logger,
  ping: () => void,
): { pingMs: number; stop(): void } | null {
  const usec = watchdogUsecFor(env, deps.pid);
  if (usec === null) return null;
  const watchdogMs = usec / 1000;
  const pingMs = watchdogMs / 2;
  const tickMs = Math.max(MIN_TICK_MS, Math.min(MAX_TICK_MS, pingMs / 4));
  let lastPing = deps.nowMs();
  let withholdUntil = -Infinity;
  let expected = lastPing + tickMs;
  let timer: NodeJS.Timeout | null = null;
  ping();
  const tick = (): void => {
    const now = deps.nowMs();
    const lag = now - expected;
    if (lag > pingMs) {
      if (now >= withholdUntil) {
        log.error(`event loop blocked for ${formatMs(lag)} (more than half of the systemd watchdog interval, ${formatMs(watchdogMs)}): ` +
          `withholding WATCHDOG=1 for ${formatMs(watchdogMs)} so that systemd's watchdog acts`);
      }
      withholdUntil = now + watchdogMs;
    } else if (now >= withholdUntil && now - lastPing >= pingMs - tickMs / 2) {
      if (withholdUntil !== -Infinity) {
        log.warn('event loop healthy again and systemd has not acted: resuming watchdog pings');
        withholdUntil = -Infinity;
      }
      lastPing = now;
      ping();
    }
    expected = now + tickMs;
    timer = setTimeout(tick, tickMs);
    timer.unref();
  };
  timer = setTimeout(tick, tickMs);
  timer.unref();
  return {
    pingMs,
    stop() {
      if (timer !== null) clearTimeout(timer);
      timer = null;
    },
  };
}

// Why a NOTIFY_SOCKET value cannot be used by tend's addon, or null when it can.
export function notifySocketProblem(path: string): string | null {
  if (path.includes('\0')) return 'contains a NUL byte';
  if (!path.startsWith('/') && !path.startsWith('@')) return 'is not an absolute path or @abstract name (vsock: is not supported)';
  if (Buffer.byteLength(path) > 107 + (path.startsWith('@') ? 1 : 0)) return 'is longer than a unix socket address allows';
  return null;
}

function statusLine(status: string): string {
  const line = status.replace(/[\r\n]+/g, ' ');
  return line.length > MAX_STATUS_CHARS ? `${line.slice(0, MAX_STATUS_CHARS - 1)}…` : line;
}

function formatMs(ms: number): string {
  return ms >= 1000 ? `${Number((ms / 1000).toFixed(2))}s` : `${Math.round(ms)}ms`;
}
