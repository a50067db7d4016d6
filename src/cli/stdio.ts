// process.stdout and process.stderr are created on first use, and creating one costs start-up time and memory
// (a pipe becomes a net.Socket: net and the stream modules, ~1.5 MiB). tend run writes nothing unless it has
// something to say, so the error listeners it needs are attached when a stream is created, not by creating it.

const ignore = (): void => undefined;

// Make a closed stdout or stderr harmless (no 'error' event can crash the supervisor) without creating either.
export function ignoreStdioErrors(): void {
  for (const name of ['stdout', 'stderr'] as const) {
    const own = Object.getOwnPropertyDescriptor(process, name);
    const create = own?.get?.bind(process);
    if (own === undefined || create === undefined || own.configurable !== true) {
      process[name].on('error', ignore);
      continue;
    }
    Object.defineProperty(process, name, {
      configurable: true,
      enumerable: own.enumerable ?? true,
      get(): NodeJS.WriteStream {
        const stream = create() as NodeJS.WriteStream;
        Object.defineProperty(process, name, { ...own, get: () => stream });
        stream.on('error', ignore);
        return stream;
      },
    });
  }
}
