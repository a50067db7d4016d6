// tend's in-app library: `import { ready, onStop, hold } from 'tend'`. It tells the supervisor (tend, or systemd directly) what the
// app is doing, over the sd_notify protocol (docs/protocol.md). Under tend it writes to the connected datagram fd in
// TEND_NOTIFY_FD (plain fs.writeSync, no native code); directly under systemd it sends to NOTIFY_SOCKET through tend's
// addon, loaded on first use. Unsupervised, every call is a silent no-op that returns false. Importing it does
// nothing but load this file and two small modules: no supervisor, no config parsing, no native code.
import contract from '../contract/env.cjs';
import notifyChannel from '../contract/notify-fd.cjs';
import { formatNotify, NOTIFY_MAX_BYTES } from '../protocol/sd-notify.js';
import { notifySocketProblem, sendDatagram, watchdogUsecFor } from '../systemd/notifier.js';

/** Values of one notification: KEY=VALUE assignments (numbers and bigints are written in decimal). */
export type NotifyFields = Readonly<Record<string, string | number | bigint>>;

const MAX_STATUS_CHARS = 1_000;
const KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Tells the supervisor the app is ready to serve (READY=1), optionally with a status line. */
export function ready(statusText?: string): boolean {
  return notify(withStatus({ READY: 1 }, statusText));
}

/** Sets the one-line status shown by `tend status` and `systemctl status` (STATUS=). */
export function status(text: string): boolean {
  return notify({ STATUS: statusLine(text) });
}

/** Says the app has begun shutting down (STOPPING=1). */
export function stopping(statusText?: string): boolean {
  return notify(withStatus({ STOPPING: 1 }, statusText));
}

/** Says the app is reloading its configuration (RELOADING=1 + MONOTONIC_USEC=); call ready() when done. */
export function reloading(statusText?: string): boolean {
  return notify(withStatus({ RELOADING: 1, MONOTONIC_USEC: process.hrtime.bigint() / 1000n }, statusText));
}

/** Pings the supervisor's watchdog (WATCHDOG=1); do it at least every watchdogIntervalMs() / 2. */
export function watchdog(): boolean {
  return notify({ WATCHDOG: 1 });
}

/** The watchdog interval asked for this process (WATCHDOG_USEC, honouring WATCHDOG_PID) in ms, or null if none. */
export function watchdogIntervalMs(): number | null {
  const usec = watchdogUsecFor(process.env, process.pid);
  return usec === null ? null : usec / 1000;
}

/**
 * Sends any sd_notify assignments in one datagram (e.g. { EXTEND_TIMEOUT_USEC: 5_000_000 }); true when sent, false when
 * unsupervised or the supervisor is unreachable. Throws TypeError/RangeError only for a malformed message.
 */
export function notify(fields: NotifyFields): boolean {
  const data = encode(fields);
  const env = process.env;
  // Under tend: its connected datagram fd, if that fd really is one here (the variable is inherited by the app's
  // own children, which do not inherit the fd).
  const fd = notifyChannel.notifyFdFrom(env[contract.ENV.notifyFd]);
  if (fd !== null) return notifyChannel.writeNotify(fd, data) === 'sent';
  const socket = env[contract.ENV.notifySocket];
  if (socket === undefined || socket === '' || notifySocketProblem(socket) !== null) return false;
  try {
    sendDatagram(socket, data);
    return true;
  } catch (error) {
    if (error instanceof Error && /native build missing/.test(error.message)) warnOnce(error.message);
    return false;
  }
}

function encode(fields: NotifyFields): Buffer {
  const plain: Record<string, string> = {};
  for (const [key, value] of Object.entries(fields)) {
    if (!KEY.test(key)) throw new TypeError(`tend.notify: ${JSON.stringify(key)} is not a valid sd_notify key`);
    plain[key] = String(value);
  }
  if (Object.keys(plain).length === 0) throw new TypeError('tend.notify: no assignments');
  const data = formatNotify(plain); // throws TypeError for a value with a newline
  if (data.length > NOTIFY_MAX_BYTES) throw new RangeError(`tend.notify: message is ${data.length} bytes, more than ${NOTIFY_MAX_BYTES}`);
  return data;
}

function withStatus(fields: Record<string, string | number | bigint>, statusText: string | undefined): NotifyFields {
  return statusText === undefined ? fields : { ...fields, STATUS: statusLine(statusText) };
}

function statusLine(text: string): string {
  const line = text.replace(/[\r\n]+/g, ' ');
  return line.length > MAX_STATUS_CHARS ? `${line.slice(0, MAX_STATUS_CHARS - 1)}…` : line;
}

/** A stop hook: `signal` aborts shortly before tend's next stop stage is due; `timeLeftMs` is the time until it. */
export type StopHook = (signal: AbortSignal, timeLeftMs: number) => unknown;

/** The preload's stop hub on `process` (src/preload/stop.cts), when tend started this worker with it. */
interface StopHub {
  readonly version: number;
  onStop(hook: StopHook): () => void;
  hold(name: string): () => void;
}

function stopHub(): StopHub | null {
  const hub = (process as unknown as Record<symbol, unknown>)[Symbol.for('tend.stop')] as StopHub | undefined;
  return hub?.version === 1 ? hub : null;
}

/**
 * Runs `hook` when tend begins stopping this worker (a reload, a scale-down or the final stop), instead of a SIGTERM
 * listener: the preload still drains the HTTP servers and exits once every hook's promise has settled. Returns a
 * function that removes the hook. A no-op without tend (or with --no-preload).
 */
export function onStop(hook: StopHook): () => void {
  if (typeof hook !== 'function') throw new TypeError('tend.onStop: the hook must be a function');
  return stopHub()?.onStop(hook) ?? (() => undefined);
}

/**
 * Makes tend's stop wait for work in progress (a job, an upload): until the returned release function is called, a
 * stopping worker gets no further stop stage (bounded by the stop sequence, or by --grace), and `tend status` lists the
 * hold. Calling release more than once does nothing. A no-op without tend.
 */
export function hold(name: string): () => void {
  if (typeof name !== 'string' || /[\n\r]/.test(name) || name.length > contract.HOLD_NAME_MAX || name.trim() === '') {
    throw new TypeError(`tend.hold: ${JSON.stringify(name)} is not a hold name (1 to 200 characters, no newline)`);
  }
  const hub = stopHub();
  if (hub !== null) return hub.hold(name);
  // No preload (e.g. --no-preload): tend still waits for the hold, the process just exits on its own terms.
  if (!notify({ [contract.NOTIFY_HOLD]: name })) return () => undefined;
  let released = false;
  return () => {
    if (released) return;
    released = true;
    notify({ [contract.NOTIFY_RELEASE]: name });
  };
}

let warned = false;
function warnOnce(message: string): void {
  if (warned) return;
  warned = true;
  process.emitWarning(message, { code: 'TEND_NOTIFY' });
}
