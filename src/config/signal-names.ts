// Signal names as users write them ("term", "SIGTERM", "15", "RTMIN+3") resolved to canonical names and numbers.
// The numbers are Linux's own table, written out: reading them from node:os would load that module (and its
// binding) on every start just for these 31 numbers. MIPS numbers its signals differently; there it is read from Node.
import { constants } from 'node:os';

/**
 * A real-time signal, named from SIGRTMIN = 34 as `kill -l`, systemd and Docker's STOPSIGNAL name them on Linux:
 * 'SIGRTMIN' (34), 'SIGRTMIN+1' (35) … 'SIGRTMIN+30' (64 = SIGRTMAX). Node has no name for these.
 */
export type RealtimeSignalName = 'SIGRTMIN' | `SIGRTMIN+${number}`;

/** A canonical signal name, e.g. 'SIGTERM' or 'SIGRTMIN+3'. */
export type SignalName = NodeJS.Signals | RealtimeSignalName;

/** The number the name SIGRTMIN stands for (glibc's; musl keeps 34 for itself and starts at 35). */
export const SIGRTMIN = 34;
/** The highest signal number on Linux. */
export const SIGRTMAX = 64;

/** Linux's signal numbers on every architecture Node runs on except MIPS (as os.constants.signals has them). */
export const LINUX_SIGNALS: Readonly<Record<string, number>> = {
  SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGILL: 4, SIGTRAP: 5, SIGABRT: 6, SIGIOT: 6, SIGBUS: 7, SIGFPE: 8, SIGKILL: 9,
  SIGUSR1: 10, SIGSEGV: 11, SIGUSR2: 12, SIGPIPE: 13, SIGALRM: 14, SIGTERM: 15, SIGSTKFLT: 16, SIGCHLD: 17,
  SIGCONT: 18, SIGSTOP: 19, SIGTSTP: 20, SIGTTIN: 21, SIGTTOU: 22, SIGURG: 23, SIGXCPU: 24, SIGXFSZ: 25,
  SIGVTALRM: 26, SIGPROF: 27, SIGWINCH: 28, SIGIO: 29, SIGPOLL: 29, SIGPWR: 30, SIGSYS: 31,
};

const BY_NAME: Readonly<Record<string, number>> = process.arch.startsWith('mips') ? constants.signals : LINUX_SIGNALS;

// Resolve user input to a canonical name, or null if no such signal exists.
export function parseSignal(text: string): SignalName | null {
  const trimmed = text.trim();
  if (/^\d+$/.test(trimmed)) return signalFromNumber(Number(trimmed));
  const upper = trimmed.toUpperCase();
  const name = upper.startsWith('SIG') ? upper : `SIG${upper}`;
  const realtime = /^SIGRT(MIN|MAX)(?:([+-])(\d{1,2}))?$/.exec(name);
  if (realtime !== null) {
    const [, base, sign, digits] = realtime;
    const offset = digits === undefined ? 0 : Number(digits) * (sign === '-' ? -1 : 1);
    const signo = (base === 'MIN' ? SIGRTMIN : SIGRTMAX) + offset;
    return signo >= SIGRTMIN && signo <= SIGRTMAX ? realtimeName(signo) : null;
  }
  return name in BY_NAME ? (name as SignalName) : null;
}

// The canonical name of a signal number (how a signal that arrived as a number is named and logged), or null.
export function signalFromNumber(signo: number): SignalName | null {
  if (signo >= SIGRTMIN && signo <= SIGRTMAX) return realtimeName(signo);
  for (const [name, value] of Object.entries(BY_NAME)) {
    if (value === signo && name !== 'SIGIOT' && name !== 'SIGPOLL') return name as SignalName;
  }
  return null;
}

// The signal number for a canonical name (Linux numbering).
export function signalNumber(name: SignalName): number {
  if (name === 'SIGRTMIN') return SIGRTMIN;
  if (name.startsWith('SIGRTMIN+')) {
    const offset = Number(name.slice('SIGRTMIN+'.length));
    if (Number.isInteger(offset) && offset >= 0 && SIGRTMIN + offset <= SIGRTMAX) return SIGRTMIN + offset;
    throw new TypeError(`unknown signal ${name}`);
  }
  const signo = BY_NAME[name];
  if (signo === undefined) throw new TypeError(`unknown signal ${name}`);
  return signo;
}

function realtimeName(signo: number): RealtimeSignalName {
  return signo === SIGRTMIN ? 'SIGRTMIN' : `SIGRTMIN+${signo - SIGRTMIN}`;
}
