// Signal names as users write them ("term", "SIGTERM", "15") resolved to canonical names and numbers.
import { constants } from 'node:os';

/** A canonical signal name Node knows, e.g. 'SIGTERM'. */
export type SignalName = NodeJS.Signals;

const BY_NAME = constants.signals as Readonly<Record<string, number>>;

// Resolve user input to a canonical name, or null if no such signal exists.
export function parseSignal(text: string): SignalName | null {
  const trimmed = text.trim();
  if (/^\d+$/.test(trimmed)) {
    const signo = Number(trimmed);
    for (const [name, value] of Object.entries(BY_NAME)) {
      if (value === signo && name !== 'SIGIOT' && name !== 'SIGPOLL') return name as SignalName;
    }
    return null;
  }
  const upper = trimmed.toUpperCase();
  const name = upper.startsWith('SIG') ? upper : `SIG${upper}`;
  return name in BY_NAME ? (name as SignalName) : null;
}

// The signal number for a canonical name (Linux numbering).
export function signalNumber(name: SignalName): number {
  const signo = BY_NAME[name];
  if (signo === undefined) throw new TypeError(`unknown signal ${name}`);
  return signo;
}
