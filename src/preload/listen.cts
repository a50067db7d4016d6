/* eslint-disable @typescript-eslint/no-require-imports -- a .cts file under verbatimModuleSyntax imports with require */
// Listen redirect: net.Server.prototype.listen (which every http, https and net server uses) is wrapped so that a
// listen on a port or path that tend already listens on becomes listen({ fd }) on the inherited socket, and, in the
// process that holds tend's IPC channel, a listen on any other port or path becomes a socket tend opens once for the
// whole service and hands to every worker that asks (as node:cluster's primary does). listen(0), exclusive: true and
// worker threads keep their own sockets, as under cluster. Also reports every server that starts listening to tend,
// with its address, so tend can tell the service's own address from an extra listener.
import dns = require('node:dns');
import fs = require('node:fs');
import net = require('node:net');
import nodePath = require('node:path');
import util = require('node:util');
import address = require('../contract/address.cjs');
import contract = require('../contract/env.cjs');
import notifyFd = require('../contract/notify-fd.cjs');
import log = require('./log.cjs');
import type { ListenEntry, SocketRequest } from '../contract/types.cjs';
import type { ListenTarget, PreloadConfig, SocketClient } from './types.cjs';

/** What a listen() call asked for, as Node's own normalizeArgs reads it. */
interface ParsedListen {
  /** Null when the call names no port/path an inherited socket could replace (listen(), listen(0), a handle…). */
  readonly target: ListenTarget | null;
  /** listen({ fd }) by the app itself. */
  readonly fd: number | null;
  readonly signal: unknown;
  readonly callback: ((...args: unknown[]) => unknown) | null;
  /** Options that ask for a socket of this server's own (exclusive, ipv6Only, reusePort, readableAll, writableAll). */
  readonly own: boolean;
}

/** Node's rule (net.js toNumber/isPipeName): a string that reads as a number >= 0 is a port, otherwise a path. */
function portOf(value: unknown): number | null {
  if (typeof value !== 'number' && typeof value !== 'string') return null;
  if (typeof value === 'string' && value.trim() === '') return null;
  const n = Number(value);
  return Number.isInteger(n) && n >= 1 && n <= 65535 ? n : null;
}

function isPipeName(value: unknown): value is string {
  return typeof value === 'string' && !(Number(value) >= 0);
}

/**
 * Reads every calling convention: listen(port[, host][, backlog][, cb]), listen(path[, backlog][, cb]),
 * listen(options[, cb]) with port/host, path or fd, and listen(handle). Mirrors Node's normalizeArgs.
 */
function parseListenArgs(args: readonly unknown[]): ParsedListen {
  const last = args.at(-1);
  const callback = typeof last === 'function' ? (last as (...a: unknown[]) => unknown) : null;
  const none: ParsedListen = { target: null, fd: null, signal: undefined, callback, own: false };
  if (args.length === 0) return none;
  const first = args[0];
  if (typeof first === 'object' && first !== null) return parseListenOptions(first as Record<string, unknown>, none);
  if (isPipeName(first)) return { ...none, target: { kind: 'unix', path: first } };
  const port = portOf(first);
  if (port === null) return none;
  const host = typeof args[1] === 'string' && args[1] !== '' ? args[1] : undefined;
  return { ...none, target: { kind: 'tcp', port, host } };
}

// listen(options[, cb]) and listen(handle), the callback already in `none`.
function parseListenOptions(o: Record<string, unknown>, none: ParsedListen): ParsedListen {
  if (o._handle !== undefined || o.handle !== undefined) return none;
  const signal = o.signal;
  if (typeof o.fd === 'number') return { ...none, fd: o.fd, signal };
  const own = o.exclusive === true || o.ipv6Only === true || o.reusePort === true || o.readableAll === true || o.writableAll === true;
  if (o.port !== undefined && o.port !== null) {
    const port = portOf(o.port);
    const host = typeof o.host === 'string' && o.host !== '' ? o.host : undefined;
    return { ...none, signal, own, target: port === null ? null : { kind: 'tcp', port, host } };
  }
  if ('port' in o) return none; // { port: undefined | null } means an ephemeral port
  if (isPipeName(o.path) && o.path !== '') return { ...none, signal, own, target: { kind: 'unix', path: o.path } };
  return none;
}

