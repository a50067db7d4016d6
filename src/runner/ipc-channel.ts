// tend's end of a Node worker's IPC channel (the worker's process.send), speaking Node's own wire format for
// NODE_CHANNEL_SERIALIZATION_MODE=json (lib/internal/child_process.js and child_process/serialization.js, the same
// in Node 20, 22 and 24):
//   - every message is JSON followed by '\n';
//   - a handle travels as {"cmd":"NODE_HANDLE","type":"net.Native","msg":…} with the fd attached by SCM_RIGHTS to that
//     message's bytes; the receiver answers {"cmd":"NODE_HANDLE_ACK"} (or NODE_HANDLE_NACK: send it again), and until
//     that answer every further message waits, so a handle can never be paired with the wrong message;
//   - messages whose cmd starts with "NODE_" are Node's internal ones: the worker sees them as 'internalMessage',
//     never as 'message', so tend's traffic with the preload stays invisible to the app.
// Reading goes through a net.Socket on tend's end; writing through the addon's sendmsg (Node cannot attach an fd).
import { Socket } from 'node:net';
import { StringDecoder } from 'node:string_decoder';
import { native } from '../os/native.js';

/** Node gives up on a handle after this many NACKs (MAX_HANDLE_RETRANSMISSIONS). */
const MAX_RETRANSMISSIONS = 3;
/** How long to wait before writing again to a channel whose socket buffer is full. */
const RETRY_MS = 10;
/** A worker that sends a line longer than this is not speaking Node's protocol: the channel is closed. */
const MAX_LINE = 1 << 20;

/** One worker's channel, as the runner holds it. */
export interface IpcChannel {
  /** The worker's end: map it into the child and name it in TEND_IPC_FD. */
  readonly childFd: number;
  /** After spawn: closes tend's copy of the worker's end, so the worker's exit ends the channel. */
  bind(): void;
  send(message: unknown): void;
  /** Sends `fd` as a net.Native handle (a listening TCP or unix socket); `message` arrives with it. */
  sendHandle(message: unknown, fd: number): void;
  close(): void;
}

interface Outgoing {
  readonly message: unknown;
  readonly fd: number;
}

// Open a channel; `onMessage` hears every message the worker sends (handles it tries to send are dropped).
export function openIpcChannel(onMessage: (message: unknown) => void, onProblem: (why: string) => void): IpcChannel {
  const [tendEnd, childEnd] = native.ipcSocketPair();
  let childEndOpen = true;
  let closed = false;
  /** Bytes not yet taken by the socket, each with the fd that travels with its first byte (-1: none). */
  const bytes: { data: Buffer; fd: number }[] = [];
  /** The handle message awaiting its ACK, and the messages held back until then. */
  let inFlight: (Outgoing & { retransmissions: number }) | null = null;
  const held: Outgoing[] = [];
  let retry: NodeJS.Timeout | null = null;

  const closeChildEnd = (): void => {
    if (!childEndOpen) return;
    childEndOpen = false;
    native.closeFd(childEnd);
  };

  const close = (): void => {
    if (closed) return;
    closed = true;
    if (retry !== null) clearTimeout(retry);
    bytes.length = 0;
    held.length = 0;
    reader.destroy(); // closes tendEnd
    closeChildEnd();
  };

  const flush = (): void => {
    retry = null;
    for (let head = bytes[0]; !closed && head !== undefined; head = bytes[0]) {
      let sent: number;
      try {
        sent = native.ipcSend(tendEnd, head.data, head.fd);
      } catch (error) {
        onProblem(`IPC write failed: ${(error as { code?: string }).code ?? String(error)}`);
        close();
        return;
      }
      if (sent === 0) {
        retry = setTimeout(flush, RETRY_MS);
        return;
      }
      if (sent < head.data.length) bytes[0] = { data: head.data.subarray(sent), fd: -1 };
      else bytes.shift();
    }
  };

  const write = (out: Outgoing): void => {
    if (closed) return;
    bytes.push({ data: Buffer.from(`${JSON.stringify(out.message)}\n`), fd: out.fd });
    if (retry === null) flush();
  };

  const isAck = (message: unknown): boolean => {
    const cmd = commandOf(message);
    return cmd === 'NODE_HANDLE_ACK' || cmd === 'NODE_HANDLE_NACK';
  };

  const submit = (out: Outgoing): void => {
    if (closed) return;
    if (inFlight !== null && !isAck(out.message)) {
      held.push(out);
      return;
    }
    if (out.fd >= 0) inFlight = { ...out, retransmissions: 0 };
    write(out);
  };

  const onAnswer = (ack: boolean): void => {
    if (inFlight === null) return;
    if (!ack && inFlight.retransmissions++ < MAX_RETRANSMISSIONS) {
      write(inFlight);
      return;
    }
    if (!ack) onProblem('the worker did not receive a socket after 3 attempts (NODE_HANDLE_NACK)');
    inFlight = null;
    releaseHeld();
  };

  /** Sends what waited for an ACK, up to and including the next handle (which waits for its own). */
  const releaseHeld = (): void => {
    for (let next = held.shift(); next !== undefined; next = held.shift()) {
      submit(next);
      if (inFlight !== null) return;
    }
  };

  const onLine = (line: string): void => {
    let message: unknown;
    try {
      message = JSON.parse(line);
    } catch {
      onProblem(`ignored a line that is not JSON on the IPC channel (${line.length} bytes)`);
      return;
    }
    const cmd = commandOf(message);
    if (cmd === 'NODE_HANDLE_ACK' || cmd === 'NODE_HANDLE_NACK') {
      onAnswer(cmd === 'NODE_HANDLE_ACK');
      return;
    }
    if (cmd === 'NODE_HANDLE') {
      // tend reads without room for SCM_RIGHTS, so the kernel has already closed the fd: acknowledge, or the worker
      // would hold back everything it sends after this message.
      submit({ message: { cmd: 'NODE_HANDLE_ACK' }, fd: -1 });
      onMessage((message as { msg?: unknown }).msg);
      return;
    }
    onMessage(message);
  };

  const reader = readLines(tendEnd, (line) => { if (!closed) onLine(line); }, onProblem, close);

  return {
    childFd: childEnd,
    bind: closeChildEnd,
    send: (message) => { submit({ message, fd: -1 }); },
    sendHandle: (message, fd) => { submit({ message: { cmd: 'NODE_HANDLE', type: 'net.Native', msg: message }, fd }); },
    close,
  };
}

// Reads newline-delimited text from `fd` (which the returned socket then owns); `onEnd` on EOF or an oversized line.
function readLines(fd: number, onLine: (line: string) => void, onProblem: (why: string) => void, onEnd: () => void): Socket {
  const reader = new Socket({ fd, readable: true, writable: false });
  const decoder = new StringDecoder('utf8');
  let partial = '';
  reader.on('data', (chunk: Buffer) => {
    const lines = (partial + decoder.write(chunk)).split('\n');
    partial = lines.pop() ?? '';
    if (partial.length > MAX_LINE) {
      onProblem('the worker sent a line over 1 MiB on the IPC channel: closing it');
      onEnd();
      return;
    }
    for (const line of lines) if (line !== '') onLine(line);
  });
  reader.on('error', (error: NodeJS.ErrnoException) => { onProblem(`IPC read failed: ${error.code ?? error.message}`); });
  reader.on('end', onEnd);
  return reader;
}

function commandOf(message: unknown): string | null {
  if (typeof message !== 'object' || message === null) return null;
  const cmd = (message as { cmd?: unknown }).cmd;
  return typeof cmd === 'string' ? cmd : null;
}
