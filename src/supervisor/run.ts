// The thin shell around run-machine.ts: turns OS events (signals, reaped children, timers) into machine events and
// executes the machine's effects. All side effects of `tend run` happen here or in os/.
import { formatDuration } from '../config/duration.js';
import { describeStop, type RunConfig } from '../config/run-config.js';
import type { SignalName } from '../config/signal-names.js';
import { TendError } from '../errors.js';
import type { Logger } from '../log.js';
import { describeStatus } from '../os/exit-status.js';
import { native } from '../os/native.js';
import { isGroupAlive, processGroupOf, sendSignal } from '../os/process-tree.js';
import { startReaper, type Reaped } from '../os/reaper.js';
import { limitsForChild, parseInheritedLimits } from '../os/rlimits.js';
import type { SignalIntake } from '../os/signals.js';
import { spawnProcess } from '../os/spawn.js';
import { reclaimTerminal, terminalToHandOver } from '../os/terminal.js';
import { resolveCredentials } from '../os/users.js';
import { openNotifyChannel, removeTendRuntimeDir, type NotifyChannel } from '../os/notify-channel.js';
import { relayToSystemd } from '../systemd/relay.js';
import { initialTransition, transition, type RunEffect, type RunEvent, type RunPolicy, type RunState, type Target } from './run-machine.js';

/** How often tend re-checks for lingering processes it gets no SIGCHLD for (group members that are not its children). */
const DESCENDANT_POLL_MS = 100;
/** Signals after which a stopped process must also get SIGCONT to be able to act (as systemd does). */
const NO_CONT_AFTER: ReadonlySet<string> = new Set(['SIGTSTP', 'SIGSTOP', 'SIGCONT', 'SIGKILL', 'SIGTTIN', 'SIGTTOU']);

/** What the shell needs from the outside world; tests can pass their own logger. */
export interface RunDeps {
  readonly log: Logger;
  readonly signals: SignalIntake;
  readonly env: Readonly<Record<string, string | undefined>>;
}

