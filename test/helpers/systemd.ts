// Boots the machine's real systemd as PID 1 of private namespaces ("a box") so tests can run
// tend as a systemd service and drive it with systemctl. How it works: docs/testing-systemd.md.
// The shell side lives in test/systemd/harness/ (boot.sh, init.sh, stop.sh).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Outcome of a command run inside the box (code is 128+signal if it was killed by a signal). */
export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** A running systemd box. Every method has a time bound; all of them reject once the box is gone. */
export interface SystemdBox {
  readonly stateDir: string; // host path; inside the box it is /run/harness (units/, log/, console.log)
  readonly pid: number; // host PID of the box's systemd (PID 1 inside)
  readonly cgroupDir: string; // host path of the box's cgroup2 directory (removed by stop())
  ctl(...args: string[]): Promise<ExecResult>; // systemctl inside the box
  exec(...argv: string[]): Promise<ExecResult>; // any command inside the box's namespaces (e.g. journalctl -u x --no-pager)
  show(unit: string, props: string[]): Promise<Record<string, string>>; // systemctl show -p ... parsed
  waitFor(
    unit: string,
    predicate: (p: Record<string, string>) => boolean,
    props: string[],
    timeoutMs: number,
  ): Promise<Record<string, string>>; // polls show() every ~50 ms until predicate; rejects with the last seen props on timeout
  installUnit(name: string, text: string): Promise<void>; // writes the unit into the box's /etc/systemd/system and daemon-reloads
  consoleTail(lines?: number): string; // last lines of the box's console (systemd's own output), for error messages
  stop(): Promise<void>; // shuts systemd down and removes everything (cgroup dir, state dir); idempotent
}

/** Options of bootSystemd(). */
export interface BootOptions {
  stateDir?: string; // use this directory (created if missing, kept by stop()) instead of a fresh temporary one
  bindPaths?: string[]; // extra host directories made visible AND writable inside the box at the same path
  bootTimeoutMs?: number; // default 20 s (env TEND_SYSTEMD_BOOT_TIMEOUT_MS)
}

const SYSTEM_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const NAME_PREFIX = 'tend-sdbox.'; // cgroup and temp dir names: tend-sdbox.<owner pid>.<random>
const COMMAND_TIMEOUT_MS = 20_000; // bound on any single command run inside the box
const POLL_MS = 50;
const TOOLS = ['bash', 'unshare', 'nsenter', 'setpriv', 'pivot_root', 'mount', 'umount', 'findmnt', 'mkfifo', 'timeout'];

function findRepoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return fs.realpathSync(dir);
    const up = path.dirname(dir);
    if (up === dir) throw new Error('test/helpers/systemd: cannot find the repository root (no package.json above)');
    dir = up;
  }
}
const REPO_ROOT = findRepoRoot();
export const repoRoot: string = REPO_ROOT; // absolute path of this repository; the same path works inside the box (read-only)
const HARNESS_DIR = path.join(REPO_ROOT, 'test', 'systemd', 'harness');

function findTool(name: string): string | null {
  const dirs = [...(process.env['PATH'] ?? '').split(':'), ...SYSTEM_PATH.split(':')];
  for (const d of dirs) {
    if (!d.startsWith('/')) continue;
    const p = path.join(d, name);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      if (fs.statSync(p).isFile()) return p;
    } catch {
      // not here
    }
  }
  return null;
}

function tool(name: string): string {
  const p = findTool(name);
  if (p === null) throw new Error(`test/helpers/systemd: ${name} not found`);
  return p;
}

/** The host's cgroup2 mount point (/sys/fs/cgroup on unified hosts, /sys/fs/cgroup/unified on hybrid ones). */
function cgroup2Base(): string | null {
  const found: string[] = [];
  for (const line of fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const [pre, post] = line.split(' - ');
    if (pre === undefined || post === undefined || !post.startsWith('cgroup2 ')) continue;
    const mnt = pre.split(' ')[4];
    if (mnt !== undefined) found.push(mnt.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8))));
  }
  return found.find((m) => m === '/sys/fs/cgroup') ?? found.find((m) => m === '/sys/fs/cgroup/unified') ?? found[0] ?? null;
}

