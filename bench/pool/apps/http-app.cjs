// The benchmark's app: an ordinary HTTP server with no drain logic and no knowledge of any supervisor (a bench
// copy of test/fixtures/http-app.js). It listens on $PORT; HANDLER_MS delays each response (default 20; 0 answers
// synchronously); BUILD_FILE names a file holding "good" or "crash" (what a deploy put on disk; read at boot).
'use strict';
const http = require('node:http');
const fs = require('node:fs');

const build = process.env.BUILD_FILE ? fs.readFileSync(process.env.BUILD_FILE, 'utf8').trim() : 'good';
if (build === 'crash') {
  console.error('boot: cannot find module ./config (simulated bad build)');
  process.exit(1);
}
const handlerMs = Number(process.env.HANDLER_MS ?? 20);
const body = JSON.stringify({ pid: process.pid, build });
const answer = (res) => {
  res.setHeader('Content-Type', 'application/json');
  res.end(body);
};
const server = http.createServer(handlerMs > 0 ? (req, res) => { setTimeout(answer, handlerMs, res); } : (req, res) => { answer(res); });
server.listen(Number(process.env.PORT ?? 3000), () => { console.log(`app ${process.pid} listening`); });
