// Typed facade over the C addon (build/Release/tend_native.node, else a prebuilt: see native-loader.ts). Arguments are
// validated here so the C side stays mechanism-only; the addon is loaded lazily on first use, so importing this module
// has no side effects.
import { loadAddon } from './native-loader.js';

/** An errno failure reported by the addon, shaped like Node's own system errors (errno is the positive C value). */
export type NativeError = Error & {
  code: string;
  errno: number;
  syscall: string;
  /** Set when the failing call was getrlimit/setrlimit: the resource name, e.g. 'nofile'. */
  resource?: string;
  /** Set when spawn failed in execve: the file that could not be executed. */
  path?: string;
};

/** Tells NativeErrors (which carry code/errno/syscall) apart from programming errors and everything else. */
export function isNativeError(e: unknown): e is NativeError {
  if (!(e instanceof Error)) return false;
  const fields = e as Error & Record<string, unknown>;
  return typeof fields.code === 'string' && typeof fields.errno === 'number' && typeof fields.syscall === 'string';
}

/** One setrlimit applied in the child before exec; Infinity means RLIM_INFINITY. */
export interface RlimitSetting {
  resource: number;
  soft: number;
  hard: number;
}

/** Everything spawn applies between fork and exec; see spawn(). */
export interface SpawnRequest {
  /** Executable; without a '/', searched in searchPath like execvp. */
  file: string;
  /** Full argv including argv[0]. */
  args: readonly string[];
  /** 'KEY=VALUE' entries passed as-is to execve; an entry exactly 'LISTEN_PID=' is filled with the child's pid. */
  env: readonly string[];
  /** Put `env` after this process's own environment (environ, as exec would pass it on; the first of a repeated name
   * only), which keeps none of the names `env` or `unsetEnv` give. Default: false, `env` is the whole environment. */
  inheritEnv?: boolean;
  /** With inheritEnv: names of this process's environment the child does not get. */
  unsetEnv?: readonly string[];
  /** The PATH used to look up `file`. */
  searchPath: string;
  /** Directory to chdir to in the child, or null to keep tend's. */
  cwd: string | null;
  /** Put the child in a new process group whose id is its pid. */
  newProcessGroup: boolean;
  /** A terminal fd whose foreground group becomes the child's (best effort), or -1. */
  foregroundTty: number;
  /** Applied in order, before the identity change. */
  rlimits: readonly RlimitSetting[];
  /** -1 = unchanged. */
  uid: number;
  /** -1 = unchanged. */
  gid: number;
  /** Supplementary groups, or null = unchanged. */
  groups: readonly number[] | null;
  /** Child fd i := our fd fds[i]; -1 closes slot i. Other fds keep their own CLOEXEC flag. */
  fds: readonly number[];
  /** Signals (1..64) the child starts with ignored; every other disposition is SIG_DFL. Default: none. */
  ignoredSignals?: readonly number[];
  /** The child's signal mask at exec (1..64). Default: empty. */
  blockedSignals?: readonly number[];
  /**
   * PR_SET_PDEATHSIG: the signal the child gets when the thread that spawned it exits (tend spawns from Node's main
   * thread, so: when tend dies). Set after the identity change, which would clear it; a parent that died before it took
   * hold is detected and the child delivers the signal to itself. 0 = off (default).
   */
  parentDeathSignal?: number;
}

/** A resource limit pair; Infinity means RLIM_INFINITY. */
export interface RlimitValue {
  soft: number;
  hard: number;
}

/** An exited child collected by reapChildren. */
export interface ReapedChild {
  pid: number;
  /** Exit status, or null when killed by a signal. */
  code: number | null;
  /** Terminating signal number, or null when it exited. */
  signal: number | null;
}

/** A passwd entry. */
export interface UserEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
  shell: string;
}

