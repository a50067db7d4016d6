/* eslint-disable @typescript-eslint/no-require-imports -- a .cts file under verbatimModuleSyntax imports with require */
// The environment contract between tend and the preload, parsed into plain data. Pure: no I/O, no globals, so the
// unit tests can feed it any environment.
//
//   LISTEN_FDS=n, LISTEN_PID=pid   systemd socket activation: fds 3 … 3+n-1 are ours when LISTEN_PID is our pid
//   TEND_LISTEN_MAP=3=tcp:0.0.0.0:3000,4=unix:/run/app.sock   what each inherited fd listens on
//   TEND_NOTIFY_FD=k               connected AF_UNIX SOCK_DGRAM socket to tend
//   TEND_IPC_FD=k                  a Node IPC channel to tend, for the first Node process that is not a launcher
//   TEND_DRAIN_IDLE_MS=250         how long a keep-alive socket must be idle before the drain closes it
//   TEND_PROBE_SOCKET=/run/tend/…  a unix socket path where the app's server also serves tend's liveness probes
//   TEND_DRAIN_SPREAD_MS=5000      how long closing upgraded connections (WebSocket) is spread over
//   TEND_PRELOAD_DEBUG=1           verbose stderr (read by log.cts)

import address = require('../contract/address.cjs');
import contract = require('../contract/env.cjs');
import type { ListenEntry } from '../contract/types.cjs';
import type { ConfigResult } from './types.cjs';

const { ENV, FIRST_LISTEN_FD } = contract;
const DEFAULT_DRAIN_IDLE_MS = 250;
const DEFAULT_DRAIN_SPREAD_MS = 5_000;

// A whole number from `name`, or null when unset; a malformed value is a problem and counts as unset.
function wholeNumber(env: NodeJS.ProcessEnv, name: string, digits: number, problems: string[], consequence: string): number | null {
  const text = env[name];
  if (text === undefined || text === '') return null;
  if (/^\d+$/.test(text) && text.length <= digits) return Number(text);
  problems.push(`${name}=${JSON.stringify(text)} ${consequence}`);
  return null;
}

// The inherited sockets of this process. The systemd rule: the fds belong to LISTEN_PID only. A process further
// down the worker's tree (npm start → sh → node) inherits the environment but the fd numbers are not its own: it
// gets its sockets from tend over IPC.
function inheritedSockets(env: NodeJS.ProcessEnv, problems: string[]): ListenEntry[] {
  const count = wholeNumber(env, ENV.listenFds, 6, problems, 'is not a count; no inherited sockets used') ?? 0;
  const map = env[ENV.listenMap];
  if (map === undefined || map === '') return [];
  const parsed = address.parseListenMap(map, FIRST_LISTEN_FD, count);
  problems.push(...parsed.problems);
  return parsed.entries;
}

/** TEND_PROBE_SOCKET: an absolute unix socket path (sun_path holds 107 bytes), or null with a problem when malformed. */
function parseProbeSocket(probe: string | undefined, problems: string[]): string | null {
  if (probe === undefined || probe === '') return null;
  if (probe.startsWith('/') && !probe.includes('\0') && Buffer.byteLength(probe) <= 107) return probe;
  problems.push(`TEND_PROBE_SOCKET=${JSON.stringify(probe)} is not an absolute unix socket path; no private probe socket`);
  return null;
}

/** Whether the environment was meant for this process, and what it says. */
function readConfig(env: NodeJS.ProcessEnv, pid: number): ConfigResult {
  if ([ENV.listenMap, ENV.notifyFd, ENV.ipcFd].every((name) => (env[name] ?? '') === '')) {
    return { active: false, reason: 'no TEND_LISTEN_MAP, TEND_NOTIFY_FD or TEND_IPC_FD: not started by tend' };
  }
  // A cluster worker's listen() is served by its primary: redirecting it to an fd would break it.
  if (env.NODE_UNIQUE_ID !== undefined) return { active: false, reason: 'cluster worker' };

  const problems: string[] = [];
  const listenPid = env[ENV.listenPid] ?? '';
  const ownsFds = listenPid === '' || listenPid === String(pid);
  const entries = ownsFds ? inheritedSockets(env, problems) : [];
  const notifyFd = wholeNumber(env, ENV.notifyFd, 9, problems, 'is not an fd; listening reports disabled');
  const ipcFd = wholeNumber(env, ENV.ipcFd, 9, problems, 'is not an fd; no IPC channel to tend');
  if (!ownsFds && notifyFd === null && ipcFd === null) {
    return { active: false, reason: `LISTEN_PID=${listenPid} is not this process (${pid}) and there is no channel to tend` };
  }
  const drainIdleMs = wholeNumber(env, ENV.drainIdleMs, 9, problems,
    `is not a whole number of ms; using ${DEFAULT_DRAIN_IDLE_MS}`) ?? DEFAULT_DRAIN_IDLE_MS;
  const drainSpreadMs = wholeNumber(env, ENV.drainSpreadMs, 9, problems,
    `is not a whole number of ms; using ${DEFAULT_DRAIN_SPREAD_MS}`) ?? DEFAULT_DRAIN_SPREAD_MS;
  const probeSocket = parseProbeSocket(env[ENV.probeSocket], problems);
  return { active: true, config: { entries, notifyFd, ipcFd, drainIdleMs, drainSpreadMs, probeSocket }, problems };
}

export = { readConfig, DEFAULT_DRAIN_IDLE_MS };
