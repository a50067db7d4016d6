// The example app run by examples/docker/Dockerfile under tend: an HTTP server that shuts down on SIGTERM the way
// a real service should (stop accepting, finish what is in flight, exit), and says so in its log.
//   PORT (8080)              where to listen; under `tend run --listen`, tend owns the socket and this call uses it
//   SHUTDOWN_EXIT_CODE (0)   the code to exit with after a graceful shutdown (tend passes it on as its own)
import http from 'node:http';

const port = Number(process.env.PORT ?? 8080);
const worker = process.env.TEND_WORKER_INDEX ?? '-';
const log = (message) => process.stdout.write(`app[${process.pid} worker ${worker}]: ${message}\n`);

const server = http.createServer((req, res) => {
  res.setHeader('content-type', 'application/json');
  res.end(`${JSON.stringify({ pid: process.pid, worker, path: req.url })}\n`);
});
server.listen(port, () => log(`listening on ${port}`));

process.once('SIGTERM', () => {
  log('SIGTERM: closing the server');
  const code = Number(process.env.SHUTDOWN_EXIT_CODE ?? 0);
  server.close(() => {
    log(`shutdown complete, exit ${code}`);
    process.exit(code);
  });
  server.closeIdleConnections();
});
