/* eslint-disable @typescript-eslint/no-require-imports -- a .cts file under verbatimModuleSyntax imports with require */
// The worker's private probe socket (TEND_PROBE_SOCKET): once the app's server listens on a socket tend handed it, the
// same server also takes connections on a unix socket only this worker listens on, so tend's liveness probe (GET
// PATH, or a connect) reaches this worker and its own request handler, not whichever worker the shared socket picks.
// The socket is unref'd (it never keeps the process alive), closes with the app's server, and is removed on close.
import fs = require('node:fs');
import net = require('node:net');
import log = require('./log.cjs');

/** Returns the hook for a server that started listening on tend's socket: the first one gets the private socket. */
function install(path: string): (server: net.Server) => void {
  let served: net.Server | null = null;
  return (server) => {
    if (served !== null) return;
    served = server;
    try {
      fs.rmSync(path, { force: true });
      const probe = net.createServer((socket) => { server.emit('connection', socket); });
      probe.on('error', (e) => { log.warnOnce('probe-socket', `private probe socket ${path}: ${log.describe(e)}; tend cannot probe this worker`); });
      probe.listen(path);
      probe.unref();
      server.once('close', () => {
        probe.close();
        fs.rmSync(path, { force: true });
      });
      log.debug(`private probe socket ${path} serves the server on ${JSON.stringify(server.address())}`);
    } catch (e) {
      log.warnOnce('probe-socket', `private probe socket ${path}: ${log.describe(e)}; tend cannot probe this worker`);
    }
  };
}

export = { install };