/** One datagram received by dgramWatch. */
export interface DgramMessage {
  /** At most 4096 bytes. */
  data: Buffer;
  /** Sender credentials from SCM_CREDENTIALS, -1 when absent. */
  pid: number;
  uid: number;
  gid: number;
  /** How many fds came with the datagram; they have already been closed. */
  fds: number;
  /** The datagram was longer than 4096 bytes. */
  truncated: boolean;
}

/** The local address of a listening stream socket, from socketAddress(); host is as inet_ntop prints it ('::'). */
export type SocketAddress =
  | { family: 'tcp'; host: string; port: number }
  | { family: 'unix'; path: string };

/** The process on the other end of a unix stream socket, as the kernel recorded it at connect (SO_PEERCRED). */
export interface PeerCredentials {
  pid: number;
  uid: number;
  gid: number;
}

/** A whole file read by readLatin1File, and the identity a cache entry for it is keyed by. */
export interface FileText {
  text: string;
  ino: number;
  size: number;
  mtimeMs: number;
}

/** Handle returned by signalWatch. */
export interface SignalWatch {
  /** Stops watching and restores the previous dispositions; idempotent. */
  close(): void;
}

/** Handle returned by timer(): one libuv timer on the event loop, without Node's timers. Its methods are bound. */
export interface NativeTimer {
  /** (Re)arms it to call onFire once, `ms` (an integer) from now by the loop's clock; while armed it keeps the loop
   * alive, like a Node timer. Throws EBADF after close(). */
  readonly start: (ms: number) => void;
  /** Disarms it (nothing if it is not armed); a stopped timer does not keep the loop alive. */
  readonly stop: () => void;
  /** Stops it and frees the handle; idempotent. */
  readonly close: () => void;
  /** The loop's millisecond clock (uv_now, brought up to date: the clock Node's timers read), which start() measures from. */
  readonly now: () => number;
}

/** SIGRTMIN and SIGRTMAX as the C library defines them (glibc reserves 32-33, musl 32-34). */
export interface RealtimeSignalRange {
  min: number;
  max: number;
}

/** Handle returned by dgramWatch. */
export interface DgramWatcher {
  /** Stops watching; idempotent. Does not close the fd (the caller owns it): close the watcher before the fd. */
  close(): void;
}

/** The raw addon as registered by native/addon.c. */
interface Binding {
  spawn(req: SpawnRequest): number;
  reapChildren(exclude: readonly number[]): ReapedChild[];
  listChildren(): number[];
  setChildSubreaper(on: boolean): void;
  isChildSubreaper(): boolean;
  getrlimit(resource: number): RlimitValue;
  setrlimit(resource: number, soft: number, hard: number): void;
  rlimitResources(): Record<string, number>;
  changedLimits(recorded: string): RlimitSetting[];
  tcgetpgrp(fd: number): number;
  tcsetpgrp(fd: number, pgid: number): void;
  getpgrp(): number;
  ignoreSignal(signo: number): void;
  kill(pid: number, signo: number): boolean;
  lookupUser(name: string): UserEntry | null;
  lookupUserById(uid: number): UserEntry | null;
  lookupGroup(name: string): number | null;
  groupList(user: string, gid: number): number[];
  dgramSocketPair(): [number, number];
  dgramBind(path: string): number;
  dgramSend(path: string, data: Buffer): void;
  dgramWatch(fd: number, onMessage: (msg: DgramMessage) => void): DgramWatcher;
  listenTcp(host: string, port: number, backlog: number, reusePort: boolean): number;
  listenUnix(path: string, backlog: number): number;
  socketPort(fd: number): number;
  closeFd(fd: number): void;
  pipe(): [number, number];
  socketAddress(fd: number): SocketAddress;
  setCloexec(fd: number): void;
  peerCredentials(fd: number): PeerCredentials;
  signalWatch(signos: readonly number[], onSignal: (signo: number) => void): SignalWatch;
  childSignalWatch(onChild: () => void): SignalWatch;
  realtimeSignalRange(): RealtimeSignalRange;
  timer(onFire: () => void): NativeTimer;
  ipcSocketPair(): [number, number];
  ipcSend(fd: number, data: Buffer, passFd: number): number;
  setNonblocking(fd: number): void;
  readLatin1File(path: string): FileText;
  readOwnFile(path: string): Buffer | null;
  exitNow(code: number): never;
}

