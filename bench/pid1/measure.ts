// The five PID 1 measurements. Each takes the supervisors and the fixture binary and returns raw samples;
// every session is closed (SIGKILL of the namespace) in a finally, and every wait is bounded.
import { Session, childrenOf, commOf, signalQuietly, statusKb } from './procs.js';
import { msBetween, nowNs, sleep, yieldNow } from './stats.js';
import { inNamespace, type Supervisor } from './supervisors.js';

/** Start-up samples of one supervisor, in ms after spawning it. */
export interface StartupSamples {
  pid1ExecMs: number[];
  plainExecMs: number[];
  // spawn → the supervisor's exit, with a child that exits at once (PID 1 mode)
  pid1ExitMs: number[];
}

/** Peak and current memory of the supervisor process, in kB. */
export interface MemorySamples {
  vmHwmKb: number[];
  vmRssKb: number[];
}

/** SIGUSR1 forwarding latencies in µs, and signals that got no reply within 2 s. */
export interface LatencySamples {
  us: number[];
  lost: number;
}

/** Orphan-burst reap times in ms, the most orphans seen at once under the supervisor in each run, and the
 * kernel's share: burst → the child's waitpid of the middle process returned (orphans reparented by then). */
export interface ReapSamples {
  ms: number[];
  maxOrphansSeen: number[];
  reparentMs: number[];
}

/** When an early SIGTERM is sent: `ms` after spawning unshare, or after PID 1 was seen to exec the supervisor. */
export interface Delay {
  from: 'spawn' | 'exec';
  ms: number;
}

/** One early-SIGTERM trial. */
export interface EarlyTrial {
  supervisor: string;
  delay: Delay;
  // when the signal actually left, ms after spawning (for spawn + 0 it is when PID 1 first existed)
  sentAtMs: number;
  // for exec-relative delays: ms after the harness saw PID 1's comm change from `unshare` (polled every ~20 µs)
  sentAfterExecMs: number | null;
  // /proc/PID/comm of PID 1 right after the kill: `unshare` = still before the supervisor's exec
  comm: string;
  phase: 'pre-exec' | 'post-exec' | 'ambiguous';
  // handled: child printed TERM; killed: child died of it before its handler existed; lost: nothing within 2 s
  outcome: 'handled' | 'killed' | 'lost' | 'error';
  detail?: string;
  // what the supervisor wrote on stderr when the signal did not reach the child's handler (e.g. tini's warning)
  stderr?: string;
}

const LOST_AFTER_MS = 2000;

// Runs `fn` for each item in a rotated order per round (so no supervisor always goes first).
function rotate<T>(items: readonly T[], round: number): T[] {
  const k = round % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}

// One start-up: spawn → the child's first clock reading, and spawn → the top process's exit.
async function startupOnce(argv: readonly string[], ns: boolean): Promise<{ execMs: number; exitMs: number }> {
  const session = new Session(argv, ns);
  try {
    const line = await session.waitFor((t) => t.startsWith('start '), 15_000);
    if (line === null) throw new Error(`no start line from ${argv.join(' ')}: ${session.stderr}`);
    const exit = await session.waitExit(15_000);
    if (exit?.code !== 0) throw new Error(`${argv.join(' ')} exited ${exit?.code ?? exit?.signal ?? 'never'}: ${session.stderr}`);
    return { execMs: msBetween(session.spawnedAtNs, BigInt(line.text.slice(6))), exitMs: msBetween(session.spawnedAtNs, exit.atNs) };
  } finally {
    await session.close();
  }
}

// Metric 1: start-up to the child's exec, as PID 1 of a new namespace and as a plain process; `warmup` rounds are discarded.
export async function measureStartup(sups: readonly Supervisor[], child: string, runs: number, warmup: number): Promise<Map<string, StartupSamples>> {
  const out = new Map<string, StartupSamples>(sups.map((s) => [s.name, { pid1ExecMs: [], plainExecMs: [], pid1ExitMs: [] }]));
  for (let round = 0; round < warmup + runs; round++) {
    for (const sup of rotate(sups, round)) {
      const cmd = [child, 'stamp'];
      const pid1 = await startupOnce(inNamespace(sup.argv(cmd, false)), true);
      const plain = await startupOnce(sup.argv(cmd, true), false);
      if (round < warmup) continue;
      const samples = out.get(sup.name)!;
      samples.pid1ExecMs.push(pid1.execMs);
      samples.pid1ExitMs.push(pid1.exitMs);
      samples.plainExecMs.push(plain.execMs);
    }
  }
  return out;
}

