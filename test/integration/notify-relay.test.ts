// `tend run` under a Type=notify service: a child's sd_notify messages reach "systemd" (here a test socket) from
// tend's own pid, whatever language the child uses.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, describe, it } from 'node:test';
import { native, type DgramMessage } from '../../src/os/native.js';
import { killAll, shellCode, startTend } from '../helpers/tend.js';

afterEach(killAll);
const dir = mkdtempSync(join(tmpdir(), 'tend-relay-'));
after(() => { rmSync(dir, { recursive: true, force: true }); });

function fakeSystemd(name: string): { path: string; messages: DgramMessage[]; next(pattern: RegExp, timeoutMs?: number): Promise<DgramMessage>; close(): void } {
  const path = join(dir, name);
  const fd = native.dgramBind(path);
  const messages: DgramMessage[] = [];
  const waiters = new Set<() => void>();
  const watcher = native.dgramWatch(fd, (m) => { messages.push(m); for (const w of [...waiters]) w(); });
  return {
    path,
    messages,
    next(pattern, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const check = (): boolean => {
          const found = messages.find((m) => pattern.test(m.data.toString()));
          if (found === undefined) return false;
          waiters.delete(check); clearTimeout(timer); resolve(found); return true;
        };
        const timer = setTimeout(() => { waiters.delete(check); reject(new Error(`no datagram matching ${String(pattern)}; got ${JSON.stringify(messages.map((m) => m.data.toString()))}`)); }, timeoutMs);
        if (!check()) waiters.add(check);
      });
    },
    close() { watcher.close(); native.closeFd(fd); },
  };
}

describe('tend run relays sd_notify to systemd', () => {
  it('from a python3 child using only the socket module, as tend\'s pid, without MAINPID', { timeout: 20_000 }, async () => {
    const sd = fakeSystemd('py.sock');
    const script = "import os,socket,time\ns=socket.socket(socket.AF_UNIX,socket.SOCK_DGRAM)\ns.sendto(b'READY=1\\nSTATUS=py up\\nMAINPID=1', os.environ['NOTIFY_SOCKET'])\ntime.sleep(30)";
    const t = startTend(['run', '--', 'python3', '-c', script], { env: { ...process.env, NOTIFY_SOCKET: sd.path } });
    const m = await sd.next(/READY=1/);
    assert.equal(m.pid, t.pid, 'sent by tend itself (systemd accepts only its main pid)');
    assert.equal(m.data.toString(), 'READY=1\nSTATUS=py up\n');
    process.kill(t.pid, 'SIGTERM');
    assert.equal(shellCode(await t.exited()), 143);
    sd.close();
  });

  it('from a shell script using systemd-notify --ready (returns promptly)', { timeout: 20_000 }, async () => {
    const sd = fakeSystemd('sh.sock');
    const t = startTend(['run', '--', 'sh', '-c', 'systemd-notify --ready --status="sh up" && echo notified && exec sleep 30'], { env: { ...process.env, NOTIFY_SOCKET: sd.path } });
    await sd.next(/READY=1/);
    await t.waitFor(/notified/, 5_000);
    process.kill(t.pid, 'SIGTERM');
    await t.exited();
    sd.close();
  });

  it('from a Node child writing to TEND_NOTIFY_FD with fs.writeSync (no native build in the app)', { timeout: 20_000 }, async () => {
    const sd = fakeSystemd('node.sock');
    const t = startTend(['run', '--', 'node', '-e', "require('fs').writeSync(Number(process.env.TEND_NOTIFY_FD), 'READY=1\\nSTATUS=node up\\n'); setTimeout(() => {}, 30000)"],
      { env: { ...process.env, NOTIFY_SOCKET: sd.path } });
    const m = await sd.next(/STATUS=node up/);
    assert.equal(m.pid, t.pid);
    process.kill(t.pid, 'SIGTERM');
    await t.exited();
    sd.close();
  });
});
