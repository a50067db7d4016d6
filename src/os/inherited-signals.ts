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

const IGNORE = 'ignore=';
const BLOCK = ';block=';

// Parse the launcher's record ("ignore=1,13;block=10", either list may be empty); null if absent or malformed. By hand:
// a regular expression's first use compiles it (~50 µs), and this runs on every start.
export function parseInheritedSignals(text: string | undefined): InheritedSignals | null {
  if (text === undefined || !text.startsWith(IGNORE)) return null;
  const at = text.indexOf(BLOCK);
  if (at < 0) return null;
  const ignored = signalList(text.slice(IGNORE.length, at));
  const blocked = signalList(text.slice(at + BLOCK.length));
  return ignored === null || blocked === null ? null : { ignored, blocked };
}

// "1,13" as numbers, each 1-64 in decimal digits; "" is none; anything else null.
function signalList(text: string): number[] | null {
  if (text === '') return [];
  const numbers: number[] = [];
  for (const item of text.split(',')) {
    if (item === '') return null;
    for (let i = 0; i < item.length; i++) {
      const code = item.charCodeAt(i);
      if (code < 48 || code > 57) return null; // not 0-9
    }
    const signo = Number(item);
    if (signo < 1 || signo > 64) return null;
    numbers.push(signo);
  }
  return numbers;
}

let fromEnvironment: InheritedSignals | undefined;

// The signal state recorded in tend's own environment (read once), or NO_INHERITED_SIGNALS without the launcher.
export function inheritedSignals(): InheritedSignals {
  fromEnvironment ??= parseInheritedSignals(process.env[INHERITED_SIGNALS_ENV]) ?? NO_INHERITED_SIGNALS;
  return fromEnvironment;
}
