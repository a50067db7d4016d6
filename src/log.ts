// tend's one logger: lines on stderr prefixed "tend:", so they are easy to tell apart from the child's output.

/** info = one line per action (--verbose); debug = internals (TEND_DEBUG=1); warn/error always print. */
export type LogLevel = 'error' | 'warn' | 'info' | 'debug';

export interface Logger {
  /** Whether a line at this level is printed: a caller can skip making one that is not. */
  enabled(level: LogLevel): boolean;
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
  const enabled = (level: LogLevel): boolean => level === 'error' || level === 'warn' || (level === 'info' ? options.verbose || options.debug : options.debug);
  return {
    enabled,
    error: (m) => { emit('error', m); },
    warn: (m) => { emit('warn', m); },
    info: (m) => { if (enabled('info')) emit('info', m); },
    debug: (m) => { if (enabled('debug')) emit('debug', m); },
  };
}
