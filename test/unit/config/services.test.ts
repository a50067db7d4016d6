// Config files with several services: a tend services map, a Procfile and a PM2 ecosystem file, read from real files.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parseCli } from '../../../src/cli/parse-args.js';
import { PM2_IGNORED } from '../../../src/config/ecosystem.js';
import type { ServiceSpec, TendSpec } from '../../../src/config/spec.js';
import { TendError } from '../../../src/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'tend-config-'));
after(() => { rmSync(dir, { recursive: true, force: true }); });

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

function load(path: string, ...flags: string[]): { spec: TendSpec; warnings: readonly string[] } {
  const result = parseCli(['run', '--config', path, ...flags]);
  if (result.kind !== 'run') throw new Error(`expected run, got ${result.kind}`);
  return result;
}

const usage = (pattern: RegExp) => (error: unknown) => error instanceof TendError && error.exitCode === 64 && pattern.test(error.message);
const byName = (spec: TendSpec, name: string): ServiceSpec => spec.services.find((s) => s.name === name) ?? assert.fail(`no service ${name}`);

describe('a services: map', () => {
  it('loads the issue\'s example exactly', () => {
    const path = file('tend.yaml', [
      'services:',
      '  migrate: { command: node migrate.js, type: oneshot }',
      '  web:     { command: node server.js, workers: 2, listen: tcp://127.0.0.1:3000, depends-on: [migrate] }',
      '  jobs:    { command: node worker.js, depends-on: [web], stop: "TSTP:10s,TERM:25s", max-restarts: 5 }',
      '',
    ].join('\n'));
    const { spec, warnings } = load(path);
    assert.deepEqual(warnings, []);
    assert.deepEqual(spec.services.map((s) => s.name), ['migrate', 'web', 'jobs']);
    const pick = (s: ServiceSpec) => ({ command: s.command, type: s.type, pool: s.pool, workers: s.workers, restart: s.restart, dependsOn: s.dependsOn, canDie: s.canDie });
    assert.deepEqual(pick(byName(spec, 'migrate')), { command: ['node', 'migrate.js'], type: 'oneshot', pool: false, workers: 1, restart: 'never', dependsOn: [], canDie: false });
    assert.deepEqual(pick(byName(spec, 'web')), { command: ['node', 'server.js'], type: 'simple', pool: true, workers: 2, restart: 'always', dependsOn: ['migrate'], canDie: false });
    assert.deepEqual(byName(spec, 'web').listen, [{ kind: 'tcp', host: '127.0.0.1', port: 3000, name: 'tcp' }]);
    assert.deepEqual(pick(byName(spec, 'jobs')), { command: ['node', 'worker.js'], type: 'simple', pool: false, workers: 1, restart: 'always', dependsOn: ['web'], canDie: false });
    assert.deepEqual(byName(spec, 'jobs').stop, [{ signal: 'SIGTSTP', timeoutMs: 10_000 }, { signal: 'SIGTERM', timeoutMs: 25_000 }]);
    assert.equal(byName(spec, 'jobs').backoff.maxRestarts, 5);
    assert.deepEqual(spec.source, { kind: 'file', path, format: 'tend' });
  });
  it('takes env, cwd (relative to the file), list commands, can-die, restart and process keys at the top', () => {
    const path = file('full.yaml', [
      'verbose: true', 'control: /run/t.ctl', 'subreaper: false', 'event-log: /tmp/ev.jsonl',
      'services:',
      '  api:',
      '    command: [node, "server.js", 8080]',
      '    env: { PORT: 8080, DEBUG: true, NAME: api }',
      '    cwd: app',
      '    can-die: true',
      '    restart: on-failure',
      '  cron: sh -c "sleep 60"',
    ].join('\n'));
    const { spec } = load(path, '--control', '/run/other.ctl');
    assert.deepEqual([spec.verbose, spec.control, spec.subreaper, spec.eventLog], [true, '/run/other.ctl', false, '/tmp/ev.jsonl']);
    const api = byName(spec, 'api');
    assert.deepEqual(api.command, ['node', 'server.js', '8080']);
    assert.deepEqual(api.env, { PORT: '8080', DEBUG: 'true', NAME: 'api' });
    assert.equal(api.cwd, join(dir, 'app'));
    assert.deepEqual([api.canDie, api.restart], [true, 'on-failure']);
    assert.deepEqual(byName(spec, 'cron').command, ['sh', '-c', 'sleep 60']);
  });
  it('refuses bad graphs and misplaced keys, naming the file, service and key', () => {
    const bad = (name: string, body: string, pattern: RegExp): void => { assert.throws(() => load(file(name, body)), usage(pattern)); };
    bad('dep.yaml', 'services:\n  web: { command: x, depends-on: [mgirate] }\n  migrate: { command: y, type: oneshot }\n',
      /dep\.yaml: services\.web: depends-on "mgirate" is not a service here; the services are: web, migrate/);
    bad('cycle.yaml', 'services:\n  a: { command: x, depends-on: [b] }\n  b: { command: x, depends-on: [c] }\n  c: { command: x, depends-on: [a] }\n',
      /cycle\.yaml: depends-on has a cycle: a → b → c → a; remove one/);
    bad('self.yaml', 'services:\n  a: { command: x, depends-on: [a] }\n', /a cycle: a → a/);
    bad('listen.yaml', 'services:\n  a: { command: x, listen: "tcp://0.0.0.0:3000" }\n  b: { command: y, listen: "tcp://127.0.0.1:3000" }\n',
      /listen tcp:\/\/127\.0\.0\.1:3000 is given to services "a" and "b"/);
    bad('unix.yaml', 'services:\n  a: { command: x, listen: ["unix:/run/a.sock", "unix:/run/a.sock"] }\n', /given to service "a" twice/);
    bad('oneshot.yaml', 'services:\n  m: { command: x, type: oneshot, workers: 2 }\n', /oneshot\.yaml: services\.m: key "workers": a oneshot runs once, not as 2 workers/);
    bad('always.yaml', 'services:\n  m: { command: x, type: oneshot, restart: always }\n', /key "restart": a oneshot is done when it exits 0/);
    bad('proc.yaml', 'services:\n  web: { command: x, verbose: true }\n',
      /proc\.yaml: services\.web: key "verbose" belongs to tend itself, not to one service; move it to the top level/);
    bad('top.yaml', 'stop: TERM:1s\nservices:\n  web: { command: x }\n', /top\.yaml: key "stop" is a per-service setting, and the file has a services: map; move it into each service/);
    bad('nocmd.yaml', 'services:\n  web: { workers: 2 }\n', /services\.web: no command/);
    bad('empty.yaml', 'services:\n  web: { command: [""] }\n', /services\.web: key "command": .*the command is empty/);
    bad('name.yaml', 'services:\n  "9web": { command: x }\n', /services\.9web: .*not a valid service name/);
    bad('value.yaml', 'services:\n  web: { command: x, stop: TERM:10 }\n', /value\.yaml: services\.web: key "stop": --stop "TERM:10": duration "10" has no unit/);
    bad('unknown.yaml', 'services:\n  web: { command: x, wrokers: 2 }\n', /unknown\.yaml: services\.web: unknown key "wrokers"/);
    bad('surge.yaml', 'services:\n  web: { command: x, reload-surge: 2 }\n', /services\.web: key "reload-surge": only applies to a worker pool; add workers: N/);
    bad('restarts.yaml', 'services:\n  m: { command: x, type: oneshot, max-restarts: 2 }\n', /services\.m: key "max-restarts": only applies to a service that restarts/);
  });
  it('per-service flags and a command are refused next to a services map', () => {
    const path = file('two.yaml', 'services:\n  a: x\n  b: y\n');
    assert.throws(() => load(path, '--stop', 'TERM:1s'), usage(/^--stop: a per-service setting, and .*two\.yaml has a services: map; set stop: under each service/));
    assert.throws(() => load(path, '--', 'node', 'x.js'), usage(/has a services: map, so it names the commands; remove the command after --/));
    assert.equal(load(path, '-v').spec.verbose, true);
  });
});