// Supervise `config.command` (after its --before steps) until everything it started is gone; resolves to tend's exit code.
export function runCommand(config: RunConfig, deps: RunDeps): Promise<number> {
  const { log } = deps;
  const credentials = config.user === null ? null : resolveCredentials(config.user);
  const inherited = parseInheritedLimits(deps.env['TEND_INHERITED_RLIMITS']);
  if (inherited === null) {
    log.info('started without bin/tend\'s launcher: the limits tend was started with are unknown, so children get Node\'s raised open-files limit');
  }
  const rlimits = limitsForChild(inherited, config.limits);
  const policy: RunPolicy = { steps: config.before.length, stop: config.stop, signalScope: config.signalScope, remapExit: config.remapExit };

  if (process.pid !== 1) {
    if (config.subreaper) {
      native.setChildSubreaper(true);
      log.info('registered as child subreaper: orphans of the child are reaped by tend');
    } else {
      log.warn('not PID 1 and --no-subreaper: orphaned grandchildren go to the system init, and tend cannot wait for them');
    }
  }
  // A write to the terminal while the child owns it must never stop tend.
  native.ignoreSignal(21 /* SIGTTIN */);
  native.ignoreSignal(22 /* SIGTTOU */);
  log.info(`stop sequence: ${describeStop(config.stop)}; signals go to the child's ${config.signalScope === 'group' ? 'process group' : 'pid only'}`);

  return new Promise<number>((resolve) => {
    const lifetime = new AbortController();
    // Signal listeners do not keep Node's loop alive, and the child is not a libuv handle: hold the loop open
    // until the exit effect runs.
    const keepAlive = setInterval(() => undefined, 1 << 30);
    lifetime.signal.addEventListener('abort', () => { clearInterval(keepAlive); }, { once: true });
    const tty = terminalToHandOver();
    let state: RunState = { kind: 'exited', code: 0 };
    let watching = false;
    let channel: NotifyChannel | null = null;
    let poll: NodeJS.Timeout | null = null;
    const queue: RunEvent[] = [];
    let draining = false;

    const dispatch = (event: RunEvent): void => {
      queue.push(event);
      if (draining) return;
      draining = true;
      try {
        for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
          const result = transition(policy, state, next);
          state = result.state;
          run(result.effects);
        }
      } finally {
        draining = false;
      }
    };

    const currentPid = (): number | null => (state.kind === 'running' || state.kind === 'stopping' ? state.pid : null);

    const isLingering = (pgid: number): boolean => isGroupAlive(pgid) || reaper.adoptedChildren().length > 0;

    const checkDescendants = (): void => {
      if (!watching || state.kind !== 'stopping') return;
      if (!isLingering(state.pid)) dispatch({ type: 'descendants-gone' });
    };

    const onReaped = (reaped: Reaped): void => {
      const pid = currentPid();
      if (reaped.pid === pid) {
        log.info(`child ${reaped.pid} exited with ${describeStatus(reaped.status)}`);
        reclaimTerminal(tty);
        dispatch({ type: 'exited', pid: reaped.pid, status: reaped.status, lingering: isLingering(reaped.pid) });
      } else {
        log.info(`reaped pid ${reaped.pid} (${describeStatus(reaped.status)})`);
        // The last lingering process may just have gone.
        checkDescendants();
      }
    };
    const reaper = startReaper(onReaped);
    const reapAndCheck = (): void => {
      reaper.reapNow();
      checkDescendants();
    };

    const send = (signal: SignalName, target: Target, reason: 'forward' | 'stop'): void => {
      const alsoCont = reason === 'stop' && !NO_CONT_AFTER.has(signal);
      const deliver = (pid: number): boolean => {
        const delivered = sendSignal(pid, signal);
        if (delivered && alsoCont) sendSignal(pid, 'SIGCONT');
        return delivered;
      };
      switch (target.kind) {
        case 'child':
          deliver(target.pid);
          log.info(`${reason === 'stop' ? 'stop: sent' : 'forwarded'} ${signal} to pid ${target.pid}`);
          return;
        case 'group':
          deliver(-target.pgid);
          log.info(`${reason === 'stop' ? 'stop: sent' : 'forwarded'} ${signal} to process group ${target.pgid}`);
          return;
        case 'tree': {
          const groupHit = deliver(-target.pgid);
          // Adopted orphans that left the group (daemons that called setsid) get the signal one by one.
          const outsiders = reaper.adoptedChildren().filter((pid) => processGroupOf(pid) !== target.pgid);
          for (const pid of outsiders) deliver(pid);
          log.info(`${reason === 'stop' ? 'stop: sent' : 'forwarded'} ${signal} to process group ${target.pgid}${groupHit ? '' : ' (empty)'}${outsiders.length > 0 ? ` and ${outsiders.length} adopted orphan(s)` : ''}`);
          return;
        }
      }
    };

    const spawnPhase = (effect: Extract<RunEffect, { type: 'spawn' }>): void => {
      const argv = effect.phase.kind === 'main' ? config.command : config.before[effect.phase.index];
      if (argv === undefined) throw new TendError('TEND_ERR_INTERNAL', `no --before step ${effect.phase.kind === 'step' ? effect.phase.index : ''}`);
      try {
        // Under a Type=notify unit the child gets a NOTIFY_SOCKET of tend's own, relayed up to systemd's.
        const upstream = deps.env['NOTIFY_SOCKET'];
        channel?.close();
        channel = upstream === undefined || upstream === '' ? null : openNotifyChannel(
          `run-${effect.phase.kind === 'main' ? 'main' : `step${effect.phase.index}`}`,
          credentials === null ? null : { uid: credentials.uid, gid: credentials.gid },
          (message) => { relayToSystemd(upstream, message, log); },
          (why) => { log.debug(`ignored notification: ${why}`); },
        );
        const env = channel === null ? deps.env : withoutKeys({ ...deps.env, NOTIFY_SOCKET: channel.path, TEND_NOTIFY_FD: '3' }, ['WATCHDOG_PID']);
        const fds = channel === null ? [0, 1, 2] : [0, 1, 2, channel.childFd];
        const pid = spawnProcess({ argv, env, cwd: null, rlimits, credentials, foregroundTty: tty, fds });
        channel?.bind(pid);
        log.info(`started ${effect.phase.kind === 'main' ? 'command' : `step ${effect.phase.index + 1}/${config.before.length}`} ${JSON.stringify(argv.join(' '))} as pid ${pid}`);
        dispatch({ type: 'spawned', pid });
      } catch (error) {
        if (!(error instanceof TendError)) throw error;
        log.error(error.message);
        dispatch({ type: 'spawn-failed', exitCode: error.exitCode });
      }
    };

    const run = (effects: readonly RunEffect[]): void => {
      for (const effect of effects) {
        switch (effect.type) {
          case 'spawn':
            spawnPhase(effect);
            break;
          case 'send':
            send(effect.signal, effect.target, effect.reason);
            break;
          case 'arm-stage-timer': {
            const stage = effect.stage;
            const timer = setTimeout(() => {
              dispatch({ type: 'stage-timeout', stage });
            }, effect.ms);
            lifetime.signal.addEventListener('abort', () => { clearTimeout(timer); }, { once: true });
            log.info(stage < config.stop.length ? `stop stage ${stage + 1}/${config.stop.length}: waiting up to ${formatDuration(effect.ms)}` : `waiting up to ${formatDuration(effect.ms)} after SIGKILL`);
            break;
          }
          case 'watch-descendants':
            if (!watching) {
              watching = true;
              poll = setInterval(reapAndCheck, DESCENDANT_POLL_MS);
              lifetime.signal.addEventListener('abort', () => { if (poll !== null) clearInterval(poll); }, { once: true });
            }
            break;
          case 'log':
            if (effect.level === 'info') log.info(effect.message);
            else log.debug(effect.message);
            break;
          case 'exit':
            log.info(`exiting with code ${effect.code}`);
            channel?.close();
            removeTendRuntimeDir();
            lifetime.abort();
            reaper.stop();
            reclaimTerminal(tty);
            resolve(effect.code);
            break;
        }
      }
    };

    // Enter the first state before taking the buffered signals, so they queue until the child exists.
    const first = initialTransition(policy);
    state = first.state;
    deps.signals.deliverTo((signal) => {
      log.info(`received ${signal}`);
      dispatch({ type: 'signal', signal });
    });
    run(first.effects);
  });
}

function withoutKeys(env: Record<string, string | undefined>, keys: readonly string[]): Record<string, string | undefined> {
  return Object.fromEntries(Object.entries(env).filter(([k]) => !keys.includes(k)));
}
