// The signals tend catches, by name, and the intake the supervisor reads them from. The handlers themselves are
// installed by os/signal-capture.ts, through the addon's signal watch, as early as the start-up loader can
// (cli/start.ts); here the numbers it buffered become names.
import { signalFromNumber, signalNumber, type SignalName } from '../config/signal-names.js';
import { native } from './native.js';
import { captureSignalNumbers, installedIntake, LINUX_CAUGHT_SIGNALS } from './signal-capture.js';

/**
 * Signals tend catches and acts on or forwards (os/signal-capture.ts has them by number, and why these). SIGPIPE and
 * the real-time signals are caught too, through the same watch.
 */
export const CAUGHT_SIGNALS: readonly NodeJS.Signals[] = [
  'SIGHUP', 'SIGINT', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGPIPE', 'SIGALRM', 'SIGTERM', 'SIGSTKFLT', 'SIGCONT',
  'SIGTSTP', 'SIGURG', 'SIGXCPU', 'SIGXFSZ', 'SIGVTALRM', 'SIGPROF', 'SIGWINCH', 'SIGIO', 'SIGPWR',
];

/** Buffered signal intake: signals arrive in order, first into a buffer, then to the supervisor's handler. */
export interface SignalIntake {
  /** process.hrtime.bigint() when the handlers were installed. */
  readonly installedAtNs: bigint;
  /** Route buffered and future signals to `handler`, oldest first. */
  deliverTo(handler: (signal: SignalName) => void): void;
  /** Remove every handler (tests, clean exits and control commands). */
  release(): void;
}

// The intake the start-up loader installed, or one installed now (the unbundled CLI; MIPS, whose signal numbers are
// not Linux's usual ones, where the loader leaves it to this). Without an addon nothing is caught: the first spawn
// reports the broken install with the fix.
export function captureSignals(): SignalIntake {
  let raw = installedIntake();
  if (raw === null) {
    const caught = process.arch.startsWith('mips') ? CAUGHT_SIGNALS.map((name) => signalNumber(name)) : LINUX_CAUGHT_SIGNALS;
    try {
      raw = captureSignalNumbers(native, caught);
    } catch {
      raw = null;
    }
  }
  const intake = raw;
  return {
    installedAtNs: intake?.installedAtNs ?? process.hrtime.bigint(),
    deliverTo(handler) {
      intake?.deliverTo((signo) => {
        const signal = signalFromNumber(signo);
        if (signal !== null) handler(signal);
      });
    },
    release() { intake?.release(); },
  };
}

// Call `onChild` on every SIGCHLD (the addon's watcher on libuv: no Node signal listener); returns a function that
// stops listening.
export function onChildSignal(onChild: () => void): () => void {
  const watch = native.childSignalWatch(onChild);
  return () => { watch.close(); };
}
