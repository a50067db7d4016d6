// The only place that calls process.on('SIG…'). Signals are captured from the first milliseconds of start-up
// (cli/entry.ts calls captureSignals() before anything heavy loads) and buffered until the supervisor takes over.
// Signals Node cannot listen for (real-time ones, SIGPIPE) come through the addon's signal watch into the same intake.
import { signalFromNumber, SIGRTMIN, type SignalName } from '../config/signal-names.js';
import { realtimeSignalRange, signalWatch, type SignalWatch } from './native.js';

/**
 * Signals tend catches and acts on or forwards. Left out, deliberately:
 * SIGKILL/SIGSTOP (uncatchable); SIGCHLD (reaping); SIGSEGV/SIGBUS/SIGFPE/SIGILL/SIGABRT/SIGTRAP/SIGSYS
 * (synchronous faults of tend itself, as in tini); SIGTTIN/SIGTTOU (ignored so terminal I/O never stops tend).
 * SIGPIPE and the real-time signals are caught natively (NATIVE_SIGNALS).
 */
export const CAUGHT_SIGNALS: readonly NodeJS.Signals[] = [
  'SIGHUP', 'SIGINT', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGALRM', 'SIGTERM', 'SIGSTKFLT', 'SIGCONT',
  'SIGTSTP', 'SIGURG', 'SIGXCPU', 'SIGXFSZ', 'SIGVTALRM', 'SIGPROF', 'SIGWINCH', 'SIGIO', 'SIGPWR',
];

const SIGPIPE = 13;

// The signals caught by the addon: SIGPIPE (only when another process sends it: the SIGPIPE tend's own writes to a
// closed pipe raise is dropped, it would kill children that did nothing wrong) and every real-time signal this C
// library lets programs use, from the named SIGRTMIN (34) up.
function nativeSignals(): number[] {
  const { min, max } = realtimeSignalRange();
  const signals = [SIGPIPE];
  for (let signo = Math.max(min, SIGRTMIN); signo <= max; signo++) signals.push(signo);
  return signals;
}

/** Buffered signal intake: signals arrive in order, first into a buffer, then to the supervisor's handler. */
export interface SignalIntake {
  /** process.hrtime.bigint() when the handlers were installed. */
  readonly installedAtNs: bigint;
  /** Route buffered and future signals to `handler`, oldest first. */
  deliverTo(handler: (signal: SignalName) => void): void;
  /** Remove every listener (tests and clean exits). */
  release(): void;
}

// The intake lives on `process`, not in this module: the shipped build has two bundles (the entry's and the
// rest's), each with its own copy of this module, and both must see the one intake.
const INTAKE = Symbol.for('tend.signalIntake');
const holder = process as unknown as { [INTAKE]?: SignalIntake | null };

// Install listeners for every caught signal right away; the earlier this runs, the smaller the window in which a
// signal to PID 1 is lost (the kernel drops signals PID 1 has no handler for).
export function captureSignals(): SignalIntake {
  const existing = holder[INTAKE];
  if (existing != null) return existing;
  const buffered: SignalName[] = [];
  let handler: ((signal: SignalName) => void) | null = null;
  const listeners = new Map<NodeJS.Signals, () => void>();
  for (const signal of CAUGHT_SIGNALS) {
    const listener = (): void => {
      if (handler === null) buffered.push(signal);
      else handler(signal);
    };
    listeners.set(signal, listener);
    process.on(signal, listener);
  }
  const installedAtNs = process.hrtime.bigint();
  let watch: SignalWatch | null = null;
  try {
    watch = signalWatch(nativeSignals(), (signo) => {
      const signal = signalFromNumber(signo);
      if (signal === null) return;
      if (handler === null) buffered.push(signal);
      else handler(signal);
    });
  } catch {
    // No addon (a broken install): the first spawn reports it with the fix; until then only Node's signals are caught.
  }
  const intake: SignalIntake = {
    installedAtNs,
    deliverTo(next) {
      handler = next;
      for (const signal of buffered.splice(0)) next(signal);
    },
    release() {
      for (const [signal, listener] of listeners) process.removeListener(signal, listener);
      watch?.close();
      holder[INTAKE] = null;
    },
  };
  holder[INTAKE] = intake;
  return intake;
}

// Call `onChild` on every SIGCHLD; returns a function that stops listening.
export function onChildSignal(onChild: () => void): () => void {
  process.on('SIGCHLD', onChild);
  return () => process.removeListener('SIGCHLD', onChild);
}
