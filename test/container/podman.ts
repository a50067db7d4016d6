// Container test harness: runs rootful podman (scripts/container-setup.sh) with images built from this machine's own
// files, labels everything it creates with one run id and removes it all again. No registry, no network.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from '../helpers/tend.js';

/** The label on every container, pod and image one test run creates; cleanup() removes by it. */
export const runId = `tend-test-${process.pid}-${Date.now().toString(36)}`;
export const label = `tend-test.run=${runId}`;
/** Where base root filesystems and the npm cache persist across runs (gitignored). */
export const cacheDir = path.join(repoRoot, '.cache', 'containers');

export interface Result { code: number | null; out: string; err: string; ms: number }

// Runs a program to completion, bounded in time (killed with SIGKILL at the deadline), collecting its output.
export function exec(file: string, args: readonly string[], options: { timeoutMs?: number; cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Result> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    execFile(file, args, { timeout: options.timeoutMs ?? 60_000, killSignal: 'SIGKILL', maxBuffer: 64 << 20, cwd: options.cwd ?? repoRoot, env: options.env ?? process.env }, (error, out, err) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : null;
      resolve({ code, out, err, ms: performance.now() - t0 });
    });
  });
}

/** podman with its log noise kept to errors. */
export const podman = (args: readonly string[], timeoutMs = 60_000): Promise<Result> => exec('podman', ['--log-level=error', ...args], { timeoutMs });

// podman, failing the test with podman's own message when it does not exit 0.
export async function mustPodman(args: readonly string[], timeoutMs = 60_000): Promise<string> {
  const r = await podman(args, timeoutMs);
  if (r.code !== 0) throw new Error(`podman ${args.join(' ')} exited ${r.code}: ${r.err.trim() || r.out.trim()}`);
  return r.out;
}

// Why the container tests cannot run here, or null when rootful podman works.
export async function skipReason(): Promise<string | null> {
  if (os.platform() !== 'linux') return 'containers need Linux';
  if (process.getuid?.() !== 0) return 'rootful podman needs root';
  const info = await exec('podman', ['info', '--format', '{{.Host.OCIRuntime.Name}}'], { timeoutMs: 30_000 });
  if (info.code === null && info.err === '') return 'podman not installed: run scripts/container-setup.sh as root';
  if (info.code !== 0) return `podman info failed (${info.err.trim().split('\n')[0] ?? ''}): run scripts/container-setup.sh as root`;
  if (!fs.existsSync('/bin/busybox')) return '/bin/busybox missing: run scripts/container-setup.sh as root (busybox-static)';
  return null;
}

// A root filesystem tar from test/container/rootfs.sh, built once per input (the script, node, npm) and cached.
async function rootfsTar(kind: 'node' | 'musl'): Promise<string> {
  const script = path.join(repoRoot, 'test', 'container', 'rootfs.sh');
  const key = createHash('sha256').update(fs.readFileSync(script)).update(kind === 'node' ? `${process.version} ${fs.realpathSync(process.execPath)}` : '').digest('hex').slice(0, 12);
  const tar = path.join(cacheDir, `rootfs-${kind}-${key}.tar`);
  if (fs.existsSync(tar)) return tar;
  fs.mkdirSync(cacheDir, { recursive: true });
  for (const old of fs.readdirSync(cacheDir)) if (old.startsWith(`rootfs-${kind}-`)) fs.rmSync(path.join(cacheDir, old), { force: true });
  const r = await exec('bash', [script, kind, tar], { timeoutMs: 120_000, env: { ...process.env, NODE_BIN: process.execPath } });
  if (r.code !== 0) throw new Error(`rootfs.sh ${kind} failed: ${r.err.trim()}`);
  return tar;
}

const images: string[] = [];

/** Imports a cached root filesystem as a labelled image: the node one stands in for node:20-slim (no registry here). */
export async function baseImage(kind: 'node' | 'musl'): Promise<string> {
  const tar = await rootfsTar(kind);
  const image = `localhost/tend-test-${kind}:${runId}`;
  images.push(image);
  const changes = ['ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', `LABEL ${label}`, kind === 'node' ? 'CMD ["node"]' : 'CMD ["sh"]'];
  await mustPodman(['import', '--quiet', ...changes.flatMap((c) => ['--change', c]), tar, image], 120_000);
  return image;
}