function systemdBinary(): string | null {
  for (const p of ['/lib/systemd/systemd', '/usr/lib/systemd/systemd']) {
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      // try the next one
    }
  }
  return null;
}

function errText(e: unknown): string {
  if (e instanceof Error) {
    const stderr = (e as { stderr?: unknown }).stderr;
    const s = typeof stderr === 'string' ? stderr : Buffer.isBuffer(stderr) ? stderr.toString() : '';
    return (s.trim() || e.message).split('\n')[0] ?? e.message;
  }
  return String(e);
}

let cachedReason: string | null | undefined;

/** null if a real systemd can be booted here; otherwise why not (tests use it as `{ skip: reason }`). */
export function systemdUnavailableReason(): string | null {
  cachedReason ??= probe();
  return cachedReason;
}

function probe(): string | null {
  if (process.platform !== 'linux') return `not Linux (${process.platform})`;
  if (process.env['TEND_SYSTEMD_TESTS'] === '0') return 'disabled by TEND_SYSTEMD_TESTS=0';
  const uid = process.getuid?.() ?? -1;
  if (uid !== 0) return `needs root (running as uid ${uid})`;
  const capEff = /^CapEff:\s*([0-9a-f]+)$/m.exec(fs.readFileSync('/proc/self/status', 'utf8'))?.[1];
  if (capEff === undefined || (BigInt(`0x${capEff}`) & (1n << 21n)) === 0n) return 'no CAP_SYS_ADMIN (unprivileged container?)';
  if (systemdBinary() === null) return 'systemd is not installed (no /lib/systemd/systemd)';
  for (const t of ['systemctl', 'journalctl']) if (findTool(t) === null) return `${t} not found`;
  const missing = TOOLS.filter((t) => findTool(t) === null);
  if (missing.length > 0) return `missing tools: ${missing.join(', ')} (util-linux/coreutils)`;
  for (const f of ['harness/boot.sh', 'harness/init.sh', 'harness/stop.sh']) {
    if (!fs.existsSync(path.join(REPO_ROOT, 'test', 'systemd', f))) return `test/systemd/${f} is missing`;
  }
  const base = cgroup2Base();
  if (base === null) return 'no cgroup2 hierarchy mounted';
  const probeDir = path.join(base, `${NAME_PREFIX}${process.pid}.probe${randomBytes(4).toString('hex')}`);
  try {
    fs.mkdirSync(probeDir);
    fs.rmdirSync(probeDir);
  } catch (e) {
    return `cannot create a cgroup under ${base}: ${errText(e)}`;
  }
  try {
    execFileSync(
      tool('unshare'),
      ['--pid', '--fork', '--kill-child', '--mount', '--propagation', 'private', '--net', '--uts', '--ipc', '--cgroup', '--', 'true'],
      { stdio: ['ignore', 'ignore', 'pipe'], timeout: 10_000, env: { PATH: SYSTEM_PATH } },
    );
  } catch (e) {
    return `cannot create pid/mount/net/uts/ipc/cgroup namespaces: ${errText(e)}`;
  }
  return null;
}

interface Live {
  child: ChildProcess;
  pid: number;
  stateDir: string;
  cgroupDir: string;
  removeState: boolean;
}

/** rmdir a cgroup tree deepest first; true when it is gone. */
function removeCgroupTree(dir: string): boolean {
  const rm = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) rm(path.join(d, e.name));
    fs.rmdirSync(d);
  };
  try {
    rm(dir);
  } catch {
    // busy (still populated) or already gone
  }
  return !fs.existsSync(dir);
}
const live = new Set<Live>();
let exitHookInstalled = false;

// Last resort if a test never calls stop(): kill the box as this process exits. (If this process is
// SIGKILLed instead, pdeathsig does the same.) Leftover cgroups and temp dirs are swept at the next boot.
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const b of live) {
      try {
        if (b.pid > 0) process.kill(b.pid, 'SIGKILL');
      } catch {
        // already gone
      }
      b.child.kill('SIGKILL');
      if (b.removeState) fs.rmSync(b.stateDir, { recursive: true, force: true });
    }
    // The kernel empties the cgroups asynchronously: give it up to 1 s (synchronously, we are exiting).
    const deadline = Date.now() + 1000;
    const tick = new Int32Array(new SharedArrayBuffer(4));
    for (const b of live) {
      while (!removeCgroupTree(b.cgroupDir) && Date.now() < deadline) Atomics.wait(tick, 0, 0, 10);
    }
  });
}

