// What Node starts for `tend`: scripts/bundle.js bundles this file, alone, into dist/bundle/entry.cjs. Node 20 compiles
// the file it starts from source on every start (its lazy functions included, as each first runs: ~1 ms for the
// loader that once was this file), so this is only the one step that needs no cache: it loads
// dist/bundle/start.cjs (cli/start.ts: the addon, the signals, then the CLI) with V8's code cache, reading through
// the addon the launcher found (TEND_ADDON), else through node:fs. The code it needs for that, the cache's rules
// (cli/compile-cache.ts) and the addon's load (os/native-loader.ts), is the only code that is compiled on every start.
import { requireWithCodeCache, type FileReads } from './compile-cache.js';
import { launcherPick } from '../os/native-loader.js';

const picked = launcherPick();
requireWithCodeCache(`${__dirname}/start.cjs`, require, picked === undefined ? null : picked.exports as FileReads, 'start');
