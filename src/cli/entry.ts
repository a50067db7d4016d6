// The root of tend's CLI. Unbundled, `node dist/src/cli/entry.js` runs it. In the shipped build scripts/bundle.js
// bundles it, with everything it imports, into dist/bundle/main.cjs, and the file Node starts, dist/bundle/entry.cjs,
// only loads that bundle with V8's code cache (cli/compile-cache.ts). capture.js comes first so that the signal
// handlers go in before anything else initialises. No top-level await: the bundle is a CommonJS script, which Node
// starts without its ES module loader.
import { intake } from './capture.js';
import { main } from './main.js';

void main(process.argv.slice(2), intake);
