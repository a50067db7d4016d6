// What Node starts for `tend`: scripts/bundle.js bundles this file, alone, into dist/bundle/entry.cjs. Node 20
// compiles that file from source on every start, each function as it first runs, so it stays a few functions: load
// the addon the launcher named, put every caught signal on its signal watch (the kernel drops a signal to a PID 1
// that has no handler for it), then load the CLI bundle (dist/bundle/main.cjs, cli/entry.ts and all it imports) with
// V8's code cache. Without the launcher (`node dist/bundle/entry.cjs`) the CLI searches for the addon and catches the
// signals itself, a couple of milliseconds later: the search compiled here cost every start ~0.6 ms. It runs only
// bundled, as CommonJS: the unbundled CLI is dist/src/cli/entry.js.
import { requireWithCodeCache, type FileReads } from './compile-cache.js';
import { launcherPick } from '../os/native-loader.js';
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

const addon = (launcherPick()?.exports ?? null) as (FileReads & SignalWatchBinding) | null;
// MIPS numbers its signals differently: os/signals.ts catches them there, by name.
if (addon !== null && !process.arch.startsWith('mips')) captureSignalNumbers(addon);
requireWithCodeCache(`${__dirname}/main.cjs`, require, addon, commandWord(process.argv[2]));
