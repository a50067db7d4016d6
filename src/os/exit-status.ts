// How a process ended, and how that maps to the 0-255 exit code tend reports (shared by cli/ and supervisor/).
import { signalFromNumber } from '../config/signal-names.js';

/** A process ended either with an exit code or killed by a signal number. */
export type ExitStatus = { readonly code: number; readonly signal: null } | { readonly code: null; readonly signal: number };

// Render a status for logs: "exit code 3" or "signal SIGTERM (15)".
export function describeStatus(status: ExitStatus): string {
  if (status.signal === null) return `exit code ${status.code}`;
  return `signal ${signalFromNumber(status.signal) ?? `SIG${status.signal}`} (${status.signal})`;
}
