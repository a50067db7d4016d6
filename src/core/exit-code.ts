// How a process's end folds into the 0-255 exit code tend reports: the documented exit-code API, pure.
import type { ExitStatus } from '../os/exit-status.js';

// Fold an exit status into a shell-style code: the code itself, or 128 + the signal number.
export function exitCodeFor(status: ExitStatus): number {
  return status.signal === null ? status.code : 128 + status.signal;
}

// Apply the --remap-exit table to a child's exit code.
export function remapExitCode(code: number, remap: ReadonlyMap<number, number>): number {
  return remap.get(code) ?? code;
}

// A short, clock-free description for decisions made inside the machines ("exit code 3", "signal 9").
export function statusText(status: ExitStatus | null): string {
  if (status === null) return 'no exit status (it survived SIGKILL)';
  return status.signal === null ? `exit code ${status.code}` : `signal ${status.signal}`;
}
