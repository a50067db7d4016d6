// Shapes of the tend ⇄ worker contract (type-only: nothing here exists at run time).

/** A listening address in the contract's text form: `tcp:HOST:PORT` (IPv6 host in brackets) or `unix:/path`. */
export type ListenAddress =
  | { readonly kind: 'tcp'; readonly host: string; readonly port: number; readonly text: string }
  | { readonly kind: 'unix'; readonly path: string; readonly text: string };

/** One inherited listening socket (an entry of TEND_LISTEN_MAP). */
export interface ListenEntry {
  readonly fd: number;
  readonly address: ListenAddress;
}

/** A listen() a worker asks tend to serve on demand; host null means Node's default address (:: or else 0.0.0.0). */
export type SocketRequest =
  | { readonly kind: 'tcp'; readonly host: string | null; readonly port: number }
  | { readonly kind: 'unix'; readonly path: string };