/** Removes temp state dirs of earlier boxes whose owning process is gone. */
function sweepStaleStateDirs(): void {
  const tmp = os.tmpdir();
  let names: string[];
  try {
    names = fs.readdirSync(tmp);
  } catch {
    return;
  }
  for (const n of names) {
    const owner = /^tend-sdbox\.(\d+)\./.exec(n)?.[1];
    if (owner === undefined || fs.existsSync(`/proc/${owner}`)) continue;
    fs.rmSync(path.join(tmp, n), { recursive: true, force: true });
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Resolves when p settles or after ms, whichever comes first (without leaving a timer behind). */
function settleWithin(p: Promise<unknown>, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    const done = (): void => {
      clearTimeout(t);
      resolve();
    };
    p.then(done, done);
  });
}

const HARNESS_TARGET = `[Unit]
Description=tend test harness boot target (journald only)
DefaultDependencies=no
Wants=systemd-journald.socket systemd-journald.service
After=systemd-journald.socket systemd-journald.service
`;

/** Boots systemd as PID 1 in fresh namespaces; resolves once `is-system-running` reports running/degraded. */
export async function bootSystemd(opts: BootOptions = {}): Promise<SystemdBox> {
  const reason = systemdUnavailableReason();
  if (reason !== null) throw new Error(`cannot boot systemd here: ${reason}`);
  sweepStaleStateDirs();
  const cgBase = cgroup2Base();
  if (cgBase === null) throw new Error('no cgroup2 hierarchy');

  const owned = opts.stateDir === undefined;
  let stateDir: string;
  if (opts.stateDir === undefined) {
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), `${NAME_PREFIX}${process.pid}.`));
  } else {
    stateDir = path.resolve(opts.stateDir);
    fs.mkdirSync(stateDir, { recursive: true });
    const user = readOr(path.join(stateDir, 'unshare.pid')).trim();
    if (user && readOr(`/proc/${user}/comm`).trim() === 'unshare') throw new Error(`${stateDir} is in use by another box`);
  }
  const binds: string[] = [];
  for (const p of opts.bindPaths ?? []) {
    if (!path.isAbsolute(p) || !fs.statSync(p).isDirectory()) throw new Error(`bindPaths: ${p} is not an absolute directory`);
    binds.push(`rw:${fs.realpathSync(p)}`);
  }
  fs.mkdirSync(path.join(stateDir, 'units'), { recursive: true });
  fs.mkdirSync(path.join(stateDir, 'log'), { recursive: true });
  fs.writeFileSync(path.join(stateDir, 'units', 'harness.target'), HARNESS_TARGET);
  fs.writeFileSync(path.join(stateDir, 'machine-id'), `${randomBytes(16).toString('hex')}\n`);
  const fifo = path.join(stateDir, 'console.fifo');
  fs.rmSync(fifo, { force: true });
  execFileSync(tool('mkfifo'), [fifo]);

  // The box's /dev/console is the FIFO; we drain it into console.log, where systemd's
  // stdout/stderr (inherited from unshare) also go. O_RDWR: never sees EOF, never blocks.
  const logFd = fs.openSync(path.join(stateDir, 'console.log'), 'a');
  const consoleIn = new net.Socket({ fd: fs.openSync(fifo, fs.constants.O_RDWR | fs.constants.O_NONBLOCK), readable: true, writable: false });
  consoleIn.on('data', (chunk: Buffer) => {
    try {
      fs.writeSync(logFd, chunk);
    } catch {
      // console.log already closed
    }
  });
  consoleIn.on('error', () => undefined);
  consoleIn.unref();

  const cgroupDir = path.join(cgBase, `${NAME_PREFIX}${process.pid}.${randomBytes(6).toString('hex')}`);
  const exposed = [`ro:${REPO_ROOT}`, `ro:${path.dirname(fs.realpathSync(process.execPath))}`, ...binds];
  const child = spawn(tool('bash'), [path.join(HARNESS_DIR, 'boot.sh'), stateDir, cgroupDir, ...exposed], {
    stdio: ['ignore', logFd, logFd],
    env: { PATH: SYSTEM_PATH, LANG: 'C.UTF-8' },
  });
  child.unref(); // a forgotten box must not keep the test process alive (the exit hook kills it)
  const box = new Box(stateDir, cgroupDir, child, logFd, consoleIn, owned && process.env['TEND_SYSTEMD_KEEP'] !== '1');
  installExitHook();
  live.add(box.liveEntry);

  const timeoutMs = opts.bootTimeoutMs ?? Number(process.env['TEND_SYSTEMD_BOOT_TIMEOUT_MS'] ?? 20_000);
  try {
    await box.waitBooted(Date.now() + timeoutMs);
  } catch (e) {
    const journal = await box.bootDiagnostics();
    const tail = box.consoleTail(40);
    await box.stop().catch(() => undefined);
    throw new Error(
      `systemd box did not boot: ${e instanceof Error ? e.message : String(e)}\n` +
        `--- console (last 40 lines) ---\n${tail}${journal}`,
    );
  }
  return box;
}