// The functions the addon creates when it loads (native/addon.c): those every start uses, and more(), which creates
// the rest on the same object (each function costs ~4 µs to create, at every start).
type LaterFunction = 'getrlimit' | 'rlimitResources' | 'isChildSubreaper' | 'setrlimit' | 'lookupUser' | 'lookupUserById' |
  'lookupGroup' | 'groupList' | 'dgramSocketPair' | 'dgramBind' | 'dgramSend' | 'dgramWatch' | 'listenTcp' | 'listenUnix' |
  'socketPort' | 'closeFd' | 'pipe' | 'socketAddress' | 'setCloexec' | 'peerCredentials' | 'ipcSocketPair' | 'ipcSend' |
  'setNonblocking';
type StartupBinding = Omit<Binding, LaterFunction> & { more(): Binding };

let binding: StartupBinding | undefined;
let complete: Binding | undefined;

/** Loads the addon on first use, so `import` stays cheap and a missing build only fails the code that needs it. */
function addon(): StartupBinding {
  // The local build, else the prebuilt for this arch and libc; none loadable is a one-line TEND_ERR_NATIVE_MISSING.
  binding ??= loadAddon().exports as StartupBinding;
  return binding;
}

// The addon with every function, for those only some runs use.
function everything(): Binding {
  complete ??= addon().more();
  return complete;
}

// ---- argument validation (the C side trusts what it gets) ----

const INT32_MAX = 0x7fffffff;
const ID_MAX = 0xfffffffe; // (uid_t)-1 means "unchanged" to the kernel, so it is never a real id
const NGROUPS_MAX = 65536;
const SUN_PATH_MAX = 107; // sizeof(sun_path) - 1

function fail(fn: string, what: string, expected: string): never {
  throw new TypeError(`native.${fn}: ${what} must be ${expected}`);
}

function checkInt(fn: string, what: string, value: unknown, min: number, max: number): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    fail(fn, what, `an integer in [${min}, ${max}]`);
  }
}

function checkBool(fn: string, what: string, value: unknown): void {
  if (typeof value !== 'boolean') fail(fn, what, 'a boolean');
}

function checkString(fn: string, what: string, value: unknown, nonEmpty: boolean): asserts value is string {
  if (typeof value !== 'string' || value.includes('\0') || (nonEmpty && value === '')) {
    fail(fn, what, nonEmpty ? 'a non-empty string without NUL' : 'a string without NUL');
  }
}

// Each item of a checked array a variable's name: not empty, no NUL, no "="; the item's name is built only for the error.
function checkNames(fn: string, what: string, items: readonly unknown[]): void {
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    if (typeof item !== 'string' || item === '' || item.includes('\0') || item.includes('=')) fail(fn, `${what}[${i}]`, 'a variable name: not empty, without NUL or "="');
  }
}

// Each item of a checked array a string without NUL; the item's name is built only for the error.
function checkStrings(fn: string, what: string, items: readonly unknown[]): void {
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    if (typeof item !== 'string' || item.includes('\0')) checkString(fn, `${what}[${i}]`, item, false);
  }
}

function checkArray(fn: string, what: string, value: unknown, maxLength: number): asserts value is readonly unknown[] {
  if (!Array.isArray(value) || value.length > maxLength) fail(fn, what, `an array of at most ${maxLength} items`);
}

function checkFd(fn: string, what: string, value: unknown): void {
  checkInt(fn, what, value, 0, INT32_MAX);
}

/** rlimit values: non-negative safe integers, or Infinity for RLIM_INFINITY. */
function checkLimit(fn: string, what: string, value: unknown): void {
  if (value === Infinity) return;
  checkInt(fn, what, value, 0, Number.MAX_SAFE_INTEGER);
}

