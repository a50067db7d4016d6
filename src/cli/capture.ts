// Signal capture as a module's own evaluation. cli/entry.ts imports this module first, and modules evaluate in import
// order, so in the shipped bundle the handlers go in before the rest of the CLI initialises (the kernel drops a
// signal to a PID 1 that has no handler for it).
import { captureSignals, type SignalIntake } from '../os/signals.js';

/** Every signal tend receives from its first milliseconds, buffered until the runner takes them. */
export const intake: SignalIntake = captureSignals();
