// examples/docker/Dockerfile and examples/kubernetes/deployment.yaml in a real container engine (rootful podman): the
// image is built from `npm pack`'s tarball on a node:20-slim stand-in made from this machine's files; `podman stop`
// ends in the app's own graceful shutdown with its exit code, a pool of 2 serves over the container's loopback, and
// the Deployment runs under `podman kube play` and stops gracefully with `podman kube down`.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import { repoRoot } from '../helpers/tend.js';
import { baseImage, cleanup, exec, label, mustPodman, npmCache, podman, runId, skipReason, sweepStale, track, waitLog } from './podman.js';

const T = { timeout: 240_000 };
const TEND = '/app/node_modules/.bin/tend';
let skip: string | null = null;
let image = '';
let tmp = '';

// Builds examples/docker/Dockerfile as a user would, with the base image and npm's cache swapped for local ones.
async function buildExample(): Promise<string> {
  const arch = os.arch();
  const prebuilt = await exec(process.execPath, ['scripts/build-prebuilt.js', '--only', `${arch}-glibc,${arch}-musl`], { timeoutMs: 120_000 });
  assert.equal(prebuilt.code, 0, `build:prebuilt failed:\n${prebuilt.err}`);
  const context = path.join(tmp, 'context');
  fs.cpSync(path.join(repoRoot, 'examples', 'docker'), context, { recursive: true });
  // dist/ is compiled by the test run already; --ignore-scripts keeps pack from rebuilding all four prebuilds.
  const pack = await exec('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', context], { timeoutMs: 60_000 });
  assert.equal(pack.code, 0, pack.err);
  const [base, cache] = await Promise.all([baseImage('node'), npmCache()]);
  const tag = track(`localhost/tend-example:${runId}`);
  const build = await podman(['build', '--pull=never', '--layers=false', '--network', 'none', '--label', label, '-v', `${cache}:/root/.npm`,
    '--build-arg', `NODE_IMAGE=${base}`, '--build-arg', 'NPM_CONFIG_OFFLINE=true', '-t', tag, context], 180_000);
  assert.equal(build.code, 0, `podman build failed:\n${build.out}\n${build.err}`);
  return tag;
}

before(async () => {
  skip = await skipReason();
  if (skip !== null) return;
  await sweepStale();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tend-container-'));
  try {
    await npmCache();
  } catch (error) {
    skip = (error as Error).message;
    return;
  }
  image = await buildExample();
}, T);

after(async () => {
  if (skip === null) await cleanup();
  if (tmp !== '') fs.rmSync(tmp, { recursive: true, force: true });
}, T);

// A container of the example image, labelled for cleanup.
async function run(name: string, args: string[]): Promise<string> {
  const container = `${runId}-${name}`;
  await mustPodman(['run', '-d', '--name', container, '--label', label, ...args]);
  return container;
}

async function state(container: string): Promise<{ ExitCode: number; OOMKilled: boolean; Status: string }> {
  return JSON.parse(await mustPodman(['inspect', '--format', '{{json .State}}', container])) as { ExitCode: number; OOMKilled: boolean; Status: string };
}

// podman stop with a timeout; a stop that needed SIGKILL warns on podman's stderr (at the default log level) and takes
// the whole timeout.
async function stop(container: string, seconds: number): Promise<{ ms: number; err: string }> {
  const r = await exec('podman', ['stop', '-t', String(seconds), container], { timeoutMs: (seconds + 20) * 1000 });
  assert.equal(r.code, 0, r.err);
  return { ms: r.ms, err: r.err };
}