// Start `sup` as PID 1 supervising `child mode…`, wait for the child's "ready"; returns the session and PID 1's host pid.
async function startReady(sup: Supervisor, childArgv: readonly string[]): Promise<{ session: Session; pid1: number }> {
  const session = new Session(inNamespace(sup.argv(childArgv, false)), true);
  try {
    const ready = await session.waitFor((t) => t.startsWith('ready '), 15_000);
    const pid1 = await session.findPid1(1000);
    if (ready === null || pid1 === null) throw new Error(`${sup.name}: child never got ready: ${session.stderr}`);
    return { session, pid1 };
  } catch (error) {
    await session.close();
    throw error;
  }
}

// Metric 2: VmHWM of the namespace's PID 1 while it supervises a sleeping child (read after `settleMs`).
export async function measureMemory(sups: readonly Supervisor[], child: string, runs: number, settleMs: number): Promise<Map<string, MemorySamples>> {
  const out = new Map<string, MemorySamples>(sups.map((s) => [s.name, { vmHwmKb: [], vmRssKb: [] }]));
  for (let round = 0; round < runs; round++) {
    for (const sup of rotate(sups, round)) {
      const { session, pid1 } = await startReady(sup, [child, 'usr1']);
      try {
        await sleep(settleMs);
        const hwm = statusKb(pid1, 'VmHWM');
        const rss = statusKb(pid1, 'VmRSS');
        if (hwm === null || rss === null) throw new Error(`${sup.name}: PID 1 vanished before its memory was read`);
        out.get(sup.name)!.vmHwmKb.push(hwm);
        out.get(sup.name)!.vmRssKb.push(rss);
      } finally {
        await session.close();
      }
    }
  }
  return out;
}

// Metric 3: SIGUSR1 to PID 1 → the child's clock reading in its sigwaitinfo loop; sequential, `gapMs` apart.
export async function measureLatency(sups: readonly Supervisor[], child: string, count: number, warmup: number, gapMs: number): Promise<Map<string, LatencySamples>> {
  const out = new Map<string, LatencySamples>();
  for (const sup of sups) {
    const samples: LatencySamples = { us: [], lost: 0 };
    out.set(sup.name, samples);
    const { session, pid1 } = await startReady(sup, [child, 'usr1']);
    try {
      let next = session.lines.findIndex((l) => l.text.startsWith('ready ')) + 1;
      for (let i = 0; i < warmup + count; i++) {
        await sleep(gapMs);
        const sentNs = nowNs();
        signalQuietly(pid1, 'SIGUSR1');
        const reply = await session.lineAt(next, LOST_AFTER_MS);
        if (reply === null) {
          if (session.exit !== null) throw new Error(`${sup.name} exited during the latency test: ${session.stderr}`);
          samples.lost++;
          continue;
        }
        next++;
        if (!reply.text.startsWith('usr1 ')) throw new Error(`${sup.name}: unexpected line ${reply.text}`);
        if (i >= warmup) samples.us.push(Number(BigInt(reply.text.slice(5)) - sentNs) / 1e3);
      }
    } finally {
      await session.close();
    }
  }
  return out;
}

// Metric 4: the child orphans `orphans` zombies at once; time from the middle process's exit until PID 1 has no
// child left but the original one, polling /proc every ~1 ms (a result needs two consecutive empty polls).
export async function measureReap(sups: readonly Supervisor[], child: string, runs: number, orphans: number): Promise<Map<string, ReapSamples>> {
  const out = new Map<string, ReapSamples>(sups.map((s) => [s.name, { ms: [], maxOrphansSeen: [], reparentMs: [] }]));
  for (let round = 0; round < runs; round++) {
    for (const sup of rotate(sups, round)) {
      const { session, pid1 } = await startReady(sup, [child, 'burst', String(orphans), '300']);
      try {
        const baseline = new Set(childrenOf(pid1));
        const polls: { beforeNs: bigint; afterNs: bigint; extra: number }[] = [];
        const deadline = nowNs() + 20_000_000_000n;
        let result: { ms: number; maxSeen: number; reparentMs: number } | null = null;
        while (result === null && nowNs() < deadline) {
          const beforeNs = nowNs();
          const extra = childrenOf(pid1).filter((pid) => !baseline.has(pid)).length;
          polls.push({ beforeNs, afterNs: nowNs(), extra });
          result = reapResult(session, polls);
          if (session.exit !== null) break;
          await sleep(1);
        }
        if (result === null) throw new Error(`${sup.name}: orphans not reaped within 20 s (${session.stderr})`);
        const failed = session.lines.find((l) => l.text.startsWith('forkfail '));
        if (failed) throw new Error(`fixture forked only ${failed.text.slice(9)} of ${orphans} children`);
        out.get(sup.name)!.ms.push(result.ms);
        out.get(sup.name)!.maxOrphansSeen.push(result.maxSeen);
        out.get(sup.name)!.reparentMs.push(result.reparentMs);
      } finally {
        await session.close();
      }
    }
  }
  return out;
}

