/* eslint-disable @typescript-eslint/no-require-imports -- a .cts file under verbatimModuleSyntax imports with require */
// In a launcher (npm start, npx, tsx's CLI…): hand tend's fds on to the processes it starts. Node marks the fds it
// inherited close-on-exec, so without this the app that npm starts (npm → sh → node) would find nothing at
// TEND_NOTIFY_FD and TEND_IPC_FD. Every child_process spawn of the launcher gets both fds in its stdio array, at the
// same numbers when they are free, else at the next free ones with the variables changed to match.
import childProcess = require('node:child_process');
import fs = require('node:fs');
import contract = require('../contract/env.cjs');
import log = require('./log.cjs');

/** Just what ChildProcess.prototype.spawn reads of its options that this file changes. */
interface SpawnOptions {
  stdio?: unknown;
  envPairs?: string[];
}

const VARIABLES = [contract.ENV.notifyFd, contract.ENV.ipcFd] as const;

function isSocket(fd: number): boolean {
  try {
    return fs.fstatSync(fd).isSocket();
  } catch {
    return false;
  }
}

/** The stdio array Node would build from `stdio`, as an array we may extend. */
function stdioArray(stdio: unknown): unknown[] {
  if (Array.isArray(stdio)) return [...(stdio as unknown[])];
  const each = typeof stdio === 'string' ? stdio : 'pipe';
  return [each, each, each];
}

/** Adds the fds named by the child's TEND_* variables to its stdio, renumbering a variable when its fd is taken. */
function addFds(options: SpawnOptions, fds: ReadonlyMap<string, number>): void {
  const env = options.envPairs;
  if (!Array.isArray(env)) return;
  const stdio = stdioArray(options.stdio);
  for (const [name, fd] of fds) {
    const at = env.findIndex((pair) => pair.startsWith(`${name}=`));
    if (at < 0 || env[at] !== `${name}=${fd}`) continue; // the launcher gave its child another value: leave it
    let index = fd;
    if (stdio[index] !== undefined && stdio[index] !== null) {
      index = Math.max(stdio.length, 3);
      env[at] = `${name}=${index}`;
    }
    while (stdio.length < index) stdio.push(undefined);
    stdio[index] = fd;
  }
  options.stdio = stdio;
}

/** Wraps ChildProcess.prototype.spawn so every child of this launcher inherits tend's fds. */
function passOn(env: NodeJS.ProcessEnv): void {
  const fds = new Map<string, number>();
  for (const name of VARIABLES) {
    const text = env[name];
    if (text !== undefined && /^\d{1,9}$/.test(text) && isSocket(Number(text))) fds.set(name, Number(text));
  }
  if (fds.size === 0) return;
  const proto = childProcess.ChildProcess.prototype as unknown as { spawn: (options: unknown) => unknown };
  const original = proto.spawn;
  if (typeof original !== 'function') return;
  proto.spawn = function spawn(this: unknown, options: unknown): unknown {
    try {
      if (typeof options === 'object' && options !== null) addFds(options, fds);
    } catch (e) {
      log.warnOnce('pass-on', `could not hand tend's fds to a child process: ${log.describe(e)}`);
    }
    return Reflect.apply(original, this, [options]);
  };
  log.debug(`launcher: children inherit ${[...fds].map(([name, fd]) => `${name}=${fd}`).join(', ')}`);
}

export = { passOn, addFds };
