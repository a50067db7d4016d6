// A naive node:cluster primary, the baseline most apps start from: fork WORKERS (default 2) copies of
// http-app.cjs, fork a new one when one dies, stop them all on SIGTERM/SIGINT. Node's default scheduling on Linux
// is round-robin: this primary accepts every connection and passes it to a worker.
'use strict';
const cluster = require('node:cluster');
const path = require('node:path');

const count = Number(process.env.WORKERS ?? 2);
cluster.setupPrimary({ exec: path.join(__dirname, 'http-app.cjs') });
let stopping = false;
let listening = 0;
cluster.on('listening', () => {
  listening += 1;
  if (listening === count) console.log(`primary ${process.pid}: ${count} workers listening`);
});
cluster.on('exit', () => {
  if (!stopping) cluster.fork();
  else if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
});
const stop = () => {
  if (stopping) return;
  stopping = true;
  for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGTERM');
  setTimeout(() => { process.exit(0); }, 5000).unref();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
for (let i = 0; i < count; i++) cluster.fork();