// The reap time once the polls show it: the first of two consecutive empty polls that began after the child
// reported the middle process reaped (so the orphans had been reparented), minus the burst time.
function reapResult(session: Session, polls: readonly { beforeNs: bigint; afterNs: bigint; extra: number }[]): { ms: number; maxSeen: number; reparentMs: number } | null {
  const burst = session.lines.find((l) => l.text.startsWith('burst '));
  const reparented = session.lines.find((l) => l.text.startsWith('reparented '));
  if (!burst || !reparented) return null;
  const burstNs = BigInt(burst.text.slice(6));
  const reparentedNs = BigInt(reparented.text.slice(11));
  for (let i = 0; i + 1 < polls.length; i++) {
    const poll = polls[i]!;
    if (poll.beforeNs > reparentedNs && poll.extra === 0 && polls[i + 1]!.extra === 0) {
      const maxSeen = Math.max(...polls.map((p) => p.extra));
      return { ms: msBetween(burstNs, poll.afterNs), maxSeen, reparentMs: msBetween(burstNs, reparentedNs) };
    }
  }
  return null;
}

// One early-SIGTERM trial. `released` resolves once the trial no longer needs the CPU (outcome known, or the
// child has been ready for 100 ms and only the 2 s loss timeout is left), so the next trial can start meanwhile.
function earlyTrial(sup: Supervisor, child: string, delay: Delay): { released: Promise<void>; result: Promise<EarlyTrial> } {
  let release = (): void => undefined;
  const released = new Promise<void>((resolve) => { release = resolve; });
  const result = (async (): Promise<EarlyTrial> => {
    const trial: EarlyTrial = { supervisor: sup.name, delay, sentAtMs: Number.NaN, sentAfterExecMs: null, comm: '', phase: 'ambiguous', outcome: 'error' };
    const session = new Session(inNamespace(sup.argv([child, 'term'], false)), true);
    try {
      const pid1 = await session.findPid1(5000, true);
      if (pid1 === null) throw new Error(`no PID 1 appeared: ${session.stderr}`);
      let execSeenNs: bigint | null = null;
      if (delay.from === 'exec') {
        // comm changes at exec's point of no return, before the dynamic loader runs
        const deadline = nowNs() + 5_000_000_000n;
        while (commOf(pid1) === 'unshare' && nowNs() < deadline) await yieldNow();
        execSeenNs = nowNs();
      }
      const targetNs = (execSeenNs ?? session.spawnedAtNs) + BigInt(Math.round(delay.ms * 1_000_000));
      const left = msBetween(nowNs(), targetNs);
      if (left > 2) await sleep(left - 1.5);
      while (nowNs() < targetNs) await yieldNow();
      const before = commOf(pid1);
      const sentNs = nowNs();
      signalQuietly(pid1, 'SIGTERM');
      trial.comm = commOf(pid1);
      trial.sentAtMs = msBetween(session.spawnedAtNs, sentNs);
      if (execSeenNs !== null) trial.sentAfterExecMs = msBetween(execSeenNs, sentNs);
      trial.phase = trial.comm === 'unshare' ? 'pre-exec' : before !== 'unshare' ? 'post-exec' : 'ambiguous';
      void session.waitFor((t) => t.startsWith('ready '), LOST_AFTER_MS).then(() => sleep(100)).then(release);
      const term = await session.waitFor((t) => t === 'TERM', LOST_AFTER_MS - msBetween(sentNs, nowNs()));
      if (term !== null) {
        const exit = await session.waitExit(LOST_AFTER_MS);
        trial.outcome = 'handled';
        if (exit?.code !== 0) trial.detail = `TERM printed, but exit ${exit?.code ?? exit?.signal ?? 'timeout'}`;
      } else if (session.exit === null) {
        trial.outcome = 'lost';
      } else if (session.exit.code === 128 + 15 || session.exit.signal === 'SIGTERM') {
        trial.outcome = 'killed';
      } else {
        const why = session.stderr.split('\n').map((l) => l.trim()).find((l) => l.startsWith('tend:') || l.includes('Error')) ?? session.stderr.trim().slice(0, 160);
        trial.detail = `exit ${session.exit.code ?? session.exit.signal} without TERM: ${why}`;
      }
    } catch (error) {
      trial.detail = error instanceof Error ? error.message : String(error);
    } finally {
      release();
      await session.close();
    }
    if (trial.outcome !== 'handled' && session.stderr.trim() !== '') trial.stderr = session.stderr.trim().slice(0, 200);
    return trial;
  })();
  return { released, result };
}