function checkUnixPath(fn: string, value: unknown): void {
  checkString(fn, 'path', value, true);
  if (Buffer.byteLength(value) > SUN_PATH_MAX + (value.startsWith('@') ? 1 : 0)) {
    fail(fn, 'path', `at most ${SUN_PATH_MAX} bytes (a unix socket address)`);
  }
}

function checkCallback(fn: string, what: string, value: unknown): void {
  if (typeof value !== 'function') fail(fn, what, 'a function');
}

const MAX_SIGNAL = 64;

function checkSignals(fn: string, what: string, value: unknown): void {
  checkArray(fn, what, value, MAX_SIGNAL);
  value.forEach((s, i) => { checkInt(fn, `${what}[${i}]`, s, 1, MAX_SIGNAL); });
}

// ---- process creation ----

/**
 * fork+exec with the process group, terminal, rlimits, groups/gid/uid, cwd and fd mapping applied in the child, so
 * every service start gets exactly its configured environment. Returns the pid once exec has succeeded; throws a
 * NativeError (syscall = failing step, e.g. 'setrlimit' with resource, or 'execve' with path) if any step failed, in
 * which case the child has already been reaped. Exec errors: ENOENT (also for ENOTDIR), EACCES, EPERM, ENOEXEC.
 */
export function spawn(req: SpawnRequest): number {
  const fn = 'spawn';
  checkString(fn, 'file', req.file, true);
  checkArray(fn, 'args', req.args, INT32_MAX);
  if (req.args.length === 0) fail(fn, 'args', 'non-empty (argv[0] included)');
  checkStrings(fn, 'args', req.args);
  checkArray(fn, 'env', req.env, INT32_MAX);
  checkStrings(fn, 'env', req.env);
  if (req.inheritEnv !== undefined) checkBool(fn, 'inheritEnv', req.inheritEnv);
  if (req.unsetEnv !== undefined) {
    checkArray(fn, 'unsetEnv', req.unsetEnv, INT32_MAX);
    checkNames(fn, 'unsetEnv', req.unsetEnv);
  }
  checkString(fn, 'searchPath', req.searchPath, false);
  if (req.cwd !== null) checkString(fn, 'cwd', req.cwd, true);
  checkBool(fn, 'newProcessGroup', req.newProcessGroup);
  checkInt(fn, 'foregroundTty', req.foregroundTty, -1, INT32_MAX);
  checkArray(fn, 'rlimits', req.rlimits, INT32_MAX);
  req.rlimits.forEach((r, i) => {
    checkInt(fn, `rlimits[${i}].resource`, r.resource, 0, INT32_MAX);
    checkLimit(fn, `rlimits[${i}].soft`, r.soft);
    checkLimit(fn, `rlimits[${i}].hard`, r.hard);
  });
  checkInt(fn, 'uid', req.uid, -1, ID_MAX);
  checkInt(fn, 'gid', req.gid, -1, ID_MAX);
  if (req.groups !== null) {
    checkArray(fn, 'groups', req.groups, NGROUPS_MAX);
    req.groups.forEach((g, i) => { checkInt(fn, `groups[${i}]`, g, 0, ID_MAX); });
  }
  checkArray(fn, 'fds', req.fds, NGROUPS_MAX);
  req.fds.forEach((f, i) => { checkInt(fn, `fds[${i}]`, f, -1, INT32_MAX); });
  checkSignals(fn, 'ignoredSignals', req.ignoredSignals ?? []);
  checkSignals(fn, 'blockedSignals', req.blockedSignals ?? []);
  checkInt(fn, 'parentDeathSignal', req.parentDeathSignal ?? 0, 0, MAX_SIGNAL);
  return addon().spawn(req);
}

// ---- children ----

/**
 * Reaps every exited child except the excluded pids (those libuv spawned via child_process, which libuv must reap
 * itself). Covers children of every thread, i.e. orphans reparented to tend as subreaper or PID 1.
 */
