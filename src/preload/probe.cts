/* eslint-disable @typescript-eslint/no-require-imports -- a .cts file under verbatimModuleSyntax imports with require */
// The worker's private probe socket (TEND_PROBE_SOCKET): once the app's server listens on a socket tend handed it, the
// same server also takes connections on a unix socket only this worker listens on, so tend's liveness probe (GET
// PATH, or a connect) and its --metrics-workers scrape reach this worker and its own request handler, not whichever
// worker the shared socket picks. Which server: the first on a declared --listen socket (the service's address), else
// the first on a socket tend opened on demand. The socket is unref'd (it never keeps the process alive) and closes
// with that server (closing removes its path).
import fs = require('node:fs');
import net = require('node:net');
import log = require('./log.cjs');

/** Returns the hook for a server that started listening on tend's socket (`declared`: a --listen socket). */
function install(path: string): (server: net.Server, declared: boolean) => void {
  // Node's own listen, taken before listen.cts wraps it: this socket is the worker's alone, never one tend opens on
  // demand and keeps (that copy would accept for a worker that stopped serving), and it is no listening report.
  // eslint-disable-next-line @typescript-eslint/unbound-method -- applied to the probe server with Reflect.apply
  const listen = net.Server.prototype.listen;
  let current: { readonly server: net.Server; readonly declared: boolean; readonly probe: net.Server } | null = null;
  return (server, declared) => {
    if (current !== null && (current.declared || !declared)) return;
    if (current !== null) {
      // A server on the service's own address wins over one on an extra address opened earlier.
      current.probe.close();
      current = null;
    }
    try {
      fs.rmSync(path, { force: true });
      const probe = net.createServer((socket) => { server.emit('connection', socket); });
      probe.on('error', (e) => { log.warnOnce('probe-socket', `private probe socket ${path}: ${log.describe(e)}; tend cannot probe this worker`); });
      Reflect.apply(listen, probe, [path]);
      probe.unref();
      current = { server, declared, probe };
      // Closing removes the path; tend, having seen it, then counts its probes as failed: the worker stopped serving.
      server.once('close', () => { probe.close(); });
      log.debug(`private probe socket ${path} serves the server on ${JSON.stringify(server.address())}`);
    } catch (e) {
      log.warnOnce('probe-socket', `private probe socket ${path}: ${log.describe(e)}; tend cannot probe this worker`);
    }
  };
}

export = { install };
