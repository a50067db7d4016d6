// Shared shapes of the preload (type-only: nothing here exists at run time).

import type { ListenEntry, SocketRequest } from '../contract/types.cjs';

/** What tend's environment says, once parsed. */
export interface PreloadConfig {
  /** Inherited sockets that may replace an app's listen(); fds are within LISTEN_FDS. */
  readonly entries: readonly ListenEntry[];
  /** The datagram socket to tend, or null when there is none. */
  readonly notifyFd: number | null;
  /** tend's Node IPC channel (TEND_IPC_FD), not yet claimed by any process of this worker; null when there is none. */
  readonly ipcFd: number | null;
  readonly drainIdleMs: number;
  /** TEND_PROBE_SOCKET: where this worker serves tend's liveness probes (probe.cts); null when tend asks for none. */
  readonly probeSocket: string | null;
  /** How long closing upgraded connections is spread over on a stop (TEND_DRAIN_SPREAD_MS). */
  readonly drainSpreadMs: number;
}

export type ConfigResult =
  | { readonly active: false; readonly reason: string }
  | { readonly active: true; readonly config: PreloadConfig; readonly problems: readonly string[] };

/** What an app's listen() call asked for, when it is something an inherited socket can stand in for. */
export type ListenTarget =
  | { readonly kind: 'tcp'; readonly port: number; readonly host: string | undefined }
  | { readonly kind: 'unix'; readonly path: string };

/** What tend sent back: the socket's address and its handle, or the error tend's bind/listen got. */
export type SocketReply =
  | { readonly ok: true; readonly address: string; readonly handle: { fd?: number; close(): void } }
  | { readonly ok: false; readonly code: string; readonly errno: number; readonly syscall: string }
  | { readonly ok: false; readonly code: 'TEND_NO_REPLY'; readonly errno: 0; readonly syscall: 'listen' };

/** The channel as the listen redirect uses it. */
export interface SocketClient {
  request(request: SocketRequest, done: (reply: SocketReply) => void): void;
}