export function reapChildren(exclude: readonly number[]): ReapedChild[] {
  checkArray('reapChildren', 'exclude', exclude, INT32_MAX);
  exclude.forEach((p, i) => { checkInt('reapChildren', `exclude[${i}]`, p, 1, INT32_MAX); });
  return addon().reapChildren(exclude);
}

/** Our current children, alive or zombie: lets tend see the orphans it inherited and check nothing is left over. */
export function listChildren(): number[] {
  return addon().listChildren();
}

/** PR_SET_CHILD_SUBREAPER: makes orphaned grandchildren of services reparent to tend, so it can reap them. */
export function setChildSubreaper(on: boolean): void {
  checkBool('setChildSubreaper', 'on', on);
  addon().setChildSubreaper(on);
}

/** PR_GET_CHILD_SUBREAPER: reports whether tend is currently a subreaper. */
export function isChildSubreaper(): boolean {
  return everything().isChildSubreaper();
}

// ---- resource limits ----

/** tend's own limits for a resource (Infinity = unlimited), e.g. to compute defaults for services. */
export function getrlimit(resource: number): RlimitValue {
  checkInt('getrlimit', 'resource', resource, 0, INT32_MAX);
  return everything().getrlimit(resource);
}

/** Sets tend's own limits (Infinity = unlimited); errors carry `resource`. */
export function setrlimit(resource: number, soft: number, hard: number): void {
  checkInt('setrlimit', 'resource', resource, 0, INT32_MAX);
  checkLimit('setrlimit', 'soft', soft);
  checkLimit('setrlimit', 'hard', hard);
  everything().setrlimit(resource, soft, hard);
}

/** Of the launcher's record of the limits tend was exec'd with ("7=1024:524288,4=0:inf": RESOURCE=SOFT:HARD, inf for
 * unlimited), those that differ from tend's own now, in order; items not of that form are skipped (os/rlimits.ts). */
export function changedLimits(recorded: string): RlimitSetting[] {
  checkString('changedLimits', 'recorded', recorded, false);
  return addon().changedLimits(recorded);
}

let resources: Readonly<Record<string, number>> | undefined;

/** Resource names without RLIMIT_ ('nofile', 'core', …) → numbers from the C headers, for parsing configs. */
export function rlimitResources(): Record<string, number> {
  resources ??= Object.freeze(everything().rlimitResources());
  return { ...resources };
}

// ---- terminal and job control ----

/** Foreground process group of a terminal fd, or -1 when fd is not our controlling terminal. */
export function tcgetpgrp(fd: number): number {
  checkFd('tcgetpgrp', 'fd', fd);
  return addon().tcgetpgrp(fd);
}

/** Hands the terminal to a process group; works from a background tend (SIGTTOU is blocked around the call). */
export function tcsetpgrp(fd: number, pgid: number): void {
  checkFd('tcsetpgrp', 'fd', fd);
  checkInt('tcsetpgrp', 'pgid', pgid, 1, INT32_MAX);
  addon().tcsetpgrp(fd, pgid);
}

/** tend's own process group, to take the terminal back. */
export function getpgrp(): number {
  return addon().getpgrp();
}

/**
 * Sends signal `signo` (0: only ask) to `pid` (negative: a process group): true when sent, false when no such process;
 * other failures (EPERM) throw. Unlike process.kill, a gone process is an answer, not an exception built and thrown.
 */
export function kill(pid: number, signo: number): boolean {
  checkInt('kill', 'pid', pid, -INT32_MAX, INT32_MAX);
  // 0 and -1 mean "my own group" and "every process I may signal": never what a caller here means.
  if (pid === 0 || pid === -1) fail('kill', 'pid', 'a pid (> 0) or a process group (< -1)');
  checkInt('kill', 'signo', signo, 0, 64);
  return addon().kill(pid, signo);
}

/**
 * Sets a signal to SIG_IGN, which Node cannot do (tend ignores SIGTTIN/SIGTTOU so terminal I/O never stops it).
 * Replaces any handler: do not use it on a signal that has process.on() listeners.
 */
