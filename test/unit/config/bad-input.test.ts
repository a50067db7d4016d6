// Bad config input ends in a one-line TendError with a documented exit code: never a hang, a stack trace or a huge read.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parseCli } from '../../../src/cli/parse-args.js';
import { MAX_CONFIG_BYTES, MAX_CONFIG_DEPTH, checkTextBounds, readConfigText } from '../../../src/config/read-config.js';
import { TendError } from '../../../src/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'tend-bad-'));
after(() => { rmSync(dir, { recursive: true, force: true }); });

const fails = (exitCode: number, pattern: RegExp) => (error: unknown) =>
  error instanceof TendError && error.exitCode === exitCode && pattern.test(error.message) && !error.message.includes('\n');

function run(argv: readonly string[], files?: Record<string, string>): unknown {
  return parseCli(['run', ...argv], files === undefined ? undefined : (p) => files[p] ?? '');
}

describe('reading a config file', () => {
  it('refuses a FIFO without blocking on it', (t) => {
    const fifo = join(dir, 'fifo.yaml');
    const made = spawnSync('mkfifo', [fifo]);
    if (made.status !== 0) { t.skip('mkfifo is not available here'); return; }
    const started = performance.now();
    assert.throws(() => run(['--config', fifo]), fails(78, /: it is a FIFO; give a regular file/));
    assert.ok(performance.now() - started < 1000, 'did not wait for a writer');
  });
  it('refuses /dev/zero, a directory and a file over the size cap', () => {
    assert.throws(() => run(['--config', '/dev/zero']), fails(78, /unknown format/));
    assert.throws(() => readConfigText('/dev/zero'), fails(78, /"\/dev\/zero": it is a character device; give a regular file/));
    const sub = join(dir, 'conf.d.yaml');
    mkdirSync(sub);
    assert.throws(() => run(['--config', sub]), fails(78, /EISDIR; give a file, not a directory|it is a directory/));
    const big = join(dir, 'big.yaml');
    writeFileSync(big, `# ${'x'.repeat(MAX_CONFIG_BYTES)}\n`);
    assert.throws(() => run(['--config', big]), fails(78, /more than 1048576; split it or trim it/));
    assert.throws(() => run(['--config', '']), fails(64, /--config "": the path is empty/));
  });
  it('refuses deep nesting in JSON and YAML, flow and block', () => {
    const deepJson = `{"command": ${'['.repeat(100_000)}${']'.repeat(100_000)}}`;
    assert.throws(() => run(['--config', 'd.json'], { 'd.json': deepJson }), fails(78, /nested more than 32 levels deep; flatten it/));
    assert.throws(() => run(['--config', 'd.yaml'], { 'd.yaml': `command: ${'['.repeat(5000)}` }), fails(78, /nested more than/));
    let block = '';
    for (let i = 0; i <= MAX_CONFIG_DEPTH; i++) block += `${' '.repeat(i)}k${i}:\n`;
    assert.throws(() => run(['--config', 'b.yaml'], { 'b.yaml': block }), fails(78, /nested more than/));
    // A realistic nesting passes the bound.
    assert.doesNotThrow(() => { checkTextBounds('ok.yaml', 'services:\n  web:\n    env:\n      A: "x: [y"\n    command: [a, "b, c"]\n'); });
  });
  it('rejects 40,000 keys fast', () => {
    let yaml = '';
    for (let i = 0; i < 40_000; i++) yaml += `k${i}: ${i}\n`;
    const json = JSON.stringify(Object.fromEntries(Array.from({ length: 40_000 }, (_, i) => [`k${i}`, i])));
    for (const [name, text] of [['many.yaml', yaml], ['many.json', json], ['flow.yaml', `{${yaml.replaceAll('\n', ', ')}}`]] as const) {
      // Once untimed, so the bound measures the check and not the first compilation of the scanner.
      assert.throws(() => run(['--config', name], { [name]: text }), fails(78, /more than 10000/));
      const started = performance.now();
      assert.throws(() => run(['--config', name], { [name]: text }), fails(78, /more than 10000 keys, items or lines/));
      const ms = performance.now() - started;
      assert.ok(ms < 200, `${name}: rejected in ${ms.toFixed(0)} ms`);
    }
  });
  it('bad values: an empty command, control path, zero durations and sizes, a nameless abstract socket', () => {
    assert.throws(() => run(['--config', 'c.json'], { 'c.json': '{"command": [""]}' }), fails(64, /c\.json: key "command": .*the command is empty/));
    assert.throws(() => run(['--config', 'c.yaml'], { 'c.yaml': 'command: ""\n' }), fails(64, /the command line is empty|the command is empty/));
    assert.throws(() => run(['--config', 'n.json'], { 'n.json': '{"command": ["a\\u0000b"]}' }), fails(64, /NUL byte/));
    assert.throws(() => run(['--control', '', '--', 'x']), fails(64, /--control "": the path is empty/));
    assert.throws(() => run(['--ready-timeout', '0s', '--', 'x']), fails(64, /must be longer than zero/));
    assert.throws(() => run(['-w', '1', '--watchdog', '0s', '--', 'x']), fails(64, /must be longer than zero/));
    assert.throws(() => run(['-w', '1', '--max-memory', '0', '--', 'x']), fails(64, /must be more than zero bytes/));
    assert.throws(() => run(['-w', '1', '--max-memory', '99999999999T', '--', 'x']), fails(64, /is too large/));
    assert.throws(() => run(['--listen', 'unix:@', '--', 'x']), fails(64, /the socket has no name/));
    assert.throws(() => run(['--config', 'e.yaml'], { 'e.yaml': 'env: { "A=B": x }\ncommand: x\n' }), fails(64, /is not a variable name/));
    assert.throws(() => run(['--config', 's.yaml'], { 's.yaml': '"just a string"\n' }), fails(64, /not a map of settings/));
  });
  it('--liveness: each bad value names the flag (or the file, service and key) and the fix', () => {
    const w = (...argv: string[]): unknown => run(['-w', '3', ...argv, '--', 'node', 'app.js']);
    assert.throws(() => w('--liveness', 'http://x/healthz'), fails(64, /^--liveness "http:\/\/x\/healthz": a liveness probe goes to each worker's private socket, not to an address; write only the path, e\.g\. http:\/healthz$/));
    assert.throws(() => w('--liveness', 'http:healthz'), fails(64, /^--liveness "http:healthz": the path must start with \/ .*; write e\.g\. http:\/healthz$/));
    assert.throws(() => w('--liveness', 'udp'), fails(64, /^--liveness "udp": unknown liveness probe; use http:\/healthz .*tcp, or exec:CMD/));
    assert.throws(() => w('--liveness', 'exec:'), fails(64, /^--liveness "exec:": the command line is empty/));
    assert.throws(() => w('--liveness', 'exec:curl -f x || exit 1'), fails(64, /write --liveness "exec:sh -c 'curl -f x \|\| exit 1'"/));
    assert.throws(() => w('--liveness', 'tcp', '--liveness-interval', '0s'), fails(64, /^--liveness-interval "0s": must be longer than zero/));
    assert.throws(() => w('--liveness', 'tcp', '--liveness-failures', '0'), fails(64, /^--liveness-failures "0": expected a whole number from 1 to 1000/));
    assert.throws(() => w('--liveness', 'tcp', '--liveness-interval', '1s', '--liveness-timeout', '2s'),
      fails(64, /^--liveness-timeout: 2s is longer than the liveness interval 1s; make --liveness-timeout at most --liveness-interval$/));
    const follows = w('--liveness', 'tcp', '--liveness-interval', '500ms') as { spec: { services: { liveness?: { timeoutMs: number } }[] } };
    assert.equal(follows.spec.services[0]?.liveness?.timeoutMs, 500, 'the default timeout follows a shorter interval');
    assert.throws(() => w('--liveness-interval', '1s'), fails(64, /^--liveness-interval: only applies with a liveness probe; add --liveness/));
    assert.throws(() => w('--liveness', 'http:/healthz', '--no-preload'), fails(64, /^--liveness: http: reaches each worker through the private socket .*; remove --no-preload, or use --liveness exec:CMD$/));
    assert.throws(() => run(['--liveness', 'tcp', '--', 'x']), fails(64, /^--liveness: only applies to a service that restarts/));
    assert.throws(() => run(['--config', 't.yaml'], { 't.yaml': 'services:\n  web:\n    command: node app.js\n    workers: 3\n    liveness: "http:healthz"\n' }),
      fails(64, /t\.yaml: services\.web: key "liveness": --liveness "http:healthz": the path must start with \//));
  });
  it('--metrics-workers without --health-listen is refused (there would be no /metrics to serve them on)', () => {
    assert.throws(() => run(['-w', '2', '--metrics-workers', '/metrics', '--', 'node', 'app.js']),
      fails(64, /^--metrics-workers: the workers' metrics are served on tend's \/metrics, which needs --health-listen; add --health-listen 127\.0\.0\.1:9000/));
    assert.throws(() => run(['--config', 'm.yaml'], { 'm.yaml': 'services:\n  web:\n    command: node app.js\n    workers: 2\n    metrics-workers: /metrics\n' }),
      fails(64, /^m\.yaml: services\.web\.metrics-workers: .*needs --health-listen/));
    const ok = run(['-w', '2', '--metrics-workers', '/metrics', '--health-listen', '127.0.0.1:9000', '--', 'node', 'app.js']);
    assert.ok(typeof ok === 'object' && ok !== null && (ok as { kind: string }).kind === 'run');
  });
  it('--liveness per service in a services map', () => {
    const cmd = run(['--config', 'l.yaml'], { 'l.yaml': 'services:\n  web:\n    command: node app.js\n    workers: 3\n    liveness: exec:./check.sh --quick\n    liveness-interval: 5s\n  jobs:\n    command: node jobs.js\n' });
    assert.ok(typeof cmd === 'object' && cmd !== null && 'spec' in cmd);
    const services = (cmd as { spec: { services: readonly { name: string; liveness?: unknown }[] } }).spec.services;
    assert.deepEqual(services.find((s) => s.name === 'web')?.liveness, { probe: { kind: 'exec', argv: ['./check.sh', '--quick'] }, intervalMs: 5_000, timeoutMs: 2_000, failures: 3 });
    assert.equal(services.find((s) => s.name === 'jobs')?.liveness, undefined);
  });
});
