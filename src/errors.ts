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
  | 'TEND_ERR_NATIVE_MISSING'
  | 'TEND_ERR_INTERNAL';

/** The exit code each error code maps to. */
export const exitCodeOf: Readonly<Record<TendErrorCode, number>> = {
  TEND_ERR_USAGE: ExitCode.usage,
  TEND_ERR_SPAWN_NOT_FOUND: ExitCode.notFound,
  TEND_ERR_SPAWN_NOT_EXECUTABLE: ExitCode.notExecutable,
  TEND_ERR_SPAWN_SETUP: ExitCode.setupFailed,
  TEND_ERR_NATIVE_MISSING: ExitCode.internal,
  TEND_ERR_INTERNAL: ExitCode.internal,
};

// One error type for everything tend reports, so the CLI can map any failure to a documented exit code.
export class TendError extends Error {
  readonly code: TendErrorCode;
  readonly exitCode: number;

  constructor(code: TendErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TendError';
    this.code = code;
    this.exitCode = exitCodeOf[code];
  }
}

// Build the usage error for a bad flag value: names the flag, echoes the value, says how to fix it.
export function usageError(flag: string, value: string | undefined, problem: string, fix: string): TendError {
  const shown = value === undefined ? flag : `${flag} ${JSON.stringify(value)}`;
  return new TendError('TEND_ERR_USAGE', `${shown}: ${problem}; ${fix}`);
}
