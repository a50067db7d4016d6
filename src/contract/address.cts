// The address text of the tend ⇄ worker contract, written and read on both sides: tend names each socket it hands
// over (TEND_LISTEN_MAP, the on-demand reply), the preload reports what a server listens on (TEND_LISTENING), and
// tend compares the two to decide readiness, so both must spell an address the same way. Pure.
import type { ListenAddress, ListenEntry } from './types.cjs';

/** `tcp:HOST:PORT`, with an IPv6 host in brackets. */
function tcpAddress(host: string, port: number): string {
  return host.includes(':') ? `tcp:[${host}]:${port}` : `tcp:${host}:${port}`;
}

/** `unix:PATH` (an abstract socket as `@name`). */
function unixAddress(path: string): string {
  return `unix:${path.startsWith('\0') ? `@${path.slice(1)}` : path}`;
}

/** Parses `tcp:HOST:PORT`, `tcp:[V6]:PORT` or `unix:PATH`; null when malformed. */
function parseAddress(text: string): ListenAddress | null {
  if (text.startsWith('unix:')) {
    const path = text.slice(5);
    return path === '' || path.includes('\0') ? null : { kind: 'unix', path, text };
  }
  if (!text.startsWith('tcp:')) return null;
  const rest = text.slice(4);
  const bracketed = /^\[([^\]]*)\]:(\d{1,5})$/.exec(rest);
  const plain = bracketed === null ? /^([^:[\]]*):(\d{1,5})$/.exec(rest) : null; // an IPv6 host must be bracketed
  const match = bracketed ?? plain;
  if (match === null) return null;
  const port = Number(match[2]);
  return port < 1 || port > 65535 ? null : { kind: 'tcp', host: match[1] ?? '', port, text };
}

/** What server.address() returned, in the contract's text form; null when there is nothing to report. */
function formatAddress(address: unknown): string | null {
  if (typeof address === 'string') return unixAddress(address);
  if (typeof address !== 'object' || address === null) return null;
  const { address: host, family, port } = address as { address?: unknown; family?: unknown; port?: unknown };
  if (typeof host !== 'string' || typeof port !== 'number') return null;
  return family === 'IPv6' || family === 6 ? `tcp:[${host}]:${port}` : tcpAddress(host, port);
}

/** TEND_LISTEN_MAP for sockets passed as fds first, first+1, …: "3=tcp:0.0.0.0:3000,4=unix:/run/app.sock". */
function formatListenMap(addresses: readonly string[], first: number): string {
  return addresses.map((address, i) => `${first + i}=${address}`).join(',');
}

/**
 * Parses TEND_LISTEN_MAP against the `count` fds passed from `first` on. Entries that are malformed, outside that
 * range or repeat an fd are dropped with a problem each, so one bad entry does not cost the others.
 */
function parseListenMap(map: string, first: number, count: number): { entries: ListenEntry[]; problems: string[] } {
  const entries: ListenEntry[] = [];
  const problems: string[] = [];
  for (const item of map.split(',')) {
    if (item.trim() === '') continue;
    const eq = item.indexOf('=');
    const fdText = eq < 0 ? '' : item.slice(0, eq).trim();
    const address = eq < 0 ? null : parseAddress(item.slice(eq + 1).trim());
    const fd = Number(fdText);
    if (!/^\d{1,9}$/.test(fdText) || address === null) {
      problems.push(`TEND_LISTEN_MAP entry ${JSON.stringify(item)} is not FD=tcp:HOST:PORT or FD=unix:PATH; ignored`);
    } else if (fd < first || fd >= first + count) {
      problems.push(`TEND_LISTEN_MAP entry ${JSON.stringify(item)}: fd ${fd} is not among the ${count} inherited ` +
        `fd(s) (LISTEN_FDS); ignored`);
    } else if (entries.some((e) => e.fd === fd)) {
      problems.push(`TEND_LISTEN_MAP names fd ${fd} twice; the second entry is ignored`);
    } else {
      entries.push({ fd, address });
    }
  }
  return { entries, problems };
}

export = { tcpAddress, unixAddress, parseAddress, formatAddress, formatListenMap, parseListenMap };