class Box implements SystemdBox {
  readonly liveEntry: Live;
  private exitInfo: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  private readonly exited: Promise<void>;
  private stopping: Promise<void> | null = null;

  constructor(
    readonly stateDir: string,
    readonly cgroupDir: string,
    private readonly child: ChildProcess,
    private readonly logFd: number,
    private readonly consoleIn: net.Socket,
    private readonly removeState: boolean,
  ) {
    this.liveEntry = { child, pid: 0, stateDir, cgroupDir, removeState };
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        resolve();
      });
      child.once('error', (err) => {
        this.exitInfo = { code: -1, signal: null };
        try {
          fs.writeSync(logFd, `spawn failed: ${err.message}\n`);
        } catch {
          // console.log already closed
        }
        resolve();
      });
    });
  }

  get pid(): number {
    return this.liveEntry.pid;
  }

  consoleTail(lines = 40): string {
    try {
      return fs.readFileSync(path.join(this.stateDir, 'console.log'), 'utf8').split('\n').slice(-lines - 1).join('\n');
    } catch {
      return '(no console.log)';
    }
  }

  private gone(): string | null {
    if (this.stopping !== null) return 'the systemd box was stopped';
    if (this.exitInfo !== null) {
      const { code, signal } = this.exitInfo;
      return `the systemd box exited (${signal ?? `code ${code}`})\n--- console ---\n${this.consoleTail(20)}`;
    }
    return null;
  }

  /** Waits for: unshare exec'd, its child (PID 1 inside) is systemd, then is-system-running. */
  async waitBooted(deadline: number): Promise<void> {
    const upid = this.child.pid;
    if (upid === undefined) throw new Error('could not spawn boot.sh');
    let step = 'waiting for the namespace';
    let lastState = '';
    for (let attempt = 0; ; attempt++) {
      if (attempt > 0) await sleep(POLL_MS);
      const gone = this.gone();
      if (gone !== null) throw new Error(`${gone} (while ${step})`);
      if (Date.now() > deadline) throw new Error(`timed out ${step}${lastState ? ` (last state: ${lastState})` : ''}`);
      if (this.liveEntry.pid === 0) {
        if (readOr(`/proc/${upid}/comm`).trim() !== 'unshare') continue;
        const nspid = Number(readOr(`/proc/${upid}/task/${upid}/children`).trim().split(' ')[0] ?? '');
        if (!(nspid > 0)) continue;
        // Sanity: never nsenter a process that shares our own PID namespace.
        if (readLinkOr(`/proc/${nspid}/ns/pid`) === readLinkOr('/proc/self/ns/pid')) continue;
        this.liveEntry.pid = nspid;
        step = 'waiting for systemd to start';
      }
      const nspid = this.liveEntry.pid;
      if (readOr(`/proc/${nspid}/comm`).trim() !== 'systemd' || !fs.existsSync(`/proc/${nspid}/root/run/systemd/private`)) continue;
      step = 'waiting for is-system-running';
      const r = await this.run(['systemctl', 'is-system-running'], Math.max(1000, Math.min(5000, deadline - Date.now())));
      lastState = r.stdout.trim() || r.stderr.trim();
      if (lastState === 'running' || lastState === 'degraded') return;
    }
  }

  /** If systemd is up but did not finish booting: its pending jobs and journal, for the error message. */
  async bootDiagnostics(): Promise<string> {
    if (this.gone() !== null || this.pid <= 0 || !fs.existsSync(`/proc/${this.pid}/root/run/systemd/private`)) return '';
    try {
      const jobs = await this.run(['systemctl', '--no-pager', 'list-jobs'], 3000);
      const journal = await this.run(['journalctl', '--no-pager', '-b', '-n', '30', '-o', 'short-monotonic'], 3000);
      return `\n--- systemctl list-jobs ---\n${jobs.stdout}${jobs.stderr}\n--- journal (last 30 lines) ---\n${journal.stdout}${journal.stderr}`;
    } catch (e) {
      return `\n(could not query the box: ${e instanceof Error ? e.message : String(e)})`;
    }
  }

  /**
   * Runs argv inside the box's namespaces. Not with a plain `nsenter --pid`: that forks and waits
   * with WUNTRACED, and when its child is stopped (systemd-shutdown does kill(-1, SIGSTOP)) it
   * SIGSTOPs itself, waiting for a SIGCONT that never comes, and the box's PID namespace cannot
   * finish dying until that child is reaped. So nsenter execs (--no-fork) a host-PID-namespace sh
   * that forks the command into the box and just waits for it. setpriv --pdeathsig: the command
   * dies with that sh if we kill it (timeout) or die ourselves.
   */
  private run(argv: string[], timeoutMs = COMMAND_TIMEOUT_MS): Promise<ExecResult> {
    const gone = this.gone();
    if (gone !== null) return Promise.reject(new Error(gone));
    if (this.pid <= 0) return Promise.reject(new Error('the systemd box has not started yet'));
    const nsArgs = ['--target', String(this.pid), '--mount', '--pid', '--net', '--uts', '--ipc', '--no-fork', '--'];
    const cmd = ['/bin/sh', '-c', '"$@"; exit $?', 'sh', tool('setpriv'), '--pdeathsig', 'KILL', '--', ...argv];
    return new Promise((resolve, reject) => {
      const p = spawn(tool('nsenter'), [...nsArgs, ...cmd], {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: {
          PATH: SYSTEM_PATH,
          LANG: 'C.UTF-8',
          HOME: '/root',
          TERM: 'dumb',
          SYSTEMD_IGNORE_CHROOT: '1',
          SYSTEMD_PAGER: '',
          SYSTEMD_COLORS: '0',
          PAGER: 'cat',
        },
      });
      let stdout = '';
      let stderr = '';
      p.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
      p.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      const timer = setTimeout(() => {
        p.kill('SIGKILL');
        reject(new Error(`${argv.join(' ')} timed out after ${timeoutMs} ms in the systemd box`));
      }, timeoutMs);
      p.on('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      p.on('close', (code, signal) => {
        clearTimeout(timer);
        resolve({ code: code ?? 128 + (signal ? os.constants.signals[signal] : 0), stdout, stderr });
      });
    });
  }

  exec(...argv: string[]): Promise<ExecResult> {
    if (argv.length === 0) return Promise.reject(new Error('exec: empty argv'));
    return this.run(argv);
  }

  ctl(...args: string[]): Promise<ExecResult> {
    return this.run(['systemctl', '--no-pager', ...args]);
  }

  async show(unit: string, props: string[], timeoutMs = COMMAND_TIMEOUT_MS): Promise<Record<string, string>> {
    const r = await this.run(['systemctl', '--no-pager', 'show', '-p', props.join(','), '--', unit], timeoutMs);
    if (r.code !== 0) throw new Error(`systemctl show ${unit} failed (${r.code}): ${r.stderr.trim()}`);
    const out: Record<string, string> = {};
    for (const line of r.stdout.split('\n')) {
      const i = line.indexOf('=');
      if (i > 0) out[line.slice(0, i)] = line.slice(i + 1);
    }
    return out;
  }

  async waitFor(
    unit: string,
    predicate: (p: Record<string, string>) => boolean,
    props: string[],
    timeoutMs: number,
  ): Promise<Record<string, string>> {
    const deadline = Date.now() + timeoutMs;
    let last: Record<string, string> | null = null;
    let lastError = '';
    for (;;) {
      const remaining = deadline - Date.now();
      try {
        last = await this.show(unit, props, Math.max(1000, remaining));
        lastError = '';
      } catch (e) {
        if (this.gone() !== null) throw e;
        lastError = ` (last show() error: ${e instanceof Error ? e.message : String(e)})`;
      }
      if (last !== null && predicate(last)) return last;
      if (Date.now() >= deadline) {
        throw new Error(`waitFor(${unit}) timed out after ${timeoutMs} ms; last seen: ${JSON.stringify(last)}${lastError}`);
      }
      await sleep(Math.min(POLL_MS, Math.max(0, deadline - Date.now())));
    }
  }

  async installUnit(name: string, text: string): Promise<void> {
    // "foo.service", or a drop-in "foo.service.d/bar.conf".
    if (!/^[\w:.@-]+(\.d\/[\w:.@-]+\.conf)?$/.test(name) || name.includes('..')) throw new Error(`installUnit: bad unit name ${name}`);
    if (!name.includes('/') && !/^\s*DefaultDependencies\s*=\s*(no|false|0|off)\s*$/im.test(text)) {
      throw new Error(`installUnit(${name}): units must set DefaultDependencies=no (see docs/testing-systemd.md)`);
    }
    const file = path.join(this.stateDir, 'units', name);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, text.endsWith('\n') ? text : `${text}\n`);
    const r = await this.ctl('daemon-reload');
    if (r.code !== 0) throw new Error(`daemon-reload failed (${r.code}): ${r.stderr.trim()}`);
  }

  stop(): Promise<void> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  private async doStop(): Promise<void> {
    let problem = '';
    try {
      const r = await runHost(tool('bash'), [path.join(HARNESS_DIR, 'stop.sh'), this.stateDir], 40_000);
      if (r.code !== 0) problem = `stop.sh failed (${r.code}): ${r.stderr.trim()}`;
    } catch (e) {
      problem = e instanceof Error ? e.message : String(e);
    }
    if (this.exitInfo === null) {
      // stop.sh could not finish it: kill the namespace's PID 1, then unshare.
      try {
        if (this.pid > 0) process.kill(this.pid, 'SIGKILL');
      } catch {
        // gone
      }
      this.child.kill('SIGKILL');
    }
    await settleWithin(this.exited, 10_000);
    if (this.exitInfo === null) problem ||= `unshare (pid ${this.child.pid ?? '?'}) did not exit`;
    this.consoleIn.destroy();
    fs.closeSync(this.logFd);
    live.delete(this.liveEntry);
    if (this.removeState) {
      fs.rmSync(this.stateDir, { recursive: true, force: true });
    } else {
      for (const f of ['root', 'console.fifo']) fs.rmSync(path.join(this.stateDir, f), { recursive: true, force: true });
    }
    if (problem) throw new Error(`stopping the systemd box: ${problem}`);
  }
}

function readOr(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

function readLinkOr(file: string): string {
  try {
    return fs.readlinkSync(file);
  } catch {
    return '';
  }
}

function runHost(cmd: string, args: string[], timeoutMs: number): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: SYSTEM_PATH, LANG: 'C.UTF-8' } });
    let stdout = '';
    let stderr = '';
    p.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    p.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      p.kill('SIGKILL');
      reject(new Error(`${path.basename(args[0] ?? cmd)} timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    p.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    p.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
}

/** Polls the unit's journal until it matches re (output reaches journald asynchronously). */
export async function waitForJournal(box: SystemdBox, unit: string, re: RegExp, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await box.exec('journalctl', '--no-pager', '-o', 'cat', '-u', unit);
    if (re.test(r.stdout)) return r.stdout;
    if (Date.now() > deadline) throw new Error(`journal of ${unit} never matched ${String(re)}:\n${r.stdout}${r.stderr}`);
    await new Promise((res) => setTimeout(res, 50));
  }
}