export function ignoreSignal(signo: number): void {
  checkInt('ignoreSignal', 'signo', signo, 1, 64);
  addon().ignoreSignal(signo);
}

// ---- users and groups ----

/** getpwnam_r: resolves a service's `user:` to uid/gid/home/shell; null if there is no such user. */
export function lookupUser(name: string): UserEntry | null {
  checkString('lookupUser', 'name', name, true);
  return everything().lookupUser(name);
}

/** getpwuid_r: the passwd entry of a numeric uid; null if there is none. */
export function lookupUserById(uid: number): UserEntry | null {
  checkInt('lookupUserById', 'uid', uid, 0, ID_MAX);
  return everything().lookupUserById(uid);
}

/** getgrnam_r: resolves a service's `group:` to a gid; null if there is no such group. */
export function lookupGroup(name: string): number | null {
  checkString('lookupGroup', 'name', name, true);
  return everything().lookupGroup(name);
}

/** getgrouplist: the supplementary groups (including gid) a service running as `user` should get. */
export function groupList(user: string, gid: number): number[] {
  checkString('groupList', 'user', user, true);
  checkInt('groupList', 'gid', gid, 0, ID_MAX);
  return everything().groupList(user, gid);
}

// ---- unix datagram sockets (sd_notify both ways) ----

/** A private NOTIFY_SOCKET: [tend's end (SO_PASSCRED), the child's end]; both CLOEXEC, pass the second via fds. */
export function dgramSocketPair(): [number, number] {
  return everything().dgramSocketPair();
}

/** A bound, non-blocking datagram socket with SO_PASSCRED at path ('@name' = abstract); remove stale files first. */
export function dgramBind(path: string): number {
  checkUnixPath('dgramBind', path);
  return everything().dgramBind(path);
}

/** Sends one datagram to a socket path ('@name' = abstract), e.g. READY=1 to systemd's NOTIFY_SOCKET. Never blocks:
 * a full receiver queue throws EAGAIN. */
export function dgramSend(path: string, data: Buffer): void {
  checkUnixPath('dgramSend', path);
  if (!(data instanceof Uint8Array)) fail('dgramSend', 'data', 'a Buffer');
  everything().dgramSend(path, data);
}

/**
 * Watches a datagram socket on the event loop and calls onMessage per datagram with the sender's credentials. Fds sent
 * along are closed immediately (this is what releases sd_notify_barrier / `systemd-notify --ready`). The fd is made
 * non-blocking and stays owned by the caller: call close() before closing the fd. An exception thrown by onMessage
 * becomes an ordinary uncaught exception.
 */
export function dgramWatch(fd: number, onMessage: (msg: DgramMessage) => void): DgramWatcher {
  checkFd('dgramWatch', 'fd', fd);
  checkCallback('dgramWatch', 'onMessage', onMessage);
  return everything().dgramWatch(fd, onMessage);
}

// ---- listening sockets (owned by tend, handed to services by fd) ----

/** A listening TCP socket on an IP literal (CLOEXEC, SO_REUSEADDR, optional SO_REUSEPORT); EINVAL for a bad host.
 *  Backlog -1 binds without listening (a worker's own listen() makes it accept). */
export function listenTcp(host: string, port: number, backlog: number, reusePort: boolean): number {
  checkString('listenTcp', 'host', host, true);
  checkInt('listenTcp', 'port', port, 0, 65535);
  checkInt('listenTcp', 'backlog', backlog, -1, INT32_MAX);
  checkBool('listenTcp', 'reusePort', reusePort);
  return everything().listenTcp(host, port, backlog, reusePort);
}

/**
 * A listening unix stream socket at path; CLOEXEC. '@name' is the abstract name "\0name" with its exact length, as
 * systemd and most libraries use it (Node 20's net pads abstract names to the full sun_path, so it cannot connect).
 */
export function listenUnix(path: string, backlog: number): number {
  checkUnixPath('listenUnix', path);
  checkInt('listenUnix', 'backlog', backlog, 0, INT32_MAX);
  return everything().listenUnix(path, backlog);
}

