/* eslint-disable @typescript-eslint/no-require-imports -- a .cts file under verbatimModuleSyntax imports with require */
// tend's worker preload, injected as NODE_OPTIONS="--require …/dist/src/preload/preload.cjs" so that ordinary apps
// need no code changes:
//   - listen(3000) / listen('/run/app.sock') use the socket tend already listens on (inherited fd, systemd style);
//   - any other listen(port) / listen(path) gets a socket tend opens once for the whole service (over the Node IPC
//     channel this process claims from TEND_IPC_FD, which also gives the app process.send);
//   - every server that starts listening is reported to tend (TEND_LISTENING=… on TEND_NOTIFY_FD);
//   - SIGTERM/SIGINT drain http/https servers gracefully (WebSockets closed with 1001/1012, spread out), then exit 0
//     unless the app handles the signal itself; tend's stop notices drive the app's onStop hooks and holds (stop.cts).
// See docs/drain.md. Loading must be cheap and must never throw: on any surprise the preload logs one
// "tend-preload:" line and stays out of the way.
import env = require('./env.cjs');
import log = require('./log.cjs');

const LOADED = Symbol.for('tend.preload.loaded');

function main(): void {
  const marks = process as unknown as Record<symbol, unknown>;
  if (marks[LOADED] === true) return; // required twice (NODE_OPTIONS and the app): patch once
  marks[LOADED] = true;

  const result = env.readConfig(process.env, process.pid);
  if (!result.active) {
    log.debug(`inactive: ${result.reason}`);
    return;
  }
  for (const problem of result.problems) log.warnOnce(problem, problem);
  const { config } = result;
  log.debug(`active: ${config.entries.map((e) => `${e.fd}=${e.address.text}`).join(',') || 'no inherited sockets'}` +
    `, notify fd ${config.notifyFd ?? 'none'}, drain idle ${config.drainIdleMs} ms`);

  // Loaded only when active, so a process that inherited NODE_OPTIONS but not the environment pays nothing more.
  const ipcModule = require('./ipc.cjs') as typeof import('./ipc.cjs');
  let ipc = null;
  if (ipcModule.isLauncher(process.argv[1])) {
    log.debug(`launcher ${process.argv[1] ?? ''}: tend's fds go on to the processes it starts`);
    (require('./launcher.cjs') as typeof import('./launcher.cjs')).passOn(process.env);
  } else {
    ipc = ipcModule.claim(config.ipcFd);
  }
  const hub = (require('./stop.cjs') as typeof import('./stop.cjs')).install(config.notifyFd, ipc !== null);
  const drain = (require('./drain.cjs') as typeof import('./drain.cjs'))
    .install({ drainIdleMs: config.drainIdleMs, drainSpreadMs: config.drainSpreadMs, hub });
  // Before listen.cjs wraps net.Server.prototype.listen: the probe socket uses Node's own.
  const probe = config.probeSocket === null ? undefined : (require('./probe.cjs') as typeof import('./probe.cjs')).install(config.probeSocket);
  (require('./listen.cjs') as typeof import('./listen.cjs')).install(config, drain, ipc, probe);
}

try {
  main();
} catch (e) {
  log.warnOnce('load', `disabled after an unexpected error at load: ${log.describe(e)}`);
}
