// The first module Node runs for `tend`. It installs signal handlers before anything heavy loads (a SIGTERM to a
// PID 1 without a handler is dropped by the kernel), then loads the rest. Keep its imports tiny.
import { captureSignals } from '../os/signals.js';

const intake = captureSignals();
const { main } = await import('./main.js');
await main(process.argv.slice(2), intake);