/** The local port of a TCP socket, to learn what port 0 became. */
export function socketPort(fd: number): number {
  checkFd('socketPort', 'fd', fd);
  return everything().socketPort(fd);
}

/** close(2) for the raw fds this module hands out (no Node handle owns them). */
export function closeFd(fd: number): void {
  checkFd('closeFd', 'fd', fd);
  everything().closeFd(fd);
}

/** pipe2(O_CLOEXEC) → [readEnd, writeEnd]: tend captures worker output through pipes it reads. */
export function pipe(): [number, number] {
  return everything().pipe();
}

/**
 * getsockname of a listening stream socket tend did not open (systemd socket activation): tcp (AF_INET/AF_INET6) or
 * unix ('@name' = abstract). Throws ENOTSOCK/EBADF, EPROTOTYPE (not SOCK_STREAM), EINVAL (not listening) or EAFNOSUPPORT.
 */
export function socketAddress(fd: number): SocketAddress {
  checkFd('socketAddress', 'fd', fd);
  return everything().socketAddress(fd);
}

/** Sets FD_CLOEXEC on an inherited fd (systemd passes sockets without it), so only explicit fd maps hand it on. */
export function setCloexec(fd: number): void {
  checkFd('setCloexec', 'fd', fd);
  everything().setCloexec(fd);
}

/** SO_PEERCRED of a connected unix socket: Node does not expose who connected, and the control socket must know. */
export function peerCredentials(fd: number): PeerCredentials {
  checkFd('peerCredentials', 'fd', fd);
  return everything().peerCredentials(fd);
}

// ---- SIGCHLD without Node's signal module ----

/**
 * Calls onChild() on the event loop after each SIGCHLD (merged as the kernel merges them), through libuv's own signal
 * watcher: a first process.on('SIGCHLD') costs ~75-90 µs of Node's JavaScript on every start. libuv calls every
 * watcher of a signal, so child_process's own SIGCHLD handling is untouched. It does not keep the loop alive.
 */
export function childSignalWatch(onChild: () => void): SignalWatch {
  checkCallback('childSignalWatch', 'onChild', onChild);
  return addon().childSignalWatch(onChild);
}

// ---- signals Node cannot listen for ----

/**
 * Catches signals Node has no listener for (real-time signals; SIGPIPE from another process, while SIGPIPE that tend's
 * own writes raise is dropped) with a process-wide sigaction handler and a self-pipe, and calls onSignal(signo) on the
 * event loop. One watch per process (EBUSY otherwise); it does not keep the loop alive. Do not pass a signal that has
 * process.on() listeners.
 */
export function signalWatch(signos: readonly number[], onSignal: (signo: number) => void): SignalWatch {
  checkSignals('signalWatch', 'signos', signos);
  checkCallback('signalWatch', 'onSignal', onSignal);
  return addon().signalWatch(signos, onSignal);
}

/** This C library's SIGRTMIN..SIGRTMAX, so tend watches exactly the real-time signals a program can use. */
export function realtimeSignalRange(): RealtimeSignalRange {
  return addon().realtimeSignalRange();
}

// ---- timers without Node's timers ----

/** The longest timer.start() accepts: 2^53 - 1 ms (~285,000 years), so the keep-alive never fires. */
const MAX_NATIVE_TIMER_MS = Number.MAX_SAFE_INTEGER;

/**
 * A timer on the event loop's own libuv timer: on Node 20 the first setTimeout of a process compiles Node's timer
 * internals from source (~0.6 ms of every `tend run`), and tend's keyed timers (runner/timers.ts) need only one handle.
 * onFire runs on the event loop; an exception it throws becomes an ordinary uncaught exception.
 */
export function timer(onFire: () => void): NativeTimer {
  checkCallback('timer', 'onFire', onFire);
  const raw = addon().timer(onFire);
  const start = raw.start;
  return {
    start(ms: number): void {
      checkInt('timer.start', 'ms', ms, 0, MAX_NATIVE_TIMER_MS);
      start(ms);
    },
    stop: raw.stop,
    close: raw.close,
    now: raw.now,
  };
}