// Metric 5: SIGTERM to PID 1 at each delay, in interleaved rounds: `trials` times per spawn-relative delay and
// supervisor, `execTrials` times per exec-relative one.
export async function measureEarlySignal(sups: readonly Supervisor[], child: string, delays: readonly Delay[], trials: number, execTrials: number): Promise<EarlyTrial[]> {
  const results: Promise<EarlyTrial>[] = [];
  let round = 0;
  for (let t = 0; t < Math.max(trials, execTrials); t++) {
    for (const delay of delays.filter((d) => t < (d.from === 'exec' ? execTrials : trials))) {
      for (const sup of rotate(sups, round++)) {
        const trial = earlyTrial(sup, child, delay);
        results.push(trial.result);
        await trial.released;
      }
    }
  }
  return Promise.all(results);
}

// A delay's label: "25" (ms after spawn) or "exec+0.5" (ms after PID 1 exec'd the supervisor).
export function delayKey(delay: Delay): string {
  return delay.from === 'spawn' ? String(delay.ms) : `exec+${delay.ms}`;
}

/** Whole runs of one command, fork → reaped, measured by the fixture's `run` mode (wait4). */
export interface FloorSamples {
  wallMs: number[];
  // ru_maxrss: the peak resident set of the command (and of what it reaped), the VmHWM it had at exit
  maxRssKb: number[];
}

/** A command measured against Node's floor. */
export interface FloorCommand {
  name: string;
  argv: readonly string[];
}

// Metric 6: each command as a plain process, run start to finish by `pid1-child run` (fork, exec, wait4), in
// rotated rounds; `warmup` rounds are discarded.
export async function measureFloor(commands: readonly FloorCommand[], child: string, runs: number, warmup: number): Promise<Map<string, FloorSamples>> {
  const out = new Map<string, FloorSamples>(commands.map((c) => [c.name, { wallMs: [], maxRssKb: [] }]));
  for (let round = 0; round < warmup + runs; round++) {
    for (const command of rotate(commands, round)) {
      const session = new Session([child, 'run', ...command.argv], false);
      try {
        const line = await session.waitFor((t) => t.startsWith('ran '), 15_000);
        const [, wallNs, maxRss, status] = line?.text.split(' ') ?? [];
        if (wallNs === undefined || maxRss === undefined || status !== '0') {
          throw new Error(`${command.argv.join(' ')}: ${line === null ? 'no result' : `wait status ${status}`}: ${session.stderr}`);
        }
        if (round < warmup) continue;
        out.get(command.name)!.wallMs.push(Number(wallNs) / 1e6);
        out.get(command.name)!.maxRssKb.push(Number(maxRss));
      } finally {
        await session.close();
      }
    }
  }
  return out;
}

/** ms from the launcher's exec to installed signal handlers, as PID 1: tend's, and Node's own floor for it. */
export interface HandlerWindows {
  tend: number[];
  node: number[];
}

// The floor for tend's handler window: a `node -e` script whose first statement installs a SIGTERM handler,
// started by the same launcher (which records its exec time in TEND_EXEC_MONOTONIC_NS, as for tend).
const NODE_HANDLER_SCRIPT = "process.on('SIGTERM', () => {}); const at = process.hrtime.bigint(); " +
  "process.stderr.write(`handlers ${Number(at - BigInt(process.env.TEND_EXEC_MONOTONIC_NS)) / 1e6}\\n`);";

// Metric 7: signal handlers installed, ms after the launcher's exec, as PID 1: tend (`tend run -v` reports it,
// "installed X ms after exec") and the `node -e` floor above, alternating.
export async function measureHandlerWindows(tendBin: string, launcher: string, child: string, runs: number): Promise<HandlerWindows> {
  const out: HandlerWindows = { tend: [], node: [] };
  const peers = [
    { samples: out.tend, argv: [tendBin, 'run', '-v', '--', child, 'stamp'], pattern: /signal handlers installed ([\d.]+) ms after exec/ },
    { samples: out.node, argv: [launcher, '-e', NODE_HANDLER_SCRIPT], pattern: /^handlers ([\d.]+)$/m },
  ];
  for (let round = 0; round < runs; round++) {
    for (const peer of rotate(peers, round)) {
      const session = new Session(inNamespace(peer.argv), true);
      try {
        await session.waitExit(15_000);
        const match = peer.pattern.exec(session.stderr);
        if (match === null) throw new Error(`${peer.argv.join(' ')} reported no handler time: ${session.stderr}`);
        peer.samples.push(Number(match[1]));
      } finally {
        await session.close();
      }
    }
  }
  return out;
}
