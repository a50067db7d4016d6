// Readiness probes: one HTTP GET or one TCP connect, bounded in time; true when the service answered.
import { connect } from 'node:net';
import { request } from 'node:http';

// True when GET `url` answers with a 2xx or 3xx status within `timeoutMs`.
export function probeHttp(url: string, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(url, { method: 'GET', timeout: timeoutMs, agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode !== undefined && res.statusCode >= 200 && res.statusCode < 400);
    });
    req.on('timeout', () => { req.destroy(); });
    req.on('error', () => { resolve(false); });
    req.end();
  });
}

// True when a TCP connection to host:port opens within `timeoutMs`.
export function probeTcp(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: timeoutMs });
    socket.once('connect', () => { socket.destroy(); resolve(true); });
    socket.once('timeout', () => { socket.destroy(); resolve(false); });
    socket.once('error', () => { resolve(false); });
  });
}
