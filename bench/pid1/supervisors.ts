// The supervisors under test, how each is invoked, and the checks and builds the benchmark needs first.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UNSHARE } from './procs.js';

/** A supervisor variant; `none` runs the child directly (the floor every start-up number sits on). */
export interface Supervisor {
  name: string;
  // argv to supervise `command`; `plain` = not PID 1 (tini then gets -s so it adopts orphans like tend does).
  argv(command: readonly string[], plain: boolean): string[];
}

export const TINI = '/usr/bin/tini';
export const DUMB_INIT = '/usr/bin/dumb-init';

// The supervisors compared, tend first; `tendBin` is the repository's bin/tend.
export function supervisors(tendBin: string | null): Supervisor[] {
  const list: Supervisor[] = [];
  if (tendBin !== null) list.push({ name: 'tend', argv: (cmd) => [tendBin, 'run', '--', ...cmd] });
  list.push(
    { name: 'tini', argv: (cmd, plain) => [TINI, ...(plain ? ['-s'] : []), '--', ...cmd] },
    { name: 'tini -g', argv: (cmd, plain) => [TINI, '-g', ...(plain ? ['-s'] : []), '--', ...cmd] },
    { name: 'dumb-init', argv: (cmd) => [DUMB_INIT, ...cmd] },
  );
  return list;
}

/** The no-supervisor baseline. */
export const NONE: Supervisor = { name: 'none', argv: (cmd) => [...cmd] };

// argv that runs `argv` as PID 1 of a new PID namespace.
export function inNamespace(argv: readonly string[]): string[] {
  return [...UNSHARE, ...argv];
}

// Problems that stop the benchmark (missing peers, not root, no compiler, no PID namespaces); empty if none.
export function checkPrerequisites(): string[] {
  const problems: string[] = [];
  if (!existsSync(TINI) || !existsSync(DUMB_INIT)) {
    const missing = [TINI, DUMB_INIT].filter((p) => !existsSync(p)).join(' and ');
    problems.push(`${missing} not found. Install the peers (Debian/Ubuntu, as root):\n` +
      '    apt-get update && apt-get install -y tini dumb-init');
  }
  if (process.getuid?.() !== 0) problems.push('must run as root (a new PID namespace needs CAP_SYS_ADMIN)');
  if (spawnSync('cc', ['--version'], { stdio: 'ignore' }).status !== 0) {
    problems.push('no C compiler `cc` on PATH (the fixtures are compiled at run time): apt-get install -y gcc libc6-dev');
  }
  const ns = spawnSync(UNSHARE[0], [...UNSHARE.slice(1), 'true'], { stdio: 'ignore', timeout: 10_000 });
  if (ns.status !== 0) problems.push('`unshare --pid --fork --mount-proc --kill-child -- true` failed (util-linux, root)');
  return problems;
}

// Compile bench/fixtures/pid1-child.c with `cc -O2` into a fresh temp dir; returns the binary's path.
export function buildFixture(repoRoot: string): { binary: string; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'tend-bench-pid1-'));
  const binary = join(dir, 'pid1-child');
  const cc = spawnSync('cc', ['-O2', '-o', binary, join(repoRoot, 'bench', 'fixtures', 'pid1-child.c')], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (cc.status !== 0) throw new Error(`cc failed:\n${cc.stderr}`);
  return { binary, dir };
}

// null if `bin/tend run -- true` exits 0 within 20 s, else why not.
export function tendProblem(tendBin: string): string | null {
  if (!existsSync(tendBin)) return `${tendBin} does not exist`;
  const run = spawnSync(tendBin, ['run', '--', 'true'], { encoding: 'utf8', timeout: 20_000 });
  if (run.status === 0) return null;
  return `\`bin/tend run -- true\` ${run.error ? run.error.message : `exited ${run.status ?? run.signal}`}: ` +
    run.stderr.trim().slice(0, 500);
}

// First line of `<binary> --version` (stdout or stderr), for the results file.
export function versionOf(binary: string): string {
  const run = spawnSync(binary, ['--version'], { encoding: 'utf8', timeout: 5000 });
  return `${run.stdout}${run.stderr}`.trim().split('\n')[0] ?? 'unknown';
}
