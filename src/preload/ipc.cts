/* eslint-disable @typescript-eslint/no-require-imports -- a .cts file under verbatimModuleSyntax imports with require */
// The worker's end of tend's Node IPC channel. tend passes the channel as TEND_IPC_FD rather than NODE_CHANNEL_FD:
// Node claims NODE_CHANNEL_FD during bootstrap, before any preload runs, so `npm start` would hand the channel to npm
// itself. Instead the first Node process of the worker that loads this preload and is not a launcher (npm, npx, tsx's
// CLI, yarn, pnpm) claims it exactly as Node's bootstrap would (child_process._forkChild(fd, 'json')): from then on
// process.send exists and process.connected is true. It then removes TEND_IPC_FD from its environment so its own
// children do not claim it too; a launcher leaves it there for the process it starts (tsx's CLI opens an IPC channel to
// its child only when it has process.send itself, so the app then claims tend's).
//
// Socket requests are internal messages (cmd "NODE_TEND_…"), which Node delivers as 'internalMessage', never to the
// app's 'message' listeners. A reply carries the socket as a 'net.Native' handle (see src/runner/ipc-channel.ts).
import fs = require('node:fs');
import contract = require('../contract/env.cjs');
import log = require('./log.cjs');
import type { SocketClient, SocketReply } from './types.cjs';

const { listenRequest: REQUEST, listenReply: REPLY } = contract.IPC;
/** tend answers in milliseconds; past this the app listens on its own socket rather than hang. */
const REQUEST_TIMEOUT_MS = 10_000;

/**
 * Node programs that start the app as another process: they pass the channel on instead of claiming it. Matched
 * against the real path of the main script.
 */
const LAUNCHER = /[\\/]node_modules[\\/](?:npm[\\/]bin[\\/]np[mx]-cli\.js|tsx[\\/]dist[\\/]cli\.[cm]?js|yarn[\\/]bin[\\/]yarn\.c?js|pnpm[\\/]bin[\\/]pnpm\.c?js|corepack[\\/]dist[\\/][\w-]+\.js)$/;

/** Whether the main script is a launcher (npm, npx, tsx's CLI…), by its real path. */
function isLauncher(script: string | undefined): boolean {
  if (script === undefined || script === '') return false;
  let path = script;
  try {
    path = fs.realpathSync(script);
  } catch {
    // Not a file (node -e, a REPL): not a launcher.
  }
  return LAUNCHER.test(path);
}

interface Pending {
  readonly done: (reply: SocketReply) => void;
  readonly timer: NodeJS.Timeout;
}

function client(): SocketClient {
  let nextId = 1;
  const pending = new Map<number, Pending>();
  process.on('internalMessage', (message: unknown, handle: { close(): void } | undefined) => {
    if (typeof message !== 'object' || message === null) return;
    const m = message as { cmd?: unknown; id?: unknown; address?: unknown; error?: unknown };
    if (m.cmd !== REPLY || typeof m.id !== 'number') return;
    const entry = pending.get(m.id);
    if (entry === undefined) {
      handle?.close(); // asked too long ago: the app already listens on its own
      return;
    }
    pending.delete(m.id);
    clearTimeout(entry.timer);
    if (handle !== undefined && typeof m.address === 'string') {
      entry.done({ ok: true, address: m.address, handle });
      return;
    }
    const e = (m.error ?? {}) as { code?: unknown; errno?: unknown; syscall?: unknown };
    entry.done({
      ok: false,
      code: typeof e.code === 'string' ? e.code : 'EIO',
      errno: typeof e.errno === 'number' ? e.errno : 5,
      syscall: typeof e.syscall === 'string' ? e.syscall : 'listen',
    });
  });
  return {
    request(request, done) {
      const id = nextId++;
      const fail = (why: string): void => {
        if (!pending.delete(id)) return;
        clearTimeout(timer);
        log.warnOnce(`no-reply:${why}`, `tend did not hand over a socket (${why}); listening on the app's own socket instead`);
        done({ ok: false, code: 'TEND_NO_REPLY', errno: 0, syscall: 'listen' });
      };
      // The timer also keeps the process alive until the socket arrives (the channel itself is unref'd).
      const timer = setTimeout(() => { fail('no reply within 10 s'); }, REQUEST_TIMEOUT_MS);
      pending.set(id, { done, timer });
      const send = process.send?.bind(process);
      if (send === undefined) {
        fail('the IPC channel is closed');
        return;
      }
      try {
        send({ cmd: REQUEST, id, ...request }, undefined, undefined, (error: Error | null) => { if (error !== null) fail(log.describe(error)); });
      } catch (error) {
        fail(log.describe(error));
      }
    },
  };
}

/** Claims tend's channel for this process (not a launcher) unless it has one already; null when it cannot. */
function claim(ipcFd: number | null): SocketClient | null {
  if (ipcFd === null) return null;
  if (!(require('node:worker_threads') as typeof import('node:worker_threads')).isMainThread) return null;
  if (process.channel !== undefined) {
    log.debug('this process already has an IPC channel (from its parent): not claiming tend\'s');
    return null;
  }
  const cp = require('node:child_process') as { _forkChild?: (fd: number, mode: string) => void };
  if (typeof cp._forkChild !== 'function') {
    log.warnOnce('no-fork-child', 'this Node has no child_process._forkChild: no IPC channel to tend (process.send stays undefined)');
    return null;
  }
  let isSocket = false;
  try {
    isSocket = fs.fstatSync(ipcFd).isSocket();
  } catch {
    isSocket = false;
  }
  if (!isSocket) {
    log.warnOnce('ipc-not-socket', `TEND_IPC_FD=${ipcFd} is not an open socket; no IPC channel to tend`);
    return null;
  }
  Reflect.deleteProperty(process.env, contract.ENV.ipcFd);
  cp._forkChild(ipcFd, 'json');
  log.debug(`claimed the IPC channel to tend (fd ${ipcFd})`);
  return client();
}

export = { claim, isLauncher };
