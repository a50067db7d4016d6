// Where the compiled preload lives, for the code that injects it (NODE_OPTIONS="--require <preloadPath>").
import { fileURLToPath } from 'node:url';

/** Absolute path of dist/src/preload/preload.cjs. */
export const preloadPath: string = fileURLToPath(new URL('./preload.cjs', import.meta.url));
