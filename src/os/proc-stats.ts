// Per-process resource usage from /proc: resident memory, CPU time, open fds and the open-files limit.
import { readdirSync, readFileSync } from 'node:fs';

/** One sample of a process's usage; null fields could not be read. */
export interface ProcSample {
  readonly rssBytes: number;
  /** utime + stime in clock ticks. */
  readonly cpuTicks: number;
  readonly fdCount: number | null;
  readonly nofileSoft: number | null;
}

const PAGE_SIZE = 4096;
/** USER_HZ: the unit of utime/stime in /proc/PID/stat, 100 on every Linux ABI tend runs on. */
export const CLOCK_TICKS_PER_SECOND = 100;

// Sample `pid`; null if it is gone.
export function sampleProcess(pid: number): ProcSample | null {
  try {
    const statm = readFileSync(`/proc/${pid}/statm`, 'latin1').split(' ');
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields after the command: state(0) ... utime(11) stime(12).
    const cpuTicks = Number(fields[11]) + Number(fields[12]);
    let fdCount: number | null = null;
    try { fdCount = readdirSync(`/proc/${pid}/fd`).length; } catch { fdCount = null; }
    let nofileSoft: number | null = null;
    const limits = /^Max open files\s+(\S+)/m.exec(readFileSync(`/proc/${pid}/limits`, 'latin1'));
    if (limits?.[1] !== undefined && limits[1] !== 'unlimited') nofileSoft = Number(limits[1]);
    return { rssBytes: Number(statm[1]) * PAGE_SIZE, cpuTicks, fdCount, nofileSoft };
  } catch {
    return null;
  }
}