describe('a Procfile', () => {
  it('loads name: command lines as services that restart', () => {
    const path = file('Procfile', '# comment\nweb: node server.js --port $PORT\n\nworker:   bundle exec sidekiq -q default\nrelease: ./migrate && echo done\nnot a line\n');
    const { spec, warnings } = load(path);
    assert.deepEqual(spec.services.map((s) => [s.name, s.command, s.restart, s.type]), [
      ['web', ['/bin/sh', '-c', 'node server.js --port $PORT'], 'always', 'simple'],
      ['worker', ['bundle', 'exec', 'sidekiq', '-q', 'default'], 'always', 'simple'],
      ['release', ['/bin/sh', '-c', './migrate && echo done'], 'always', 'simple'],
    ]);
    assert.deepEqual(warnings, [`${path}:6: skipped: not a "name: command" line`]);
    assert.equal(spec.source.kind === 'file' ? spec.source.format : null, 'procfile');
    assert.equal(load(file('Procfile.dev', 'web: node a.js\n')).spec.services.length, 1);
    assert.throws(() => load(file('Procfile.dup', 'web: a\nweb: b\n')), usage(/Procfile\.dup:2: process name "web" appears twice/));
    assert.throws(() => load(file('Procfile.none', '# nothing\n')), usage(/no process lines/));
    assert.throws(() => load(path, '--workers', '2'), usage(/--workers: a per-service setting, and .* is a Procfile; write a tend\.yaml/));
  });
});

