// The error catalogue: every error tend reports has a stable code, a message in one grammar, and an exit code.
// docs/errors.md lists the same codes; test/unit/errors.test.ts keeps the two in sync.

/** Exit codes tend itself uses; a child's own exit code passes through unchanged. */
export const ExitCode = {
  /** A bad flag, value or config key (sysexits EX_USAGE). */
  usage: 64,
  /** tend broke an internal invariant (sysexits EX_SOFTWARE). */
  internal: 70,
  /** The child could not be set up: a limit, user, group or directory could not be applied (sysexits EX_OSERR). */
  setupFailed: 71,
  /** The config file is unreadable or invalid (sysexits EX_CONFIG). */
  config: 78,
  /** A listening socket could not be opened (sysexits EX_UNAVAILABLE). */
  listenFailed: 69,
  /** A rolling reload failed and was rolled back, as reported to whoever asked for it. */
  reloadFailed: 65,
  /** The control socket could not be reached (sysexits EX_NOHOST). */
  controlUnreachable: 68,
  /** A control request was refused: the caller is not tend's user or root (sysexits EX_NOPERM). */
  controlDenied: 77,
  /** Workers kept crashing and tend gave up (sysexits EX_TEMPFAIL). */
  gaveUp: 75,
  /** The command was found but could not be executed. */
  notExecutable: 126,
  /** The command was not found. */
  notFound: 127,
} as const;

export type TendErrorCode =
  | 'TEND_ERR_USAGE'
  | 'TEND_ERR_SPAWN_NOT_FOUND'
  | 'TEND_ERR_SPAWN_NOT_EXECUTABLE'
  | 'TEND_ERR_SPAWN_SETUP'
  | 'TEND_ERR_CONFIG'
  | 'TEND_ERR_LISTEN'
  | 'TEND_ERR_GAVE_UP'
  | 'TEND_ERR_RELOAD_FAILED'
  | 'TEND_ERR_CONTROL'
  | 'TEND_ERR_CONTROL_DENIED'
  | 'TEND_ERR_NATIVE_MISSING';

/** The exit code each error code maps to. */
export const exitCodeOf: Readonly<Record<TendErrorCode, number>> = {
  TEND_ERR_USAGE: ExitCode.usage,
  TEND_ERR_SPAWN_NOT_FOUND: ExitCode.notFound,
  TEND_ERR_SPAWN_NOT_EXECUTABLE: ExitCode.notExecutable,
  TEND_ERR_SPAWN_SETUP: ExitCode.setupFailed,
  TEND_ERR_CONFIG: ExitCode.config,
  TEND_ERR_LISTEN: ExitCode.listenFailed,
  TEND_ERR_GAVE_UP: ExitCode.gaveUp,
  TEND_ERR_RELOAD_FAILED: ExitCode.reloadFailed,
  TEND_ERR_CONTROL: ExitCode.controlUnreachable,
  TEND_ERR_CONTROL_DENIED: ExitCode.controlDenied,
  TEND_ERR_NATIVE_MISSING: ExitCode.internal,
};

// Marks a TendError. The shipped build loads this module once per bundle part (dist/bundle/*.cjs), so there can be
// several TendError classes in one process: `instanceof` checks the mark, which every copy shares, not the class.
const TEND_ERROR = Symbol.for('tend.error');

// One error type for everything tend reports, so the CLI can map any failure to a documented exit code.
export class TendError extends Error {
  readonly code: TendErrorCode;
  readonly exitCode: number;
  readonly [TEND_ERROR] = true;

  constructor(code: TendErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TendError';
    this.code = code;
    this.exitCode = exitCodeOf[code];
  }

  /** A TendError from any copy of this module. */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[TEND_ERROR] === true;
  }
}

// Build the usage error for a bad flag value: names the flag, echoes the value, says how to fix it.
export function usageError(flag: string, value: string | undefined, problem: string, fix: string): TendError {
  const shown = value === undefined ? flag : `${flag} ${JSON.stringify(value)}`;
  return new TendError('TEND_ERR_USAGE', `${shown}: ${problem}; ${fix}`);
}