/** "\0name" (Node's spelling of an abstract socket) and "@name" (tend's) are the same socket. */
function unixKey(path: string): string {
  if (path.startsWith('\0')) return `@${path.slice(1)}`;
  if (path.startsWith('@')) return path;
  return nodePath.resolve(path);
}

function bareHost(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/**
 * The inherited socket for a target: TCP by port whatever the host (an exact host match wins when several entries
 * share the port), unix by path. Entries in `used` are skipped. Null when no entry matches; 'in-use' when every
 * matching entry is taken.
 */
function pickEntry(entries: readonly ListenEntry[], target: ListenTarget, used: ReadonlySet<number>): ListenEntry | 'in-use' | null {
  const matching = entries.filter((e) => {
    if (target.kind === 'tcp') return e.address.kind === 'tcp' && e.address.port === target.port;
    return e.address.kind === 'unix' && unixKey(e.address.path) === unixKey(target.path);
  });
  if (matching.length === 0) return null;
  const free = matching.filter((e) => !used.has(e.fd));
  if (free.length === 0) return 'in-use';
  if (target.kind === 'tcp' && target.host !== undefined) {
    const host = bareHost(target.host);
    const exact = free.find((e) => e.address.kind === 'tcp' && bareHost(e.address.host) === host);
    if (exact !== undefined) return exact;
  }
  return free[0] ?? null;
}

function describeTarget(t: ListenTarget): string {
  if (t.kind === 'unix') return JSON.stringify(t.path);
  return t.host === undefined ? `port ${t.port}` : `${t.host}:${t.port}`;
}

/** Sends one datagram to tend; never throws. A socket that is not (or no longer) usable disables further sends. */
function makeNotifier(fd: number | null): (text: string) => void {
  // Checked once, at load: below a launcher or in a child of the worker, TEND_NOTIFY_FD may name an fd that is not
  // tend's (Node marks inherited fds close-on-exec), and a report must never land in some file the process opened.
  let broken = fd === null || !notifyFd.isNotifySocket(fd);
  if (fd !== null && broken) log.debug(`TEND_NOTIFY_FD=${fd} is not tend's notify socket here: no listening reports`);
  return (text) => {
    if (broken || fd === null) {
      log.debug(`(no notify socket) ${text.trim()}`);
      return;
    }
    const result = notifyFd.writeNotify(fd, text);
    if (result === 'sent') log.debug(`notified ${text.trim()}`);
    else if (result === 'failed') log.debug(`notify failed: tend is gone or not reading`); // must not take the app down
    else {
      broken = true;
      log.warnOnce('notify-broken', `TEND_NOTIFY_FD=${fd} is not usable; listening reports disabled`);
    }
  };
}

/** Hooks the drain wants on every server. */
interface ListenHooks {
  /** Called once per server, at its first listen() call. */
  observe(server: net.Server): void;
}

let isMain: boolean | undefined;
/** Inherited fds are process-wide but this module's bookkeeping is per thread: only the main thread uses them. */
function isMainThread(): boolean {
  isMain ??= (require('node:worker_threads') as typeof import('node:worker_threads')).isMainThread;
  return isMain;
}

/** Node's listen error for what tend's bind/listen got: "listen EADDRINUSE: address already in use :::3000". */
function listenError(code: string, errno: number, request: SocketRequest): Error {
  const uvErrno = -Math.abs(errno);
  let description = code;
  try {
    description = util.getSystemErrorMap().get(uvErrno)?.[1] ?? code;
  } catch {
    // An older Node: the code alone.
  }
  // Node tries :: first and falls back to 0.0.0.0 when bind fails at once (EACCES); EADDRINUSE shows up at listen.
  const host = request.kind === 'tcp' ? request.host ?? (code === 'EADDRINUSE' ? '::' : '0.0.0.0') : null;
  const where = request.kind === 'tcp' ? `${host}:${request.port}` : request.path;
  const error = new Error(`listen ${code}: ${description} ${where}`) as Error & Record<string, unknown>;
  error.code = code;
  error.errno = uvErrno;
  error.syscall = 'listen';
  if (request.kind === 'tcp') {
    error.address = host;
    error.port = request.port;
  } else {
    error.address = request.path;
  }
  return error;
}

type ListenFn = (...args: unknown[]) => unknown;

/**
 * listen() calls that go to tend over the IPC channel: returns a function that takes a call over (true) or leaves it
 * to Node (false). `demanded` records the address of each socket tend handed over, for the listening report.
 */
function onDemandListen(ipc: SocketClient | null, original: ListenFn, demanded: WeakMap<net.Server, string>): (server: net.Server, args: readonly unknown[]) => boolean {
  /** Listens on the socket tend handed over, as if the app's own listen() had bound it. */
  const adopt = (server: net.Server, call: ParsedListen, target: ListenTarget, request: SocketRequest, address: string, handle: { close(): void }): void => {
    const signal = call.signal as AbortSignal | undefined;
    if (signal?.aborted === true) {
      handle.close();
      return;
    }
    demanded.set(server, address);
    // What Node itself sets for listen(path), so server.address() is the path the app gave.
    if (target.kind === 'unix') (server as unknown as { _pipeName?: string })._pipeName = target.path;
    log.debug(`listen on ${describeTarget(target)} -> socket from tend (${address})`);
    // listen(handle): a TCP handle becomes the server's own; a unix one is opened by its fd, as Node documents.
    Reflect.apply(original, server, call.callback === null ? [handle] : [handle, call.callback]);
    signal?.addEventListener('abort', () => { server.close(); }, { once: true });
  };

  const ask = (client: SocketClient, server: net.Server, args: readonly unknown[], call: ParsedListen, target: ListenTarget, request: SocketRequest): void => {
    client.request(request, (reply) => {
      try {
        if (reply.ok) adopt(server, call, target, request, reply.address, reply.handle);
        else if (reply.code === 'TEND_NO_REPLY') Reflect.apply(original, server, args);
        else server.emit('error', listenError(reply.code, reply.errno, request));
      } catch (e) {
        server.emit('error', e);
      }
    });
  };

  /** Sends a listen() to tend over IPC; false when it should reach Node's listen as it is. */
  const onDemand = (server: net.Server, args: readonly unknown[]): boolean => {
    if (ipc === null || (server as unknown as { _handle?: unknown })._handle) return false;
    const call = parseListenArgs(args);
    const target = call.target;
    if (target === null || call.fd !== null || call.own || !isMainThread()) return false;
    if (target.kind === 'unix') {
      const path = target.path.startsWith('\0') ? `@${target.path.slice(1)}` : nodePath.resolve(target.path);
      ask(ipc, server, args, call, target, { kind: 'unix', path });
      return true;
    }
    if (target.host === undefined || net.isIP(bareHost(target.host)) !== 0) {
      ask(ipc, server, args, call, target, { kind: 'tcp', host: target.host === undefined ? null : bareHost(target.host), port: target.port });
      return true;
    }
    // A host name: resolve it as Node's listen does (the first address dns.lookup gives).
    dns.lookup(target.host, (error, ip) => {
      if (error !== null) server.emit('error', error);
      else ask(ipc, server, args, call, target, { kind: 'tcp', host: ip, port: target.port });
    });
    return true;
  };

  return onDemand;
}

/** Wraps net.Server.prototype.listen. Returns false (and changes nothing) when it cannot. */
function install(config: PreloadConfig, hooks: ListenHooks, ipc: SocketClient | null, onTendSocket?: (server: net.Server, declared: boolean) => void): boolean {
  const proto = net.Server.prototype as unknown as { listen: (...args: unknown[]) => unknown };
  const original = proto.listen;
  if (typeof original !== 'function') {
    log.warnOnce('no-listen', 'net.Server.prototype.listen is not a function; listen redirect disabled');
    return false;
  }
  const notify = makeNotifier(config.notifyFd);
  /** Inherited fds already handed to a server: a server's close() closes its fd, so each is used once. */
  const used = new Set<number>();
  const socketChecked = new Map<number, boolean>();
  /** The map entry a server listens on, for its listening report. */
  const redirected = new WeakMap<net.Server, ListenEntry>();
  /** The address of the socket tend handed a server on demand, for its listening report. */
  const demanded = new WeakMap<net.Server, string>();
  const observed = new WeakSet<net.Server>();

  const isSocket = (fd: number): boolean => {
    let ok = socketChecked.get(fd);
    if (ok === undefined) {
      try {
        ok = fs.fstatSync(fd).isSocket();
      } catch {
        ok = false;
      }
      socketChecked.set(fd, ok);
    }
    return ok;
  };

  const report = (server: net.Server): void => {
    try {
      const entry = redirected.get(server);
      const text = entry !== undefined ? entry.address.text : demanded.get(server) ?? address.formatAddress(server.address());
      if (text === null || /[\n\0]/.test(text)) return;
      notify(`${contract.NOTIFY_LISTENING}=${text}\n`);
    } catch (e) {
      log.warnOnce('report', `could not report a listening server: ${log.describe(e)}`);
    }
  };

  const observe = (server: net.Server): void => {
    if (observed.has(server)) return;
    observed.add(server);
    server.on('listening', () => {
      // Before the report: tend may count the report as readiness and probe the private socket from then on.
      if (onTendSocket !== undefined && (redirected.has(server) || demanded.has(server))) onTendSocket(server, redirected.has(server));
      report(server);
    });
    hooks.observe(server);
  };

  /** The arguments to call Node's listen with instead, or null to pass the app's through. */
  const redirect = (server: net.Server, args: readonly unknown[]): unknown[] | null => {
    // Already listening: let Node throw ERR_SERVER_ALREADY_LISTEN without spending an fd.
    if ((server as unknown as { _handle?: unknown })._handle) return null;
    redirected.delete(server);
    demanded.delete(server);
    const call = parseListenArgs(args);
    if (call.fd !== null) {
      // The app does socket activation itself: fine, but that fd is now taken.
      const entry = config.entries.find((e) => e.fd === call.fd);
      if (entry !== undefined) {
        used.add(entry.fd);
        redirected.set(server, entry);
      }
      return null;
    }
    if (call.target === null) return null;
    const entry = pickEntry(config.entries, call.target, used);
    if (entry === null) return null;
    const what = describeTarget(call.target);
    if (entry === 'in-use') {
      log.warnOnce(`in-use:${what}`, `listen on ${what}: the inherited socket for it is already used by another ` +
        'server of this process (or was closed); listening normally instead');
      return null;
    }
    if (!isMainThread()) {
      log.warnOnce('worker-thread', `listen on ${what} in a worker thread: inherited sockets are only used by the ` +
        'main thread; listening normally instead');
      return null;
    }
    if (!isSocket(entry.fd)) {
      log.warnOnce(`not-socket:${entry.fd}`, `fd ${entry.fd} (${entry.address.text}) is not an open socket; ` +
        `listen on ${what} proceeds normally`);
      return null;
    }
    used.add(entry.fd);
    redirected.set(server, entry);
    if (entry.address.kind === 'unix') {
      // What Node itself sets for listen(path); server.address() of an fd-opened pipe would otherwise be null.
      (server as unknown as { _pipeName?: string })._pipeName = entry.address.path;
    }
    log.debug(`listen on ${what} -> inherited fd ${entry.fd} (${entry.address.text})`);
    const options: { fd: number; signal?: unknown } = { fd: entry.fd };
    if (call.signal !== undefined) options.signal = call.signal;
    return call.callback === null ? [options] : [options, call.callback];
  };

  const onDemand = onDemandListen(ipc, original, demanded);

  function listen(this: net.Server, ...args: unknown[]): unknown {
    let callArgs: unknown[] = args;
    try {
      observe(this);
      const direct = redirect(this, args);
      if (direct !== null) callArgs = direct;
      else if (onDemand(this, args)) return this;
    } catch (e) {
      log.warnOnce('listen', `listen redirect failed, listening normally: ${log.describe(e)}`);
      callArgs = args;
    }
    return Reflect.apply(original, this, callArgs);
  }
  proto.listen = listen;
  return true;
}

export = { install, parseListenArgs, pickEntry };
