// `tend reload` and `tend status`: one request over a pool's control socket, answered with an exit code.
import { connect } from 'node:net';
import { ExitCode, TendError } from '../errors.js';

// Send `request` and resolve with tend's exit code, printing the answer.
export function requestControl(socketPath: string, request: 'reload' | 'status', service: string | null = null): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = connect(socketPath);
    let buffered = '';
    socket.setEncoding('utf8');
    socket.on('connect', () => { socket.write(`${JSON.stringify({ request, service })}\n`); });
    socket.on('data', (chunk: string) => {
      buffered += chunk;
      const nl = buffered.indexOf('\n');
      if (nl < 0) return;
      socket.end();
      const reply = JSON.parse(buffered.slice(0, nl)) as { ok: boolean; detail?: string; error?: string; status?: unknown };
      if (request === 'status') {
        process.stdout.write(`${JSON.stringify(reply.status, null, 2)}\n`);
        resolve(reply.ok ? 0 : ExitCode.internal);
        return;
      }
      if (reply.ok) {
        process.stdout.write(`tend: reload done: ${reply.detail ?? ''}\n`);
        resolve(0);
      } else {
        reject(new TendError('TEND_ERR_RELOAD_FAILED', `reload failed: ${reply.detail ?? reply.error ?? ''}; the workers not replaced keep serving`));
      }
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      reject(new TendError('TEND_ERR_CONTROL', `unable to reach the control socket ${JSON.stringify(socketPath)}: ${error.code ?? error.message}; is tend running with --control ${socketPath}?`));
    });
  });
}