/**
 * Holds the event loop open until the returned release is called, with one native timer that never fires: what the
 * runner waits on (signals, reaped pids) is not a libuv handle that would, and a Node timer costs Node 20 its timer
 * internals at start-up. The release is idempotent.
 */
export function keepAlive(): () => void {
  const handle = addon().timer(noop);
  handle.start(MAX_NATIVE_TIMER_MS);
  return handle.close;
}

function noop(): void {
  // The keep-alive never fires; if it did, there would be nothing to do.
}

// ---- Node IPC channels (tend's end of a worker's process.send) ----

/** A stream socketpair for a Node IPC channel: [tend's end (non-blocking), the child's end]; both CLOEXEC. */
export function ipcSocketPair(): [number, number] {
  return everything().ipcSocketPair();
}

/**
 * One sendmsg of `data` on a channel, with `passFd` attached by SCM_RIGHTS (-1: none). Returns the bytes taken, which
 * may be fewer than asked (0 when the socket is full); throws EPIPE/ECONNRESET when the child is gone.
 */
export function ipcSend(fd: number, data: Buffer, passFd: number): number {
  checkFd('ipcSend', 'fd', fd);
  if (!Buffer.isBuffer(data)) fail('ipcSend', 'data', 'a Buffer');
  checkInt('ipcSend', 'passFd', passFd, -1, INT32_MAX);
  return everything().ipcSend(fd, data, passFd);
}

/** Sets O_NONBLOCK on a listening socket before it is handed to Node over IPC (Node adopts received handles as is). */
export function setNonblocking(fd: number): void {
  checkFd('setNonblocking', 'fd', fd);
  everything().setNonblocking(fd);
}

/** The whole file as a Latin-1 string (what UTF-8 text is when it is ASCII) and its identity: the start-up loader reads
 * the CLI bundle this way (cli/compile-cache.ts), into memory V8 adopts without a copy. */
export function readLatin1File(path: string): FileText {
  checkString('readLatin1File', 'path', path, true);
  return addon().readLatin1File(path);
}

/** The whole file if it is a regular, non-empty file of this user's that nobody else can write, else null: how a V8
 * code cache entry, which is code tend will run, is read. The Buffer maps the file privately (writes stay in memory). */
export function readOwnFile(path: string): Buffer | null {
  checkString('readOwnFile', 'path', path, true);
  return addon().readOwnFile(path);
}

/** _exit(2): ends tend at once, without Node's own exit ('exit' listeners, stopping its threads, the C library's exit
 * handlers). Only for when nothing waits for those (cli/main.ts decides). */
export function exitNow(code: number): never {
  checkInt('exitNow', 'code', code, 0, 255);
  return addon().exitNow(code);
}

/** All of the above as one object, for callers that prefer `native.spawn(...)` or want to substitute a fake. With no
 * prototype, V8 makes it a dictionary at once: a literal of 40 properties built a hidden class per property at every
 * start (~60 µs). */
export const native = {
  __proto__: null,
  spawn,
  reapChildren,
  listChildren,
  setChildSubreaper,
  isChildSubreaper,
  getrlimit,
  setrlimit,
  rlimitResources,
  changedLimits,
  tcgetpgrp,
  tcsetpgrp,
  getpgrp,
  ignoreSignal,
  kill,
  lookupUser,
  lookupUserById,
  lookupGroup,
  groupList,
  dgramSocketPair,
  dgramBind,
  dgramSend,
  dgramWatch,
  listenTcp,
  listenUnix,
  socketPort,
  closeFd,
  pipe,
  socketAddress,
  setCloexec,
  peerCredentials,
  signalWatch,
  childSignalWatch,
  realtimeSignalRange,
  timer,
  keepAlive,
  ipcSocketPair,
  ipcSend,
  setNonblocking,
  readLatin1File,
  readOwnFile,
  exitNow,
} as const;
