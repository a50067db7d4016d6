// tend's one logger: lines on stderr prefixed "tend:", so they are easy to tell apart from the child's output.

/** info = one line per action (--verbose); debug = internals (TEND_DEBUG=1); warn/error always print. */
export type LogLevel = 'error' | 'warn' | 'info' | 'debug';

export interface Logger {
  error(message: string): void;
  warn(message: string): void;
  info(message: string): void;
  debug(message: string): void;
}

// Create a logger that writes synchronously (a supervisor that is about to exit must not lose its last words).
export function createLogger(options: { verbose: boolean; debug: boolean; write?: (line: string) => void }): Logger {
  const write = options.write ?? ((line: string) => {
    try {
      process.stderr.write(line);
    } catch {
      // stderr is gone (closed pipe): there is nowhere left to report to, and supervision must go on.
    }
  });
  const emit = (level: LogLevel, message: string): void => {
    write(level === 'info' || level === 'debug' ? `tend: ${message}\n` : `tend: ${level}: ${message}\n`);
  };
  return {
    error: (m) => { emit('error', m); },
    warn: (m) => { emit('warn', m); },
    info: (m) => { if (options.verbose || options.debug) emit('info', m); },
    debug: (m) => { if (options.debug) emit('debug', m); },
  };
}
