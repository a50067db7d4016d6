// The first module Node runs for `tend`. It installs signal handlers before anything heavy loads (a SIGTERM to a
// PID 1 without a handler is dropped by the kernel), then loads the rest. Keep its imports tiny. No top-level
// await: the shipped build (scripts/bundle.js) turns this file into a CommonJS script, which Node starts without
// its ES module loader.
import { captureSignals } from '../os/signals.js';

const intake = captureSignals();
void import('./main.js').then(({ main }) => main(process.argv.slice(2), intake));
