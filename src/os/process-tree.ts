// Questions about processes that only the kernel can answer: is a process group alive, which group is a pid in.
// Asked through the addon's kill, which answers "no such process" plainly: process.kill would throw for it.
import { readFileSync } from 'node:fs';
import { signalNumber, type SignalName } from '../config/signal-names.js';
import { native } from './native.js';

// True while any process (zombies included) is in process group `pgid`.
export function isGroupAlive(pgid: number): boolean {
  return exists(-pgid);
}

// True while process `pid` exists (a zombie included), ours or not.
export function isProcessAlive(pid: number): boolean {
  return exists(pid);
}

// Signal 0 to a pid (> 0) or a group (< 0): it exists unless the kernel says there is no such process.
function exists(target: number): boolean {
  try {
    return native.kill(target, 0);
  } catch {
    return true; // EPERM: it exists, and is not ours to signal
  }
}

// The process group of `pid` from /proc, or null if it is gone.
export function processGroupOf(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    // The command name (field 2) may contain spaces and parentheses; fields after the last ')' are fixed.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[2]);
  } catch {
    return null;
  }
}

// Send a signal and treat "no such process" as success: a process that already exited is not an error.
// Sent by number, so real-time signals (which Node has no names for) go the same way.
export function sendSignal(pid: number, signal: SignalName): boolean {
  return native.kill(pid, signalNumber(signal));
}
