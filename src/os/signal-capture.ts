// The first thing tend does once its addon loads: every signal it catches goes onto the addon's signal watch
// (native/signals.c: a sigaction handler and a self-pipe the event loop reads), and what arrives is buffered as numbers
// until the supervisor takes over. The start-up loader (cli/start.ts) calls this before the CLI bundle even loads,
// so it imports nothing: that file is compiled from source on every start. os/signals.ts turns the numbers into names.

/** The addon's part that capturing needs. */
export interface SignalWatchBinding {
  signalWatch(signos: readonly number[], onSignal: (signo: number) => void): { close(): void };
  realtimeSignalRange(): { min: number; max: number };
}

/** Signals captured from the first milliseconds, by number, delivered in arrival order. */
export interface RawSignalIntake {
  /** process.hrtime.bigint() when the handlers were installed. */
  readonly installedAtNs: bigint;
  /** Route buffered and future signals to `handler`, oldest first. */
  deliverTo(handler: (signo: number) => void): void;
  /** Restore the dispositions the signals had before (tests, clean exits, control commands). */
  release(): void;
}

/**
 * The signals tend catches and acts on or forwards, by their Linux numbers (os/signals.ts has them by name, and a unit
 * test keeps the two lists equal): SIGHUP INT QUIT USR1 USR2 PIPE ALRM TERM STKFLT CONT TSTP URG XCPU XFSZ VTALRM PROF
 * WINCH IO PWR, then every real-time signal this C library lets programs use. SIGPIPE only when another process sends
 * it (the watch drops the one tend's own writes raise). Left out: SIGKILL/SIGSTOP (uncatchable); SIGCHLD (reaping);
 * SIGSEGV/SIGBUS/SIGFPE/SIGILL/SIGABRT/SIGTRAP/SIGSYS (synchronous faults of tend itself, as in tini); SIGTTIN/SIGTTOU
 * (ignored so terminal I/O never stops tend).
 */
export const LINUX_CAUGHT_SIGNALS: readonly number[] = [1, 2, 3, 10, 12, 13, 14, 15, 16, 18, 20, 23, 24, 25, 26, 27, 28, 29, 30];

/** The name SIGRTMIN stands for on Linux (glibc's number; musl keeps 34 for itself and lets programs use 35 up). */
const SIGRTMIN = 34;

// The intake lives on `process`, not in a module: the loader's bundle and the CLI's each have their own copy of this
// module, and both must see the one intake.
const INTAKE = Symbol.for('tend.signalIntake');
const holder = process as unknown as { [INTAKE]?: RawSignalIntake | null };

/** The intake installed earlier in this process, if any (null once released). */
export function installedIntake(): RawSignalIntake | null {
  return holder[INTAKE] ?? null;
}

// Catch `caught` (Linux numbers unless the caller says otherwise) and every usable real-time signal from now on.
export function captureSignalNumbers(binding: SignalWatchBinding, caught: readonly number[] = LINUX_CAUGHT_SIGNALS): RawSignalIntake {
  const existing = holder[INTAKE];
  if (existing != null) return existing;
  const { min, max } = binding.realtimeSignalRange();
  const signos = [...caught];
  for (let signo = Math.max(min, SIGRTMIN); signo <= max; signo++) signos.push(signo);
  const buffered: number[] = [];
  let handler: ((signo: number) => void) | null = null;
  const watch = binding.signalWatch(signos, (signo) => {
    if (handler === null) buffered.push(signo);
    else handler(signo);
  });
  const intake: RawSignalIntake = {
    installedAtNs: process.hrtime.bigint(),
    deliverTo(next) {
      handler = next;
      for (const signo of buffered.splice(0)) next(signo);
    },
    release() {
      watch.close();
      holder[INTAKE] = null;
    },
  };
  holder[INTAKE] = intake;
  return intake;
}
