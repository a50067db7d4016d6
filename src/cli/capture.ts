// Signal capture as a module's own evaluation. cli/entry.ts imports this module first, and modules evaluate in import
// order, so the unbundled CLI installs the handlers before the rest of it initialises (the kernel drops a signal to a
// PID 1 that has no handler for it). In the shipped build cli/start.ts has installed them already: this adopts them.
import { captureSignals, type SignalIntake } from '../os/signals.js';

/** Every signal tend receives from its first milliseconds, buffered until the runner takes them. */
export const intake: SignalIntake = captureSignals();
