// Settings that change what Node itself does at start-up, for the start-up benchmarks to leave out of every command
// they time: Node 20 reads and parses the whole NODE_EXTRA_CA_CERTS bundle before running any script (~60 ms and
// ~2 MB here), and the others add a preload, a cache or coverage to every Node started.

/** The variables, by name. */
export const NODE_START_ENV: readonly string[] = ['NODE_EXTRA_CA_CERTS', 'NODE_OPTIONS', 'NODE_COMPILE_CACHE', 'NODE_V8_COVERAGE'];

// A copy of `env` without NODE_START_ENV.
export function withoutNodeStartEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const copy = { ...env };
  for (const name of NODE_START_ENV) Reflect.deleteProperty(copy, name);
  return copy;
}