describe('examples/docker/Dockerfile', () => {
  test('the final stage has tend and node but no compiler, make or python3', T, async (t) => {
    if (skip !== null) { t.skip(skip); return; }
    const probe = 'for p in cc gcc g++ make python3 node; do command -v $p >/dev/null && echo "has $p"; done; ls /app/node_modules/tend/prebuilds/linux-*/; test -e /app/node_modules/tend/build && echo "has build/"; true';
    const r = await podman(['run', '--rm', '--label', label, '--entrypoint', 'sh', image, '-c', probe]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /has node/);
    assert.doesNotMatch(r.out, /has (cc|gcc|g\+\+|make|python3)|has build\//, r.out);
    assert.match(r.out, /tend-launcher\.glibc/);
  });

  test('podman stop: tend is PID 1, the app shuts down gracefully and its exit code is the container\'s', T, async (t) => {
    if (skip !== null) { t.skip(skip); return; }
    const c = await run('single', ['-e', 'SHUTDOWN_EXIT_CODE=3', image]);
    await waitLog(c, /listening on 8080/);
    const ps = await mustPodman(['exec', c, 'ps', '-o', 'pid,ppid,user,args']);
    assert.match(ps, /^\s*1\s+0\s+node\s+node --preserve-symlinks-main \S+\/dist\/bundle\/entry\.cjs run -- node server\.mjs$/m, ps);
    assert.match(ps, /^\s*\d+\s+1\s+node\s+node server\.mjs$/m, ps);
    const reply = await mustPodman(['exec', c, 'curl', '-fsS', 'http://127.0.0.1:8080/hello']);
    assert.match(reply, /"path":"\/hello"/);
    const { ms, err } = await stop(c, 10);
    const log = (await podman(['logs', c])).out;
    assert.match(log, /SIGTERM: closing the server\n.*shutdown complete, exit 3/, log);
    const s = await state(c);
    assert.deepEqual([s.Status, s.ExitCode, s.OOMKilled], ['exited', 3, false]);
    assert.doesNotMatch(err, /SIGKILL/, err);
    assert.ok(ms < 8000, `podman stop took ${ms.toFixed(0)} ms: the stop timeout (10 s) nearly ran out`);
  });

  test('a pool of 2 (--workers 2 --listen): both workers serve over the container loopback, and both drain on podman stop', T, async (t) => {
    if (skip !== null) { t.skip(skip); return; }
    const c = await run('pool', ['--entrypoint', JSON.stringify([TEND, 'run', '--workers', '2', '--listen', 'tcp://127.0.0.1:8080', '--']), image, 'node', 'server.mjs']);
    await waitLog(c, /worker 0\]: listening[\s\S]*worker 1\]: listening|worker 1\]: listening[\s\S]*worker 0\]: listening/);
    // new connections until both workers have answered (the shared socket hands them to whichever accepts first)
    const client = 'const seen = {}; for (let i = 0; i < 200 && Object.keys(seen).length < 2; i++) {'
      + ' const r = await fetch("http://127.0.0.1:8080/", { headers: { connection: "close" } }); const j = await r.json(); seen[j.worker] = (seen[j.worker] ?? 0) + 1; }'
      + ' console.log(JSON.stringify(seen));';
    const out = await mustPodman(['exec', c, 'node', '--input-type=module', '-e', client]);
    assert.deepEqual(Object.keys(JSON.parse(out) as Record<string, number>).sort(), ['0', '1'], out);
    const { ms, err } = await stop(c, 10);
    const log = (await podman(['logs', c])).out;
    for (const w of ['0', '1']) assert.match(log, new RegExp(`worker ${w}\\]: shutdown complete, exit 0`), log);
    const s = await state(c);
    assert.deepEqual([s.ExitCode, s.OOMKilled], [0, false]);
    assert.doesNotMatch(err, /SIGKILL/, err);
    assert.ok(ms < 8000, `podman stop took ${ms.toFixed(0)} ms`);
  });
});

// Which of the manifest's tend flags this tend accepts (a flag from a newer tend exits 64 naming it).

interface Container { name: string; command: string[]; args?: string[]; image: string; imagePullPolicy?: string; ports?: unknown; livenessProbe?: unknown; readinessProbe?: unknown; lifecycle?: unknown }
interface Deployment { metadata: { name: string; labels?: Record<string, string> }; spec: { replicas: number; template: { metadata: { labels: Record<string, string> }; spec: { terminationGracePeriodSeconds: number; containers: Container[] } } } }

const seconds = (d: string): number => Number(/^(\d+)s$/.exec(d)?.[1] ?? NaN);

