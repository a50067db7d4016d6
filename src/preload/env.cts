// The environment contract between tend and the preload, parsed into plain data. Pure: no I/O, no globals, so the
// unit tests can feed it any environment.
//
//   LISTEN_FDS=n, LISTEN_PID=pid   systemd socket activation: fds 3 … 3+n-1 are ours when LISTEN_PID is our pid
//   TEND_LISTEN_MAP=3=tcp:0.0.0.0:3000,4=unix:/run/app.sock   what each inherited fd listens on
//   TEND_NOTIFY_FD=k               connected AF_UNIX SOCK_DGRAM socket to tend
//   TEND_IPC_FD=k                  a Node IPC channel to tend, for the first Node process that is not a launcher
//   TEND_DRAIN_IDLE_MS=250         how long a keep-alive socket must be idle before the drain closes it
//   TEND_DRAIN_SPREAD_MS=5000      how long closing upgraded connections (WebSocket) is spread over
//   TEND_PRELOAD_DEBUG=1           verbose stderr (read by log.cts)

import type { ConfigResult, ListenAddress, ListenEntry } from './types.cjs';

const DEFAULT_DRAIN_IDLE_MS = 250;
const DEFAULT_DRAIN_SPREAD_MS = 5_000;
const FIRST_LISTEN_FD = 3; // SD_LISTEN_FDS_START

/** Parses `tcp:HOST:PORT`, `tcp:[V6]:PORT` or `unix:PATH`; null when malformed. */
function parseAddress(text: string): ListenAddress | null {
  if (text.startsWith('tcp:')) {
    const rest = text.slice(4);
    let host: string;
    let portText: string;
    if (rest.startsWith('[')) {
      const end = rest.indexOf(']');
      if (end < 0 || rest[end + 1] !== ':') return null;
      host = rest.slice(1, end);
      portText = rest.slice(end + 2);
    } else {
      const colon = rest.lastIndexOf(':');
      if (colon < 0) return null;
      host = rest.slice(0, colon);
      portText = rest.slice(colon + 1);
      if (host.includes(':')) return null; // an IPv6 host must be bracketed
    }
    if (!/^\d{1,5}$/.test(portText)) return null;
    const port = Number(portText);
    if (port < 1 || port > 65535) return null;
    return { kind: 'tcp', host, port, text };
  }
  if (text.startsWith('unix:')) {
    const path = text.slice(5);
    if (path === '' || path.includes('\0')) return null;
    return { kind: 'unix', path, text };
  }
  return null;
}

/**
 * Parses TEND_LISTEN_MAP against LISTEN_FDS. Entries that are malformed, outside the inherited fd range or repeat an
 * fd are dropped with a problem each, so one bad entry does not cost the others.
 */
function parseListenMap(map: string, listenFds: number): { entries: ListenEntry[]; problems: string[] } {
  const entries: ListenEntry[] = [];
  const problems: string[] = [];
  for (const item of map.split(',')) {
    if (item.trim() === '') continue;
    const eq = item.indexOf('=');
    const fdText = eq < 0 ? '' : item.slice(0, eq).trim();
    const address = eq < 0 ? null : parseAddress(item.slice(eq + 1).trim());
    if (!/^\d{1,9}$/.test(fdText) || address === null) {
      problems.push(`TEND_LISTEN_MAP entry ${JSON.stringify(item)} is not FD=tcp:HOST:PORT or FD=unix:PATH; ignored`);
      continue;
    }
    const fd = Number(fdText);
    if (fd < FIRST_LISTEN_FD || fd >= FIRST_LISTEN_FD + listenFds) {
      problems.push(`TEND_LISTEN_MAP entry ${JSON.stringify(item)}: fd ${fd} is not among the ${listenFds} inherited ` +
        `fd(s) (LISTEN_FDS); ignored`);
      continue;
    }
    if (entries.some((e) => e.fd === fd)) {
      problems.push(`TEND_LISTEN_MAP names fd ${fd} twice; the second entry is ignored`);
      continue;
    }
    entries.push({ fd, address });
  }
  return { entries, problems };
}