/** Remembers an image a test built so cleanup() removes it. */
export function track(image: string): string {
  images.push(image);
  return image;
}

/** Fills an npm cache with the package's runtime dependencies (exact versions from package-lock.json), once. */
export async function npmCache(): Promise<string> {
  const dir = path.join(cacheDir, 'npm-cache');
  const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
  const lock = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version?: string }> };
  const specs = Object.keys(pkg.dependencies ?? {}).map((name) => `${name}@${lock.packages[`node_modules/${name}`]?.version ?? 'latest'}`);
  const stamp = path.join(dir, `.filled-${createHash('sha256').update(specs.join(' ')).digest('hex').slice(0, 12)}`);
  if (fs.existsSync(stamp)) return dir;
  const r = await exec('npm', ['cache', 'add', ...specs, '--cache', dir], { timeoutMs: 120_000 });
  if (r.code !== 0) throw new Error(`npm cache add ${specs.join(' ')} failed (the npm registry is needed once to fill ${dir}): ${r.err.trim().split('\n').slice(-2).join(' ')}`);
  fs.writeFileSync(stamp, '');
  return dir;
}

/** Polls a container's log until it matches, within a deadline; the log is returned for later checks. */
export async function waitLog(container: string, pattern: RegExp, timeoutMs = 20_000): Promise<string> {
  const deadline = performance.now() + timeoutMs;
  let text = '';
  for (;;) {
    const r = await podman(['logs', container], 10_000);
    text = r.out + r.err;
    if (pattern.test(text)) return text;
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${pattern} in ${container}'s log:\n${text}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

// Whether the test process that made a run id still lives (ids are tend-test-<pid>-<time>).
function runAlive(id: string): boolean {
  const pid = Number(/^tend-test-(\d+)-/.exec(id)?.[1] ?? NaN);
  if (!Number.isInteger(pid)) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Removes what an earlier run left behind when it was killed before its cleanup (its process is gone). */
export async function sweepStale(): Promise<void> {
  const stale = async (kind: 'pod' | 'container' | 'image'): Promise<string[]> => {
    const args = kind === 'pod' ? ['pod', 'ps', '--format', '{{.ID}} {{.Labels}}'] : kind === 'container' ? ['ps', '-a', '--format', '{{.ID}} {{.Labels}}'] : ['images', '--format', '{{.ID}} {{.Labels}}'];
    const out = (await podman([...args, '--filter', 'label=tend-test.run'])).out;
    return out.split('\n').filter((line) => { const id = /tend-test\.run:(\S+?)[\s\]]/.exec(line)?.[1]; return id !== undefined && !runAlive(id); }).map((line) => line.split(' ')[0] ?? '');
  };
  const pods = await stale('pod');
  if (pods.length > 0) await podman(['pod', 'rm', '-f', ...pods]);
  const containers = await stale('container');
  if (containers.length > 0) await podman(['rm', '-f', ...containers]);
  const images = await stale('image');
  if (images.length > 0) await podman(['rmi', '-f', ...new Set(images)]);
}

/** Removes every pod, container and image this run labelled or built. */
export async function cleanup(): Promise<void> {
  const pods = (await podman(['pod', 'ps', '-q', '--filter', `label=${label}`])).out.split('\n').filter(Boolean);
  if (pods.length > 0) await podman(['pod', 'rm', '-f', ...pods]);
  const containers = (await podman(['ps', '-a', '-q', '--filter', `label=${label}`])).out.split('\n').filter(Boolean);
  if (containers.length > 0) await podman(['rm', '-f', ...containers]);
  for (const image of images.splice(0).reverse()) await podman(['rmi', '-f', image]);
  // intermediate build stages left by podman build (unnamed, labelled through the base image)
  const dangling = (await podman(['images', '-q', '--filter', `label=${label}`])).out.split('\n').filter(Boolean);
  if (dangling.length > 0) await podman(['rmi', '-f', ...new Set(dangling)]);
}