describe('examples/kubernetes/deployment.yaml', () => {
  const manifest = parse(fs.readFileSync(path.join(repoRoot, 'examples', 'kubernetes', 'deployment.yaml'), 'utf8')) as Deployment;
  const [app] = manifest.spec.template.spec.containers;
  const flagValue = (flag: string): string => { const i = app?.command.indexOf(flag) ?? -1; return i < 0 ? '' : app?.command[i + 1] ?? ''; };

  test('terminationGracePeriodSeconds is tend\'s --grace, and there is no preStop hook', () => {
    assert.ok(app !== undefined);
    assert.equal(manifest.spec.template.spec.terminationGracePeriodSeconds, seconds(flagValue('--grace')));
    assert.equal(app.lifecycle, undefined);
    assert.equal(app.command.at(-1), '--');
  });

  test('podman kube play runs it with tend as PID 1; the probes pass; podman pod stop stops it gracefully, kube down removes it', T, async (t) => {
    if (skip !== null) { t.skip(skip); return; }
    assert.ok(app !== undefined);
    // The manifest as podman 4.3 can play it: the local image, one replica, no ports (--network none refuses port
    // mappings). Its tend flags are played as written: a budget that does not fit would stop the pod at start.
    manifest.metadata.name = runId;
    manifest.metadata.labels = { ...manifest.metadata.labels, 'tend-test.run': runId };
    manifest.spec.replicas = 1;
    manifest.spec.template.metadata.labels['tend-test.run'] = runId;
    Object.assign(app, { image, imagePullPolicy: 'Never' });
    delete app.ports;
    const file = path.join(tmp, 'deployment.yaml');
    fs.writeFileSync(file, stringify(manifest));
    const pauseBefore = (await podman(['images', '-q', '--filter', 'reference=localhost/podman-pause'])).out.trim();
    try {
      await mustPodman(['kube', 'play', '--network', 'none', file]);
      const c = `${runId}-pod-0-${app.name}`;
      await waitLog(c, /worker 0\]: listening[\s\S]*worker 1\]: listening|worker 1\]: listening[\s\S]*worker 0\]: listening/);
      const ps = await mustPodman(['exec', c, 'ps', '-o', 'pid,args']);
      assert.match(ps, /^\s*1\s+node --preserve-symlinks-main \S+\/dist\/bundle\/entry\.cjs run /m, ps);
      await t.test('the liveness probe (/livez) and /readyz answer', async () => {
        // podman turns livenessProbe.httpGet into a health check (curl inside the container); readinessProbe it ignores
        const live = await podman(['healthcheck', 'run', c]);
        assert.equal(live.code, 0, `liveness probe on /livez failed: ${live.out}${live.err}`);
        await mustPodman(['exec', c, 'curl', '-fsS', 'http://127.0.0.1:9000/readyz']);
      });
      // What the kubelet does: SIGTERM, then SIGKILL after terminationGracePeriodSeconds. podman 4.3's kube down
      // SIGKILLs at once (exit 137, seen in podman events), so the pod is stopped first and removed after.
      const grace = manifest.spec.template.spec.terminationGracePeriodSeconds;
      const stop = await podman(['pod', 'stop', '-t', String(grace), `${runId}-pod-0`], (grace + 20) * 1000);
      assert.equal(stop.code, 0, stop.err);
      const log = (await podman(['logs', c])).out;
      for (const w of ['0', '1']) assert.match(log, new RegExp(`worker ${w}\\]: shutdown complete, exit 0`), log);
      const s = await state(c);
      assert.deepEqual([s.ExitCode, s.OOMKilled], [0, false]);
      assert.ok(stop.ms < 8000 + seconds(flagValue('--stop-delay')) * 1000, `pod stop took ${stop.ms.toFixed(0)} ms`);
      const down = await podman(['kube', 'down', file], 60_000);
      assert.equal(down.code, 0, down.err);
      assert.equal((await podman(['pod', 'exists', `${runId}-pod-0`])).code, 1, 'kube down left the pod behind');
    } finally {
      await podman(['kube', 'down', file], 60_000);
      const pause = (await podman(['images', '-q', '--filter', 'reference=localhost/podman-pause'])).out.trim();
      if (pauseBefore === '' && pause !== '') await podman(['rmi', '-f', ...new Set(pause.split('\n'))]);
    }
  });
});
