// The sd_notify datagram protocol (shared by the receiver in tend, the upward notifier and the in-app library):
// newline-separated KEY=VALUE assignments, as systemd parses them. Pure; no I/O.

import contract from '../contract/env.cjs';

/** systemd's limit for one notification datagram; longer ones are dropped. */
export const NOTIFY_MAX_BYTES = 4096;

/** What a datagram asks for, with unknown keys kept so nothing is silently lost. */
export interface NotifyMessage {
  readonly ready: boolean;
  readonly reloading: boolean;
  readonly stopping: boolean;
  readonly watchdog: 'ping' | 'trigger' | null;
  readonly status: string | null;
  readonly errno: number | null;
  /** EXTEND_TIMEOUT_USEC in microseconds. */
  readonly extendTimeoutUsec: number | null;
  /** MAINPID= as sent; tend uses it only for logging. */
  readonly mainPid: number | null;
  /** WATCHDOG_USEC= (a service changing its own watchdog interval). */
  readonly watchdogUsec: number | null;
  /** MONOTONIC_USEC= that accompanies RELOADING=1. */
  readonly monotonicUsec: number | null;
  readonly barrier: boolean;
  /** tend's own extension: the preload reports a listening server ("TEND_LISTENING=tcp:0.0.0.0:3000"). */
  readonly listening: string | null;
  /** Every assignment, in order (unknown keys included). */
  readonly fields: readonly (readonly [string, string])[];
}


/** Why a datagram was ignored. */
export type NotifyRejection = { readonly rejected: string };

const UNSIGNED = /^\d{1,16}$/;

// Parse one datagram. Returns a rejection for what systemd would drop: empty, oversized, NUL bytes, invalid UTF-8,
// or a line that is not KEY=VALUE.
export function parseNotify(data: Uint8Array, truncated = false): NotifyMessage | NotifyRejection {
  if (truncated || data.length > NOTIFY_MAX_BYTES) return { rejected: `datagram longer than ${NOTIFY_MAX_BYTES} bytes` };
  if (data.length === 0) return { rejected: 'empty datagram' };
  if (data.includes(0)) return { rejected: 'datagram contains a NUL byte' };
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(data);
  } catch {
    return { rejected: 'datagram is not valid UTF-8' };
  }
  const fields: [string, string][] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const eq = line.indexOf('=');
    if (eq <= 0) return { rejected: `line ${JSON.stringify(line.slice(0, 40))} is not KEY=VALUE` };
    const key = line.slice(0, eq);
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) return { rejected: `key ${JSON.stringify(key.slice(0, 40))} is not a valid name` };
    fields.push([key, line.slice(eq + 1)]);
  }
  if (fields.length === 0) return { rejected: 'no assignments' };
  const last = (key: string): string | undefined => fields.findLast(([k]) => k === key)?.[1];
  const uint = (key: string): number | null => {
    const value = last(key);
    return value !== undefined && UNSIGNED.test(value) && Number.isSafeInteger(Number(value)) ? Number(value) : null;
  };
  const watchdog = last('WATCHDOG');
  return {
    ready: last('READY') === '1',
    reloading: last('RELOADING') === '1',
    stopping: last('STOPPING') === '1',
    watchdog: watchdog === '1' ? 'ping' : watchdog === 'trigger' ? 'trigger' : null,
    status: last('STATUS') ?? null,
    errno: uint('ERRNO'),
    extendTimeoutUsec: uint('EXTEND_TIMEOUT_USEC'),
    mainPid: uint('MAINPID'),
    watchdogUsec: uint('WATCHDOG_USEC'),
    monotonicUsec: uint('MONOTONIC_USEC'),
    barrier: last('BARRIER') === '1',
    listening: last(contract.NOTIFY_LISTENING) ?? null,
    fields,
  };
}

// Tell a parse result apart from a rejection.
export function isRejection(result: NotifyMessage | NotifyRejection): result is NotifyRejection {
  return 'rejected' in result;
}

// Format assignments as one datagram ("READY=1\nSTATUS=...\n"); values must not contain newlines.
export function formatNotify(fields: Readonly<Record<string, string | number>>): Buffer {
  const lines = Object.entries(fields).map(([k, v]) => {
    const value = String(v);
    if (value.includes('\n')) throw new TypeError(`sd_notify value for ${k} contains a newline`);
    return `${k}=${value}\n`;
  });
  return Buffer.from(lines.join(''), 'utf8');
}
