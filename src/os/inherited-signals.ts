// The signal state tend was exec'd with, as the launcher recorded it before Node reset it (Node un-ignores every
// ignored signal and empties the mask at start-up), so a child gets what exec would have given it: `nohup tend run …`
// keeps SIGHUP ignored in the child, and a blocked mask stays blocked.

/** The launcher's environment variable, e.g. "ignore=1,13;block=10". Children never see it. */
export const INHERITED_SIGNALS_ENV = 'TEND_INHERITED_SIGNALS';

/** Signal numbers that were ignored (SIG_IGN) and blocked when tend started. */
export interface InheritedSignals {
  readonly ignored: readonly number[];
  readonly blocked: readonly number[];
}

/** What a child gets when tend was not started through the launcher: every signal default and unblocked. */
export const NO_INHERITED_SIGNALS: InheritedSignals = Object.freeze({ ignored: Object.freeze([]), blocked: Object.freeze([]) });

// Parse the launcher's record ("ignore=1,13;block=10", either list may be empty); null if absent or malformed.
export function parseInheritedSignals(text: string | undefined): InheritedSignals | null {
  if (text === undefined) return null;
  const match = /^ignore=([\d,]*);block=([\d,]*)$/.exec(text);
  if (match === null) return null;
  const list = (s: string | undefined): number[] | null => {
    if (s === undefined || s === '') return [];
    const numbers = s.split(',').map(Number);
    return numbers.every((n) => Number.isInteger(n) && n >= 1 && n <= 64) ? numbers : null;
  };
  const ignored = list(match[1]);
  const blocked = list(match[2]);
  return ignored === null || blocked === null ? null : { ignored, blocked };
}

let fromEnvironment: InheritedSignals | undefined;

// The signal state recorded in tend's own environment (read once), or NO_INHERITED_SIGNALS without the launcher.
export function inheritedSignals(): InheritedSignals {
  fromEnvironment ??= parseInheritedSignals(process.env[INHERITED_SIGNALS_ENV]) ?? NO_INHERITED_SIGNALS;
  return fromEnvironment;
}
