// The operator's commands as a client of the control socket: send one request, show the streamed progress and the
// answer (a table on a terminal, JSON lines or plain lines otherwise), and turn the outcome into an exit code.
import { connect } from 'node:net';
import { findControlSocket } from '../control/paths.js';
import type { RichStatus } from '../control/status-view.js';
import type { TendEvent } from '../core/events.js';
import { ExitCode, TendError } from '../errors.js';
import type { ControlCommand } from './parse-control.js';
import { checkStatus, renderStatus } from './status-table.js';

/** One answer line from tend. */
interface Reply {
  readonly ok?: boolean;
  readonly done?: boolean;
  readonly denied?: boolean;
  readonly error?: string;
  readonly detail?: string;
  readonly code?: number;
  readonly status?: RichStatus;
  readonly event?: TendEvent;
  readonly log?: { service: string; slot: number; pid: number | null; time: string; stream: string; line: string };
}

// Run `command` against the tend at `socket` (or the only one running) and resolve with the exit code.
export async function runControl(command: ControlCommand, socket: string | null): Promise<number> {
  const path = await findControlSocket(command.name, socket);
  const terminal = process.stdout.isTTY;
  const got: { final: Reply | null } = { final: null };
  await exchange(path, toRequest(command), (reply) => {
    if (reply.done === true) { got.final = reply; return; }
    if (reply.event !== undefined) process.stdout.write(`${progressLine(reply.event, terminal)}\n`);
    if (reply.log !== undefined) process.stdout.write(`${reply.log.service}.${reply.log.slot} | ${reply.log.line}\n`);
  });
  const answer = got.final;
  if (answer === null) throw new TendError('TEND_ERR_CONTROL', `tend ${command.name}: tend closed the control socket ${path} without an answer (it may be stopping)`);
  return outcome(command, answer, terminal);
}

function toRequest(command: ControlCommand): object {
  if (command.name === 'status') return { request: 'status', verbose: command.verbose };
  return { ...command, request: command.name, name: undefined };
}

function outcome(command: ControlCommand, reply: Reply, terminal: boolean): number {
  if (reply.denied === true) throw new TendError('TEND_ERR_CONTROL_DENIED', `${command.name} refused: ${reply.error ?? 'permission denied'}`);
  if (reply.ok !== true && reply.detail === undefined) throw new TendError('TEND_ERR_USAGE', `tend ${command.name}: ${reply.error ?? 'refused'}`);
  switch (command.name) {
    case 'status':
      return showStatus(command, reply, terminal);
    case 'reload':
    case 'restart':
    case 'scale':
      return changed(command.name === 'scale' ? 'scale' : 'reload', reply);
    case 'signal':
      if (reply.ok !== true) throw new TendError('TEND_ERR_USAGE', `tend signal: ${reply.detail ?? reply.error ?? ''}`);
      process.stdout.write(`tend: ${reply.detail ?? ''}\n`);
      return 0;
    case 'stop':
      process.stdout.write(`tend: stopped; tend exits with code ${reply.code ?? '?'}\n`);
      return 0;
    case 'logs':
      return 0;
  }
}

function showStatus(command: Extract<ControlCommand, { name: 'status' }>, reply: Reply, terminal: boolean): number {
  const status = reply.status;
  if (status === undefined) return ExitCode.internal;
  const shown = command.service === null ? status : { ...status, services: status.services.filter((s) => s.name === command.service) };
  if (shown.services.length === 0) throw new TendError('TEND_ERR_USAGE', `tend status: no service named ${JSON.stringify(command.service)} (services: ${status.services.map((s) => s.name).join(', ')})`);
  const json = command.json ?? !terminal;
  process.stdout.write(json ? `${JSON.stringify(shown, null, 2)}\n` : renderStatus(shown, terminal));
  return command.check ? checkStatus(shown) : 0;
}

// The outcome of a reload or scale, with the exit code it means.
function changed(what: 'reload' | 'scale', reply: Reply): number {
  const code = reply.ok === true ? 0 : ExitCode.reloadFailed;
  const line = reply.ok === true ? `tend: ${what} done: ${reply.detail ?? ''} (exit ${code})` : `tend: ${what} failed: ${reply.detail ?? reply.error ?? ''} (exit ${code})`;
  (reply.ok === true ? process.stdout : process.stderr).write(`${line}\n`);
  return code;
}

const DRAINED: Readonly<Record<string, string>> = { reload: 'old one drained', scale: 'removed', shutdown: 'stopped' };

// One line per slot step: starting, ready, old one drained; then the outcome.
function progressLine(event: TendEvent, terminal: boolean): string {
  const mark = (s: string): string => (terminal ? `  ${s}` : s);
  if (event.type === 'spawned') return mark(`${event.service}.${event.slot} starting (pid ${event.pid}, generation ${event.generation})`);
  if (event.type === 'ready') return mark(`${event.service}.${event.slot} ready (pid ${event.pid}, after ${event.afterMs} ms)`);
  if (event.type === 'exited') {
    const how = event.status === null ? '' : event.status.signal === null ? `, exit code ${event.status.code}` : `, signal ${event.status.signal}`;
    return mark(`${event.service}.${event.slot} ${event.reason === null ? 'exited' : (DRAINED[event.reason] ?? `stopped (${event.reason})`)} (pid ${event.pid}${how})`);
  }
  if (event.type === 'spawn-failed') return mark(`${event.service}.${event.slot} failed to start: ${event.message}`);
  if (event.type === 'reload-started') return `${event.service}: reload to generation ${event.generation} (${event.workers} workers, surge ${event.surge})`;
  if (event.type === 'reload-finished') return `${event.service}: reload ${event.ok ? 'finished' : 'failed'}: ${event.detail}`;
  if (event.type === 'scale-started') return `${event.service}: scale ${event.from} -> ${event.to}`;
  if (event.type === 'scale-finished') return `${event.service}: scale ${event.ok ? 'finished' : 'failed'}: ${event.detail}`;
  if (event.type === 'stopping') return `tend: stopping (${event.why})`;
  return event.type;
}

// Send one request and hand every answer line to `onReply` until the connection closes.
function exchange(path: string, request: object, onReply: (reply: Reply) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect(path);
    let buffered = '';
    socket.setEncoding('utf8');
    socket.on('connect', () => { socket.write(`${JSON.stringify(request)}\n`); });
    socket.on('data', (chunk: string) => {
      buffered += chunk;
      for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
        const reply = JSON.parse(buffered.slice(0, nl)) as Reply;
        buffered = buffered.slice(nl + 1);
        onReply(reply);
        if (reply.done === true) socket.end();
      }
    });
    socket.on('close', () => { resolve(); });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EACCES') {
        reject(new TendError('TEND_ERR_CONTROL_DENIED', `unable to open the control socket ${JSON.stringify(path)}: EACCES; only tend's user (or --control-group members, for status and logs) may connect`));
        return;
      }
      reject(new TendError('TEND_ERR_CONTROL', `unable to reach the control socket ${JSON.stringify(path)}: ${error.code ?? error.message}; is tend running with --control ${path}?`));
    });
  });
}
