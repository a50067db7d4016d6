// Shared shapes of the preload (type-only: nothing here exists at run time).

/** A listening address in tend's map format: `tcp:HOST:PORT` (IPv6 host in brackets) or `unix:/path`. */
export type ListenAddress =
  | { readonly kind: 'tcp'; readonly host: string; readonly port: number; readonly text: string }
  | { readonly kind: 'unix'; readonly path: string; readonly text: string };

/** One inherited listening socket. */
export interface ListenEntry {
  readonly fd: number;
  readonly address: ListenAddress;
}

/** What tend's environment says, once parsed. */
export interface PreloadConfig {
  /** Inherited sockets that may replace an app's listen(); fds are within LISTEN_FDS. */
  readonly entries: readonly ListenEntry[];
  /** The datagram socket to tend, or null when there is none. */
  readonly notifyFd: number | null;
  readonly drainIdleMs: number;
}

export type ConfigResult =
  | { readonly active: false; readonly reason: string }
  | { readonly active: true; readonly config: PreloadConfig; readonly problems: readonly string[] };

/** What an app's listen() call asked for, when it is something an inherited socket can stand in for. */
export type ListenTarget =
  | { readonly kind: 'tcp'; readonly port: number; readonly host: string | undefined }
  | { readonly kind: 'unix'; readonly path: string };
