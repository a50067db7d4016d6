/* eslint-disable @typescript-eslint/no-require-imports -- a .cts file under verbatimModuleSyntax imports with require */
// The preload's only output: lines on stderr prefixed "tend-preload:". Synchronous writes to fd 2, so nothing is
// initialised at load time (no process.stderr stream) and a process about to exit still gets its last line out.
import fs = require('node:fs');
import contract = require('../contract/env.cjs');

const debugEnabled = /^(1|true|yes)$/i.test(process.env[contract.ENV.preloadDebug] ?? '');
const said = new Set<string>();

function write(line: string): void {
  try {
    fs.writeSync(2, line);
  } catch {
    // stderr is closed or full: there is nowhere left to report to, and the app must not notice.
  }
}

/** A problem the operator should see, printed once per key however often it happens. */
function warnOnce(key: string, message: string): void {
  if (said.has(key)) return;
  said.add(key);
  write(`tend-preload: ${message}\n`);
}

/** Verbose tracing, only with TEND_PRELOAD_DEBUG=1. */
function debug(message: string): void {
  if (debugEnabled) write(`tend-preload: [${process.pid}] ${message}\n`);
}

/** A thrown value as one short line. */
function describe(e: unknown): string {
  if (e instanceof Error) {
    const code = (e as Error & { code?: unknown }).code;
    return typeof code === 'string' ? `${code}: ${e.message}` : e.message;
  }
  return String(e);
}

export = { warnOnce, debug, describe, debugEnabled };
