// Where the compiled preload lives, for the code that injects it (NODE_OPTIONS="--require <preloadPath>").
// The reference below also puts preload.cts (and the .cts files it requires) into every build of src/: tsconfig's
// include globs name only *.ts.
// eslint-disable-next-line @typescript-eslint/triple-slash-reference -- a path reference is what includes the .cts
/// <reference path="./preload.cts" />
import { fileURLToPath } from 'node:url';

/** Absolute path of dist/src/preload/preload.cjs. */
export const preloadPath: string = fileURLToPath(new URL('./preload.cjs', import.meta.url));