describe('a PM2 ecosystem file', () => {
  const apps = JSON.stringify([
    { name: 'api', script: 'server.js', args: '--port 3000', instances: 2, exec_mode: 'cluster', node_args: ['--max-old-space-size=256'],
      cwd: 'srv', env: { NODE_ENV: 'production', PORT: 3000 }, max_memory_restart: '300M', kill_timeout: 5000, wait_ready: true,
      listen_timeout: 8000, max_restarts: 4, min_uptime: 2000, exp_backoff_restart_delay: 100, watch: true, out_file: '/var/log/x',
      env_production: { A: '1' }, frobnicate: 1 },
    { script: 'worker.py', restart_delay: 3000, kill_signal: 'SIGTERM' },
    { name: 'bin', script: './bin/tool', interpreter: 'none', args: ['a b', 'c'], autorestart: false, instances: 'max', exec_mode: 'fork' },
  ]);
  function check(spec: TendSpec, warnings: readonly string[], path: string): void {
    assert.deepEqual(spec.services.map((s) => s.name), ['api', 'worker', 'bin']);
    const api = byName(spec, 'api');
    assert.deepEqual(api.command, ['node', '--max-old-space-size=256', 'server.js', '--port', '3000']);
    assert.deepEqual([api.pool, api.workers, api.restart], [true, 2, 'always']);
    assert.equal(api.cwd, join(dir, 'srv'));
    assert.deepEqual(api.env, { NODE_ENV: 'production', PORT: '3000' });
    assert.equal(api.guards.maxRssBytes, 300 * 1024 ** 2);
    assert.deepEqual(api.stop, [{ signal: 'SIGINT', timeoutMs: 5000 }]);
    assert.deepEqual([api.ready, api.readyTimeoutMs], [{ kind: 'notify' }, 8000]);
    assert.deepEqual(api.backoff, { initialDelayMs: 100, maxDelayMs: 15_000, stableAfterMs: 2000, maxRestarts: 4, onCrashLoop: 'exit' });
    const worker = byName(spec, 'worker');
    assert.deepEqual(worker.command, ['python3', 'worker.py']);
    assert.deepEqual([worker.pool, worker.backoff.initialDelayMs, worker.backoff.maxDelayMs], [false, 3000, 3000]);
    assert.deepEqual(worker.stop, [{ signal: 'SIGTERM', timeoutMs: 1600 }]);
    const bin = byName(spec, 'bin');
    assert.deepEqual(bin.command, ['./bin/tool', 'a b', 'c']);
    assert.deepEqual([bin.restart, bin.pool, bin.workers], ['never', availableParallelism() > 1, availableParallelism()]);
    const ignored = warnings.filter((w) => w.includes(' ignored: '));
    assert.deepEqual(ignored.map((w) => /key "([^"]+)" ignored/.exec(w)?.[1]).sort(), ['env_production', 'frobnicate', 'out_file', 'watch']);
    assert.ok(ignored.every((w) => w.startsWith(`${path}: app "api": key "`)));
    assert.ok(ignored.some((w) => w.endsWith(`key "watch" ignored: ${PM2_IGNORED['watch'] ?? ''}`)));
    assert.ok(warnings.some((w) => /app "api": wait_ready means READY=1 here/.test(w)));
  }
  it('loads ecosystem.config.js (CommonJS), .mjs (ES module) and .json alike', () => {
    for (const [name, text] of [
      ['ecosystem.config.js', `module.exports = { apps: ${apps} };\n`],
      ['ecosystem.config.mjs', `export default { apps: ${apps} };\n`],
      ['ecosystem.json', `{ "apps": ${apps} }`],
    ] as const) {
      const path = file(name, text);
      const major = Number(process.versions.node.split('.')[0]);
      const minor = Number(process.versions.node.split('.')[1]);
      if (name.endsWith('.mjs') && major === 20 && minor < 19) continue;
      const { spec, warnings } = load(path);
      assert.equal(spec.source.kind === 'file' ? spec.source.format : null, 'ecosystem');
      check(spec, warnings, path);
    }
  });
  it('refuses what it cannot map, naming the app and key', () => {
    const eco = (name: string, body: string) => file(name, `module.exports = ${body};\n`);
    assert.throws(() => load(eco('e1.config.js', '{ apps: [{ name: "a" }] }')), usage(/apps\[0\]: key "script" must be/));
    assert.throws(() => load(eco('e2.config.js', '{ apps: [{ script: "a.js", instances: "lots" }] }')), usage(/app "a": key "instances": "lots" is not a count/));
    assert.throws(() => load(eco('e3.config.js', '{ apps: [{ script: "a.js", max_memory_restart: "big" }] }')), usage(/app "a": key "max_memory_restart": --max-memory "big": not a size/));
    assert.throws(() => load(eco('e4.config.js', '{ apps: [{ script: "a.js" }, { script: "b/a.js" }] }')), usage(/two apps are named "a"/));
    assert.throws(() => load(eco('e5.config.js', '{ nope: 1 }')), usage(/no "apps" list/));
    assert.throws(() => load(eco('e6.config.js', '{ apps: [{ script: "a.js", kill_signal: "SIGNOPE" }] }')), usage(/key "kill_signal": "SIGNOPE" is not a signal/));
    assert.throws(() => load(eco('e7.config.js', '(() => { throw new Error("boom"); })()')), (e: unknown) => e instanceof TendError && e.exitCode === 78 && /boom; fix the file/.test(e.message));
    assert.throws(() => load(eco('e8.config.js', '{ get apps() { throw new Error("getter"); } }')), (e: unknown) => e instanceof TendError && e.exitCode === 78 && /getter/.test(e.message));
    const cyclic = eco('e9.config.js', '(() => { const a = { script: "a.js" }; a.self = a; return { apps: [a] }; })()');
    assert.throws(() => load(cyclic), (e: unknown) => e instanceof TendError && e.exitCode === 78 && /nested more than/.test(e.message));
  });
});
