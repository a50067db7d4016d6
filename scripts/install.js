#!/usr/bin/env node
// npm's install hook. An installed package (no src/) uses its prebuilt addon and launcher when both run on this
// machine, so no compiler is needed; otherwise, and always in a dev checkout, it compiles them with node-gyp.
// When neither works it says in one line what to install. In an installed package the launcher that fits also
// becomes bin/tend itself (native/launcher.c), so a start runs no shell, readlink or uname before Node.
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;

// The prebuilt pair for this machine, if the addon loads in this Node and a launcher runs (it exits 64 for usage):
// the static one first, wherever it runs.
async function fittingPrebuilt() {
  const loader = join(root, 'dist/src/os/native-loader.js');
  if (!existsSync(loader)) return null;
  const { detectLibc, loadAddon, prebuiltAddon, launcherCandidates } = await import(loader);
  const libc = detectLibc();
  const launcher = launcherCandidates(root, process.arch, libc)
    .find((file) => existsSync(file) && spawnSync(file, [], { stdio: 'ignore', timeout: 10_000 }).status === 64);
  if (launcher === undefined) return null;
  try {
    return { addon: loadAddon([prebuiltAddon(root, process.arch, libc)], root).path, launcher };
  } catch {
    return null;
  }
}

// Put `launcher` in place of the bin/tend script (atomically; on any failure the script stays, and works).
function launcherAsCommand(launcher) {
  const bin = join(root, 'bin', 'tend');
  const tmp = `${bin}.${process.pid}.tmp`;
  try {
    copyFileSync(launcher, tmp);
    chmodSync(tmp, 0o755);
    renameSync(tmp, bin);
  } catch {
    rmSync(tmp, { force: true });
  }
}

function nodeGypRebuild() {
  // npm points npm_config_node_gyp at the node-gyp it bundles; outside npm, node-gyp from PATH.
  const gyp = process.env.npm_config_node_gyp;
  const [file, args] = gyp ? [process.execPath, [gyp, 'rebuild']] : ['node-gyp', ['rebuild']];
  const result = spawnSync(file, args, { cwd: root, stdio: 'inherit' });
  return result.status === 0;
}

if (!existsSync(join(root, 'src'))) {
  const prebuilt = await fittingPrebuilt();
  if (prebuilt !== null) {
    launcherAsCommand(prebuilt.launcher);
    process.stdout.write(`tend: using the prebuilt native parts in ${prebuilt.addon.slice(root.length).replace(/\/[^/]*$/, '')} (no compiler needed)\n`);
    process.exit(0);
  }
}
if (nodeGypRebuild()) {
  if (!existsSync(join(root, 'src'))) launcherAsCommand(join(root, 'build', 'Release', 'tend-launcher'));
  process.exit(0);
}
process.stderr.write(`tend: native build missing: no prebuilt fits linux-${process.arch} here and compiling failed; install a C compiler, make and python3 (Debian: apt-get install g++ make python3; Alpine: apk add build-base python3), then run npm install again\n`);
process.exit(1);
