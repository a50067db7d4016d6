// tend's loader: scripts/bundle.js bundles this file, alone, into dist/bundle/start.cjs, which the file Node starts
// (cli/boot.ts) loads with V8's code cache. It loads the addon, puts every caught signal on its signal watch (the
// kernel drops a signal to a PID 1 that has no handler for it), then loads the CLI bundle (dist/bundle/main.cjs,
// cli/entry.ts and all it imports) with V8's code cache. It runs only bundled, as CommonJS: the unbundled CLI is
// dist/src/cli/entry.js.
import { requireWithCodeCache, type FileReads } from './compile-cache.js';
import { loadFirst } from '../os/native-loader.js';
import { captureSignalNumbers, type SignalWatchBinding } from '../os/signal-capture.js';

// What keys this run's code cache entry: the command word (`run`, `status`...), or '-' for anything else (`--help`).
function commandWord(arg: string | undefined): string {
  if (arg === undefined || arg.length === 0 || arg.length > 16) return '-';
  for (let i = 0; i < arg.length; i++) {
    const code = arg.charCodeAt(i);
    if (code < 0x61 || code > 0x7a) return '-'; // a-z
  }
  return arg;
}

const loaded = loadFirst();
const addon = 'exports' in loaded ? loaded.exports as FileReads & SignalWatchBinding : null;
// MIPS numbers its signals differently: os/signals.ts catches them there, by name.
if (addon !== null && !process.arch.startsWith('mips')) captureSignalNumbers(addon);
requireWithCodeCache(`${__dirname}/main.cjs`, require, addon, commandWord(process.argv[2]));
