// tend's end of the Node IPC channel against a raw peer process that shows every byte tend sends and writes exactly
// what the test tells it to, so the protocol rules (ACK hold-back, NACK resend, handles from the worker) are seen on
// the wire. The real Node side of the same channel is exercised by test/integration/on-demand*.test.ts on Node 20-24.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, test } from 'node:test';
import { native } from '../../src/os/native.js';
import { openIpcChannel } from '../../src/runner/ipc-channel.js';
import { until } from '../helpers/tend.js';

// The peer: lines read from fd 3 go to stdout; lines from stdin are written to fd 3.
const PEER = `
const net = require('node:net');
const channel = new net.Socket({ fd: 3, readable: true, writable: true });
channel.setEncoding('utf8');
channel.on('data', (d) => { process.stdout.write(d); });
process.stdin.setEncoding('utf8');
process.stdin.on('data', (d) => { channel.write(d); });
process.stdin.on('end', () => { channel.end(); });
`;

test('JSON lines; a handle holds back later messages until its ACK, a NACK resends it; a worker\'s handle is acknowledged', { timeout: 15_000 }, async () => {
  const received: unknown[] = [];
  const problems: string[] = [];
  const channel = openIpcChannel((m) => { received.push(m); }, (why) => { problems.push(why); });
  const peer = spawn(process.execPath, ['-e', PEER], { stdio: ['pipe', 'pipe', 'inherit', channel.childFd] });
  channel.bind();
  const { stdin, stdout } = peer;
  if (stdin === null || stdout === null) throw new Error('no pipes to the peer');
  const listening = native.listenTcp('127.0.0.1', 0, 8, false);
  after(() => { peer.kill('SIGKILL'); channel.close(); native.closeFd(listening); });

  let buffered = '';
  const waiting: ((line: string) => void)[] = [];
  const lines: string[] = [];
  stdout.setEncoding('utf8');
  stdout.on('data', (d: string) => {
    buffered += d;
    for (let i = buffered.indexOf('\n'); i >= 0; i = buffered.indexOf('\n')) {
      const line = buffered.slice(0, i);
      buffered = buffered.slice(i + 1);
      const w = waiting.shift();
      if (w === undefined) lines.push(line);
      else w(line);
    }
  });
  const nextLine = (): Promise<unknown> => new Promise<string>((resolve) => {
    const queued = lines.shift();
    if (queued === undefined) waiting.push(resolve);
    else resolve(queued);
  }).then((line) => JSON.parse(line) as unknown);

  channel.sendHandle({ cmd: 'NODE_TEND_LISTEN_REPLY', id: 1, address: 'tcp:127.0.0.1:1' }, listening);
  channel.send({ cmd: 'NODE_TEND_AFTER' });
  const handle = { cmd: 'NODE_HANDLE', type: 'net.Native', msg: { cmd: 'NODE_TEND_LISTEN_REPLY', id: 1, address: 'tcp:127.0.0.1:1' } };
  assert.deepEqual(await nextLine(), handle);
  // A NACK: the same handle message again, not the message queued behind it.
  stdin.write('{"cmd":"NODE_HANDLE_NACK"}\n');
  assert.deepEqual(await nextLine(), handle);
  stdin.write('{"cmd":"NODE_HANDLE_ACK"}\n');
  assert.deepEqual(await nextLine(), { cmd: 'NODE_TEND_AFTER' });
  // From the worker: plain messages, and a handle tend cannot take (acknowledged, its message delivered).
  stdin.write('"ready"\n{"cmd":"NODE_HANDLE","type":"net.Native","msg":{"hello":1}}\n');
  assert.deepEqual(await nextLine(), { cmd: 'NODE_HANDLE_ACK' });
  assert.deepEqual(received, ['ready', { hello: 1 }]);
  stdin.write('not json\n');
  stdin.write('"last"\n');
  await until(() => received.length === 3, 5_000, 'the message after a line that is not JSON');
  assert.deepEqual(received.at(-1), 'last');
  assert.match(problems.join('\n'), /not JSON/);
});
