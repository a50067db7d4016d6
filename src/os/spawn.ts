// Start a child with everything applied between fork and exec: own process group, terminal, limits, credentials, the
// signal state exec would have passed on, and optionally a parent-death signal.
// Failures come back as TendError with the documented exit code (127 not found, 126 not executable, 71 setup).
import { signalNumber, type SignalName } from '../config/signal-names.js';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { TendError } from '../errors.js';
import { INHERITED_SIGNALS_ENV, inheritedSignals, type InheritedSignals } from './inherited-signals.js';
import type { Credentials } from './users.js';
import { isNativeError, native } from './native.js';
import type { RlimitEntry } from './rlimits.js';
import { LAUNCHER_ENV } from './rlimits.js';

/** What to start and how. */
export interface ProcessSpec {
  readonly argv: readonly string[];
  /** The child's variables; with inheritEnv, set on top of tend's own (a name whose value is undefined is taken out). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The child starts from tend's own environment (process.env), put together by the addon: a copy in JavaScript
   * costs a string, a property and a check per variable. Default: false, `env` is the whole environment. */
  readonly inheritEnv?: boolean;
  /** With inheritEnv: names of tend's environment the child does not get (unless `env` sets them). */
  readonly unsetEnv?: readonly string[];
  readonly cwd: string | null;
  readonly rlimits: readonly RlimitEntry[];
  readonly credentials: Credentials | null;
  /** Terminal fd to make the child's group the foreground of, or -1. */
  readonly foregroundTty: number;
  /** Child fd i := fds[i]; defaults to inheriting stdio. */
  readonly fds?: readonly number[];
  /** Ignored signals and mask for the child; defaults to what tend itself was started with (as exec would pass on). */
  readonly inheritedSignals?: InheritedSignals;
  /** Sent to the child by the kernel the moment tend dies (PR_SET_PDEATHSIG); default none. */
  readonly parentDeathSignal?: SignalName;
}

const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

const LAUNCHER_ONLY_NAMES: readonly string[] = [...LAUNCHER_ENV, INHERITED_SIGNALS_ENV];
const LAUNCHER_ONLY: ReadonlySet<string> = new Set<string>(LAUNCHER_ONLY_NAMES);

// KEY=VALUE entries for execve, and the names the child does not get of what it inherits, in one pass: what the
// launcher set for tend alone stays out; HOME follows --user.
function execEnv(spec: ProcessSpec, home: string | null, inherit: boolean): { set: string[]; unset: string[] } {
  const { env } = spec;
  const set: string[] = [];
  const unset: string[] = inherit ? LAUNCHER_ONLY_NAMES.concat(spec.unsetEnv ?? []) : [];
  for (const key of Object.keys(env)) {
    const value = key === 'HOME' && home !== null ? home : env[key];
    if (LAUNCHER_ONLY.has(key)) continue;
    if (value !== undefined) set.push(`${key}=${value}`);
    else if (inherit) unset.push(key);
  }
  if (home !== null && !('HOME' in env)) set.push(`HOME=${home}`);
  return { set, unset };
}

// The PATH the command is looked up in: the child's own, as its environment will have it.
function childPath(spec: ProcessSpec): string {
  const path = 'PATH' in spec.env || spec.inheritEnv !== true ? spec.env['PATH'] : process.env['PATH'];
  return path ?? DEFAULT_PATH;
}

// Spawn directly (no shell), argv byte-exact, in a new process group; returns the pid.
export function spawnProcess(spec: ProcessSpec): number {
  const [file] = spec.argv;
  if (file === undefined) throw new TendError('TEND_ERR_USAGE', 'no command given; write: tend run [options] -- <command> [args...]');
  const inheritEnv = spec.inheritEnv === true;
  const env = execEnv(spec, spec.credentials?.home ?? null, inheritEnv);
  const signals = spec.inheritedSignals ?? inheritedSignals();
  try {
    return native.spawn({
      file,
      args: spec.argv,
      env: env.set,
      inheritEnv,
      unsetEnv: env.unset,
      searchPath: childPath(spec),
      cwd: spec.cwd,
      newProcessGroup: true,
      foregroundTty: spec.foregroundTty,
      rlimits: spec.rlimits,
      uid: spec.credentials?.uid ?? -1,
      gid: spec.credentials?.gid ?? -1,
      groups: spec.credentials?.groups ?? null,
      fds: spec.fds ?? [0, 1, 2],
      ignoredSignals: signals.ignored,
      blockedSignals: signals.blocked,
      parentDeathSignal: spec.parentDeathSignal === undefined ? 0 : signalNumber(spec.parentDeathSignal),
    });
  } catch (error) {
    throw describeSpawnError(file, error);
  }
}

// True when `file` names an existing file, directly or through PATH (as execvp would find it).
function existsOnPath(file: string): boolean {
  if (file.includes('/')) return existsSync(file);
  return (process.env['PATH'] ?? DEFAULT_PATH).split(':').some((dir) => dir !== '' && existsSync(join(dir, file)));
}

// Turn the addon's errno report into a message that says what failed and how to fix it.
function describeSpawnError(file: string, error: unknown): TendError {
  // Anything but the addon's errno report is a bug in tend: it surfaces as an internal error (exit 70).
  if (!isNativeError(error)) throw error;
  const cause = { cause: error };
  switch (error.syscall) {
    case 'execve':
      if (error.code === 'ENOENT' && existsOnPath(file)) {
        // The file is there, so what execve could not find is its #! interpreter (or ELF loader): not executable, as bash says.
        return new TendError('TEND_ERR_SPAWN_NOT_EXECUTABLE', `unable to run ${JSON.stringify(file)}: its #! interpreter (or ELF loader) was not found; check its first line`, cause);
      }
      if (error.code === 'ENOENT') {
        return new TendError('TEND_ERR_SPAWN_NOT_FOUND', `unable to run ${JSON.stringify(file)}: command not found (searched PATH); check the name or give a path`, cause);
      }
      return new TendError('TEND_ERR_SPAWN_NOT_EXECUTABLE', `unable to run ${JSON.stringify(file)}: ${error.code}: not executable; check its permissions (chmod +x) and its #! line`, cause);
    case 'setrlimit':
      return new TendError('TEND_ERR_SPAWN_SETUP', `unable to apply --limit ${error.resource ?? ''}: ${error.code}; a hard limit can only be raised by root (CAP_SYS_RESOURCE), and nofile cannot exceed fs.nr_open`, cause);
    case 'setgroups':
    case 'setgid':
    case 'setuid':
      return new TendError('TEND_ERR_SPAWN_SETUP', `unable to switch --user (${error.syscall}): ${error.code}; changing user needs root (CAP_SETUID/CAP_SETGID)`, cause);
    case 'prctl':
      return new TendError('TEND_ERR_SPAWN_SETUP', `unable to set the parent-death signal (prctl): ${error.code}`, cause);
    case 'chdir':
      return new TendError('TEND_ERR_SPAWN_SETUP', `unable to enter the working directory: ${error.code}`, cause);
    default:
      return new TendError('TEND_ERR_SPAWN_SETUP', `unable to spawn ${JSON.stringify(file)} (${error.syscall}): ${error.code}`, cause);
  }
}
