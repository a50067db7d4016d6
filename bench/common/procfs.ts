// What both benchmarks read from /proc and how they wait, in one place.
import { readdirSync, readFileSync } from 'node:fs';

// Pids whose parent is `pid`, across all of its threads (a reparented orphan may hang off any of them).
export function childrenOf(pid: number): number[] {
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  const out: number[] = [];
  for (const tid of tasks) {
    try {
      for (const word of readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').split(' ')) {
        if (word.trim() !== '') out.push(Number(word));
      }
    } catch {
      // the thread ended meanwhile
    }
  }
  return out;
}

// A field of /proc/PID/status in kB (VmHWM, VmRSS), or null if the process is gone.
export function statusKb(pid: number, field: string): number | null {
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) : null;
  } catch {
    return null;
  }
}

// Send `signal`; false if the process had already gone (never an error).
export function signalQuietly(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(pid, signal);
    return true;
  } catch {
    return false; // ESRCH: already gone
  }
}

// `promise`, or null once `timeoutMs` has passed.
export async function withTimeout<T>(promise: Promise<T>, timeoutMs: number): Promise<T | null> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<null>((resolve) => { timer = setTimeout(() => { resolve(null); }, timeoutMs); });
  const result = await Promise.race([promise, timeout]);
  clearTimeout(timer);
  return result;
}
