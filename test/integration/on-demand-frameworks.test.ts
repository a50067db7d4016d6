// Every framework's own listen() path, and every Node version's side of the IPC wire format, under a real pool:
// Express, Fastify, Koa, an ES module, a tsx app and an npm start app each serve from every worker with no failed
// request over 3 rolling reloads under light load, with and without --listen.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, describe, it } from 'node:test';
import { loadUntil } from '../helpers/http.js';
import { distinctPids, freePort, readEvents, reload, waitEvent, withOutput } from '../helpers/pool.js';
import { fixture, killAll, repoRoot, shellCode, startTend } from '../helpers/tend.js';

afterEach(killAll);
const dir = mkdtempSync(join(tmpdir(), 'tend-frameworks-'));
after(() => { rmSync(dir, { recursive: true, force: true }); });
let n = 0;
const scratch = (name: string): string => join(dir, `${n++}-${name}`);
const frameworks = fixture('frameworks');
const haveFrameworks = existsSync(join(frameworks, 'node_modules', 'tsx'));

describe('the IPC wire format on every supported Node', () => {
  const versions: { major: string; bin: string | null }[] = [
    { major: process.versions.node.split('.')[0]!, bin: process.execPath },
    ...['22', '24'].filter((m) => m !== process.versions.node.split('.')[0]).map((major) => {
      const bin = join(repoRoot, '.cache', 'node-versions', major, 'node_modules', '.bin', 'node');
      return { major, bin: existsSync(bin) ? bin : null };
    }),
  ];
  for (const v of versions) {
    it(`Node ${v.major}: a worker gets its socket over IPC and process.send('ready') is readiness`, { timeout: 40_000 }, async (t) => {
      if (v.bin === null) { t.skip(`Node ${v.major} is not installed: npm run test:node-versions installs it under .cache/`); return; }
      const port = await freePort();
      const events = scratch('events');
      const tend = startTend(['run', '--workers', '2', '--ready', 'notify', '--event-log', events, '--', v.bin, fixture('ipc-app.js')], { env: { ...process.env, PORT: String(port) } });
      const ok = JSON.parse((await tend.waitFor(/IPC_OK (\{.*\})/, 20_000))[1]!) as Record<string, unknown>;
      assert.deepEqual(ok, { node: v.major, connected: true, port });
      // --ready notify: only the worker's process.send('ready') can have made the service ready.
      await withOutput(tend, waitEvent(events, (e) => e.type === 'service-ready', 20_000, 'both workers ready by process.send(\'ready\')'));
      assert.equal((await withOutput(tend, distinctPids(port, 2, 20_000))).size, 2);
      process.kill(tend.pid, 'SIGTERM');
      assert.equal(shellCode(await tend.exited(15_000)), 0);
    });
  }
});

describe('frameworks: every worker serves, 0 failed requests over 3 reloads, with and without --listen', () => {
  const apps: { name: string; argv: string[] }[] = [
    { name: 'Express', argv: ['node', 'express-app.js'] },
    { name: 'Fastify', argv: ['node', 'fastify-app.js'] },
    { name: 'Koa', argv: ['node', 'koa-app.js'] },
    { name: 'an ES module', argv: ['node', 'esm-app.mjs'] },
    { name: 'a tsx app', argv: ['node', '--import', 'tsx', 'tsx-app.ts'] },
    { name: 'an npm start app', argv: ['npm', 'start'] },
  ];
  for (const app of apps) {
    for (const declared of [false, true]) {
      it(`${app.name}, ${declared ? 'with' : 'without'} --listen`, { timeout: 90_000 }, async (t) => {
        if (!haveFrameworks) { t.skip('test/fixtures/frameworks has no node_modules: run npm install there'); return; }
        const events = scratch('events');
        const control = scratch('ctl.sock');
        const port = await freePort();
        const listen = declared ? ['--listen', `tcp://127.0.0.1:${port}`] : [];
        const tend = startTend(['run', '--workers', '2', '--reload-surge', '2', ...listen, '--control', control, '--event-log', events, '--', ...app.argv],
          { cwd: frameworks, env: { ...process.env, PORT: String(port) } });
        await withOutput(tend, waitEvent(events, (e) => e.type === 'service-ready', 40_000, 'the pool ready'));
        await withOutput(tend, distinctPids(port, 2, 40_000));
        let stop!: () => void;
        const stopped = new Promise<void>((resolve) => { stop = resolve; });
        const load = loadUntil(port, 2, stopped);
        const codes: number[] = [];
        for (let i = 0; i < 3; i++) codes.push(await reload(control));
        const last = await withOutput(tend, distinctPids(port, 2, 40_000, '3'));
        stop();
        const result = await load;
        assert.deepEqual(codes, [0, 0, 0]);
        assert.deepEqual({ errors: result.errors, kinds: result.errorKinds }, { errors: 0, kinds: {} });
        assert.ok(result.ok > 0);
        const ready = readEvents(events).filter((e) => e.type === 'ready' && e['generation'] === 3).map((e) => e['pid']);
        assert.equal(ready.length, 2);
        assert.equal(last.size, 2);
        process.kill(tend.pid, 'SIGTERM');
        assert.equal(shellCode(await tend.exited(15_000)), 0);
      });
    }
  }
});