/** Whether the environment was meant for this process, and what it says. */
function readConfig(env: NodeJS.ProcessEnv, pid: number): ConfigResult {
  const map = env.TEND_LISTEN_MAP;
  const notify = env.TEND_NOTIFY_FD;
  const ipc = env.TEND_IPC_FD;
  if ((map === undefined || map === '') && (notify === undefined || notify === '') && (ipc === undefined || ipc === '')) {
    return { active: false, reason: 'no TEND_LISTEN_MAP, TEND_NOTIFY_FD or TEND_IPC_FD: not started by tend' };
  }
  // A cluster worker's listen() is served by its primary: redirecting it to an fd would break it.
  if (env.NODE_UNIQUE_ID !== undefined) return { active: false, reason: 'cluster worker' };

  const problems: string[] = [];
  // The systemd rule: the fds belong to LISTEN_PID only. A process further down the worker's tree (npm start → sh →
  // node) inherits the environment but the fd numbers are not its own: it gets its sockets from tend over IPC.
  const listenPid = env.LISTEN_PID;
  const ownsFds = listenPid === undefined || listenPid === '' || listenPid === String(pid);
  let listenFds = 0;
  const fdsText = env.LISTEN_FDS;
  if (ownsFds && fdsText !== undefined && fdsText !== '') {
    if (/^\d{1,6}$/.test(fdsText)) listenFds = Number(fdsText);
    else problems.push(`LISTEN_FDS=${JSON.stringify(fdsText)} is not a count; no inherited sockets used`);
  }
  let entries: ListenEntry[] = [];
  if (ownsFds && map !== undefined && map !== '') {
    const parsed = parseListenMap(map, listenFds);
    entries = parsed.entries;
    problems.push(...parsed.problems);
  }

  let notifyFd: number | null = null;
  if (notify !== undefined && notify !== '') {
    if (/^\d{1,9}$/.test(notify)) notifyFd = Number(notify);
    else problems.push(`TEND_NOTIFY_FD=${JSON.stringify(notify)} is not an fd; listening reports disabled`);
  }

  let ipcFd: number | null = null;
  if (ipc !== undefined && ipc !== '') {
    if (/^\d{1,9}$/.test(ipc)) ipcFd = Number(ipc);
    else problems.push(`TEND_IPC_FD=${JSON.stringify(ipc)} is not an fd; no IPC channel to tend`);
  }

  if (!ownsFds && notifyFd === null && ipcFd === null) {
    return { active: false, reason: `LISTEN_PID=${listenPid} is not this process (${pid}) and there is no channel to tend` };
  }

  let drainIdleMs = DEFAULT_DRAIN_IDLE_MS;
  const idle = env.TEND_DRAIN_IDLE_MS;
  if (idle !== undefined && idle !== '') {
    if (/^\d{1,9}$/.test(idle)) drainIdleMs = Number(idle);
    else problems.push(`TEND_DRAIN_IDLE_MS=${JSON.stringify(idle)} is not a whole number of ms; using ${DEFAULT_DRAIN_IDLE_MS}`);
  }
  const drainSpreadMs = wholeMs(env, 'TEND_DRAIN_SPREAD_MS', DEFAULT_DRAIN_SPREAD_MS, problems);
  return { active: true, config: { entries, notifyFd, ipcFd, drainIdleMs, drainSpreadMs }, problems };
}

function wholeMs(env: NodeJS.ProcessEnv, name: string, fallback: number, problems: string[]): number {
  const text = env[name];
  if (text === undefined || text === '') return fallback;
  if (/^\d{1,9}$/.test(text)) return Number(text);
  problems.push(`${name}=${JSON.stringify(text)} is not a whole number of ms; using ${fallback}`);
  return fallback;
}

/**
 * Formats what server.address() returned in the map format: `tcp:HOST:PORT` / `tcp:[V6]:PORT` / `unix:PATH`
 * (an abstract socket "\0name" as "@name"); null when there is nothing to report.
 */
function formatAddress(address: unknown): string | null {
  if (typeof address === 'string') {
    return `unix:${address.startsWith('\0') ? `@${address.slice(1)}` : address}`;
  }
  if (typeof address === 'object' && address !== null) {
    const { address: host, family, port } = address as { address?: unknown; family?: unknown; port?: unknown };
    if (typeof host !== 'string' || typeof port !== 'number') return null;
    const v6 = family === 'IPv6' || family === 6 || host.includes(':');
    return v6 ? `tcp:[${host}]:${port}` : `tcp:${host}:${port}`;
  }
  return null;
}

export = { readConfig, parseAddress, parseListenMap, formatAddress, DEFAULT_DRAIN_IDLE_MS };
