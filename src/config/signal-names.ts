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

// Linux's signal names by number on every architecture Node runs on except MIPS (index 0 is none): an array V8 copies
// from its boilerplate, where an object of the 33 names cost every start ~50 us to build. SIGIOT (6) and SIGPOLL (29)
// are other names for SIGABRT and SIGIO.
const LINUX_NAMES = ['', 'SIGHUP', 'SIGINT', 'SIGQUIT', 'SIGILL', 'SIGTRAP', 'SIGABRT', 'SIGBUS', 'SIGFPE', 'SIGKILL',
  'SIGUSR1', 'SIGSEGV', 'SIGUSR2', 'SIGPIPE', 'SIGALRM', 'SIGTERM', 'SIGSTKFLT', 'SIGCHLD', 'SIGCONT', 'SIGSTOP', 'SIGTSTP',
  'SIGTTIN', 'SIGTTOU', 'SIGURG', 'SIGXCPU', 'SIGXFSZ', 'SIGVTALRM', 'SIGPROF', 'SIGWINCH', 'SIGIO', 'SIGPWR', 'SIGSYS'];

const ALIASES: Readonly<Record<string, number>> = { SIGIOT: 6, SIGPOLL: 29 };

const MIPS = process.arch.startsWith('mips');

/** Linux's signal numbers on every architecture Node runs on except MIPS (as os.constants.signals has them). */
export function linuxSignals(): Record<string, number> {
  const table: Record<string, number> = { ...ALIASES };
  LINUX_NAMES.forEach((name, signo) => { if (signo > 0) table[name] = signo; });
  return table;
}

// The number of a SIG-prefixed name of a standard (not real-time) signal, or undefined.
function numberOf(name: string): number | undefined {
  if (MIPS) return Object.hasOwn(constants.signals, name) ? constants.signals[name as NodeJS.Signals] : undefined;
  const signo = LINUX_NAMES.indexOf(name);
  return signo > 0 ? signo : ALIASES[name];
}

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
  return numberOf(name) === undefined ? null : (name as SignalName);
}

// The canonical name of a signal number (how a signal that arrived as a number is named and logged), or null.
export function signalFromNumber(signo: number): SignalName | null {
  if (signo >= SIGRTMIN && signo <= SIGRTMAX) return realtimeName(signo);
  if (!MIPS) return signo >= 1 && signo < LINUX_NAMES.length ? LINUX_NAMES[signo] as SignalName : null;
  for (const [name, value] of Object.entries(constants.signals)) {
    if (value === signo && !Object.hasOwn(ALIASES, name)) return name as SignalName;
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
  const signo = numberOf(name);
  if (signo === undefined) throw new TypeError(`unknown signal ${name}`);
  return signo;
}

function realtimeName(signo: number): RealtimeSignalName {
  return signo === SIGRTMIN ? 'SIGRTMIN' : `SIGRTMIN+${signo - SIGRTMIN}`;
}
