// parseCli: flags alone make one service "main"; scope checks; control commands; errors name the flag and the fix.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseCli, plainRunJson, plainRunSpec, PLAIN_RUN_COMMAND, type CliCommand } from '../../../src/cli/parse-args.js';
import { DEFAULT_READY_TIMEOUT_MS, DEFAULT_RESTART } from '../../../src/config/pool-config.js';
import { DEFAULT_STOP } from '../../../src/config/run-config.js';
import type { ServiceSpec, TendSpec } from '../../../src/config/spec.js';
import { TendError } from '../../../src/errors.js';

const usage = (pattern: RegExp) => (error: unknown) => error instanceof TendError && error.exitCode === 64 && pattern.test(error.message);

function run(argv: readonly string[], files: Record<string, string> = {}): { spec: TendSpec; warnings: readonly string[] } {
  const result: CliCommand = parseCli(['run', ...argv], (path) => {
    const text = files[path];
    if (text === undefined) throw Object.assign(new Error('no such file'), { code: 'ENOENT' });
    return text;
  });
  assert.ok(result.kind === 'run', `expected run, got ${result.kind}`);
  return result;
}

function only(spec: TendSpec): ServiceSpec {
  assert.equal(spec.services.length, 1);
  return spec.services[0]!;
}

describe('tend run with flags only', () => {
  it('makes one service "main" with the single-command defaults', () => {
    const { spec, warnings } = run(['--', 'node', 'server.js']);
    assert.deepEqual(warnings, []);
    assert.deepEqual({ ...spec, services: [] }, { services: [], subreaper: true, verbose: false, control: null, controlGroup: null, eventLog: null, logPrefix: null, logFormat: 'text', logMaxLine: 65536, healthListen: null, stopDelayMs: 0, graceMs: null, source: { kind: 'flags' } });
    const main = only(spec);
    assert.deepEqual(main.command, ['node', 'server.js']);
    assert.equal(main.name, 'main');
    assert.equal(main.pool, false);
    assert.equal(main.workers, 1);
    assert.equal(main.restart, 'never');
    assert.equal(main.type, 'simple');
    assert.equal(main.canDie, false);
    assert.deepEqual([main.dependsOn, main.env, main.cwd], [[], {}, null]);
    assert.deepEqual(main.stop, DEFAULT_STOP);
    assert.equal(main.readyTimeoutMs, DEFAULT_READY_TIMEOUT_MS);
    assert.deepEqual(main.backoff, DEFAULT_RESTART);
  });
  it('a pool restarts always; --restart overrides', () => {
    const pool = only(run(['-w', '3', '--listen', 'tcp://127.0.0.1:3000', '--', 'node', 'a.js']).spec);
    assert.deepEqual([pool.pool, pool.workers, pool.restart, pool.listen.length], [true, 3, 'always', 1]);
    assert.equal(only(run(['--workers', '2', '--restart', 'on-failure', '--', 'x']).spec).restart, 'on-failure');
    assert.equal(only(run(['--restart', 'always', '--', 'x']).spec).restart, 'always');
    assert.throws(() => run(['--restart', 'sometimes', '--', 'x']), usage(/--restart "sometimes": unknown restart mode; use always, on-failure or never/));
  });
  it('every per-service flag reaches the spec', () => {
    const s = only(run(['--workers', '2', '--stop', 'TSTP:1s,TERM:2s', '--signal-scope', 'child', '--remap-exit', '143:0', '--before', 'node m.js',
      '--limit', 'nofile=100', '--limit', 'nofile=200', '--user', 'app:staff', '--socket-strategy', 'reuseport', '--ready', 'notify',
      '--ready-timeout', '5s', '--restart-delay', '0ms', '--restart-max-delay', '1s', '--stable-after', '2s', '--max-restarts', '3',
      '--on-crash-loop', 'retry', '--reload-surge', '2', '--max-memory', '1G', '--max-cpu', '90', '--guard-window', '3s',
      '--watchdog', '4s', '--no-preload', '--', 'node', 'a.js']).spec);
    assert.deepEqual(s.stop, [{ signal: 'SIGTSTP', timeoutMs: 1000 }, { signal: 'SIGTERM', timeoutMs: 2000 }]);
    assert.equal(s.signalScope, 'child');
    assert.deepEqual([...s.remapExit], [[143, 0]]);
    assert.deepEqual(s.before, [['node', 'm.js']]);
    assert.deepEqual(s.limits, [{ name: 'nofile', soft: 200, hard: 200 }]);
    assert.deepEqual(s.user, { user: 'app', group: 'staff' });
    assert.equal(s.socketStrategy, 'reuseport');
    assert.deepEqual(s.ready, { kind: 'notify' });
    assert.equal(s.readyTimeoutMs, 5000);
    assert.deepEqual(s.backoff, { initialDelayMs: 0, maxDelayMs: 1000, stableAfterMs: 2000, maxRestarts: 3, onCrashLoop: 'retry' });
    assert.equal(s.reloadSurge, 2);
    assert.deepEqual([s.guards.maxRssBytes, s.guards.maxCpuPercent, s.guards.windowMs], [1024 ** 3, 90, 3000]);
    assert.equal(s.watchdogMs, 4000);
    assert.equal(s.preload, false);
  });
  it('process flags set tend itself', () => {
    const { spec } = run(['-v', '--no-subreaper', '--control', '/run/a.ctl', '--event-log', '/tmp/e.jsonl', '--', 'x']);
    assert.deepEqual([spec.verbose, spec.subreaper, spec.control, spec.eventLog], [true, false, '/run/a.ctl', '/tmp/e.jsonl']);
  });
  it('settings that need a pool or restarts say so, with the fix', () => {
    assert.throws(() => run(['--reload-surge', '2', '--', 'x']), usage(/^--reload-surge: only applies to a worker pool; add --workers N/));
    assert.throws(() => run(['--max-memory', '1G', '--', 'x']), usage(/^--max-memory: only applies to a service that restarts; add --restart on-failure or always/));
    assert.throws(() => run(['--workers', '2', '--reload-surge', '3', '--', 'x']), usage(/--reload-surge: is more than the 2 workers; use at most --reload-surge 2/));
    assert.throws(() => run(['-w', '1', '--restart-delay', '2s', '--restart-max-delay', '1s', '--', 'x']), usage(/--restart-max-delay: is shorter than restart-delay/));
    // A guard replaces the process, so a single command that restarts may have one.
    assert.equal(only(run(['--restart', 'always', '--max-memory', '1G', '--', 'x']).spec).guards.maxRssBytes, 1024 ** 3);
    // Listening and readiness mean something for one process too.
    assert.equal(only(run(['--listen', 'tcp://127.0.0.1:1', '--ready', 'listen', '--', 'x']).spec).listen.length, 1);
  });
  it('refuses bad values with a one-line error', () => {
    assert.throws(() => run(['--ready-timeout', '0s', '--', 'x']), usage(/--ready-timeout "0s": must be longer than zero/));
    assert.throws(() => run(['--watchdog', '0s', '-w', '1', '--', 'x']), usage(/--watchdog "0s": must be longer than zero/));
    assert.throws(() => run(['--max-memory', '0', '-w', '1', '--', 'x']), usage(/--max-memory "0": must be more than zero bytes/));
    assert.throws(() => run(['--listen', 'unix:@', '--', 'x']), usage(/--listen "unix:@": the socket has no name/));
    assert.throws(() => run(['--control', '', '--', 'x']), usage(/--control "": the path is empty/));
    assert.throws(() => run(['--control', `/tmp/${'x'.repeat(120)}`, '--', 'x']), usage(/longer than 107 bytes/));
    assert.throws(() => run(['--event-log', '', '--', 'x']), usage(/--event-log "": the path is empty/));
    assert.throws(() => run(['--', '']), usage(/the command after -- is an empty word/));
    assert.throws(() => run([]), usage(/no command given/));
    assert.throws(() => run(['--frobnicate', '--', 'x']), usage(/unknown option --frobnicate/));
    assert.throws(() => run(['--env', 'A=1', '--', 'x']), usage(/unknown option --env \(env is a config-file key, not a flag\)/));
    assert.throws(() => run(['--stop']), usage(/--stop needs a value/));
    // The flag as written (not "-w,"), and a switch given a value says so.
    assert.throws(() => run(['-w']), usage(/^tend run: -w needs a value; see tend run --help$/));
    assert.throws(() => run(['--stop', '-x', '--', 'x']), usage(/^tend run: --stop needs a value; "-x" looks like an option \(write --stop=-VALUE/));
    assert.throws(() => run(['--verbose=1', '--', 'x']), usage(/^tend run: --verbose takes no value, got "1"; write --verbose alone/));
  });
  it('--help is rendered from the table', () => {
    const help = parseCli(['run', '--help']);
    assert.ok(help.kind === 'help');
    assert.match(help.text, /--event-log PATH/);
  });
});

describe('tend run with no option: the spec the bundle holds', () => {
  // scripts/bundle.js puts plainRunJson() in the bundle, which starts `tend run -- CMD` from it without the parser.
  const json = plainRunJson();

  it('is exactly what the parser makes, for any command, with or without "--"', () => {
    for (const command of [['true'], ['node', 'app.js', '--port', '3000'], ['sh', '-c', 'exit 3'], ['-v'], ['a b', '', 'ü']]) {
      const parsed = parseCli(['run', '--', ...command]);
      assert.ok(parsed.kind === 'run');
      assert.deepStrictEqual(plainRunSpec(json, command), parsed.spec, command.join(' '));
      if (!command[0]?.startsWith('-')) assert.deepStrictEqual(parseCli(['run', ...command]), parsed);
    }
  });

  it('names the command only where the command goes', () => {
    assert.equal(json.split(JSON.stringify(PLAIN_RUN_COMMAND)).length, 2, json);
  });
});

describe('tend reload / status', () => {
  it('take --control and an optional SERVICE', () => {
    assert.deepEqual(parseCli(['reload', '--control', '/run/a.ctl']), { kind: 'control', command: { name: 'reload', service: null }, socket: '/run/a.ctl' });
    assert.deepEqual(parseCli(['status', '--control', '/run/a.ctl', 'web']), { kind: 'control', command: { name: 'status', service: 'web', json: null, verbose: false, check: false }, socket: '/run/a.ctl' });
    assert.deepEqual(parseCli(['scale', 'web', '-2', '--control', '/run/a.ctl']), { kind: 'control', command: { name: 'scale', service: 'web', workers: null, delta: -2 }, socket: '/run/a.ctl' });
    assert.deepEqual(parseCli(['signal', 'HUP', '--slot', '1', '--control', '/run/a.ctl']), { kind: 'control', command: { name: 'signal', service: null, signal: 'HUP', slot: 1, force: false }, socket: '/run/a.ctl' });
    assert.throws(() => parseCli(['status', '--control', `/tmp/${'x'.repeat(120)}`]), /longer than 107 bytes/);
    assert.throws(() => parseCli(['scale', 'lots']), /not a count/);
    assert.throws(() => parseCli(['reload', '--control', '/a', 'web', 'jobs']), usage(/one SERVICE at most/));
    assert.throws(() => parseCli(['reload', '--control', '/a', '-x']), usage(/unknown option -x/));
    assert.throws(() => parseCli(['status', '--control']), usage(/^tend status: --control needs a value; see tend status --help$/));
    assert.throws(() => parseCli(['status', '--json=yes']), usage(/^tend status: --json takes no value, got "yes"/));
    assert.throws(() => parseCli(['reload', '--control', '/a', '9lives']), usage(/is not a valid service name/));
    assert.throws(() => parseCli(['reload', '--control', '']), usage(/--control "": the path is empty/));
  });
});

describe('tend run with a flat config file', () => {
  it('flags win key by key; errors name the file and key', () => {
    const files = { 'tend.yaml': 'workers: 2\nready: delay:50ms\nstop: TERM:2s\ncommand: [sleep, 30]\nverbose: true\nenv: { PORT: 3000 }\ncwd: app\n' };
    const { spec } = run(['--config', 'tend.yaml', '--workers', '1'], files);
    const main = only(spec);
    assert.deepEqual([main.workers, main.pool, main.command, spec.verbose], [1, true, ['sleep', '30'], true]);
    assert.deepEqual(main.env, { PORT: '3000' });
    assert.match(main.cwd ?? '', /\/app$/);
    assert.deepEqual(spec.source, { kind: 'file', path: 'tend.yaml', format: 'tend' });
    assert.deepEqual(only(run(['--config', 'tend.yaml', '--', 'node', 'x.js'], files).spec).command, ['node', 'x.js']);
    assert.throws(() => run(['--config', 'bad.yaml'], { 'bad.yaml': 'stop: TERM:10\ncommand: sleep 1\n' }),
      usage(/^bad\.yaml: key "stop": --stop "TERM:10": duration "10" has no unit/));
    assert.throws(() => run(['--config', 'u.json'], { 'u.json': '{"workers": 2, "wrokers": 3, "command": ["true"]}' }), usage(/^u\.json: unknown key "wrokers"; the keys are/));
    assert.throws(() => run(['--config', 'r.yaml'], { 'r.yaml': 'command: x\nreload-surge: 2\n' }), usage(/^r\.yaml: key "reload-surge": only applies to a worker pool; add workers: N/));
    assert.throws(() => run(['--config', 'c.yaml'], { 'c.yaml': 'command: [""]\n' }), usage(/c\.yaml: key "command": .*the command is empty/));
    assert.throws(() => run(['--config', 'd.yaml'], { 'd.yaml': 'command: x\ndepends-on: [db]\n' }), usage(/depends-on "db" is not a service here/));
    assert.equal(run(['--config', 's.yaml'], { 's.yaml': 'subreaper: false\npreload: false\nworkers: 1\ncommand: x\n' }).spec.subreaper, false);
  });
  it('an unreadable file exits 78', () => {
    assert.throws(() => run(['--config', 'nope.yaml']), (e: unknown) => e instanceof TendError && e.exitCode === 78 && /unable to read --config "nope\.yaml": ENOENT/.test(e.message));
    assert.throws(() => run(['--config', 'x.toml'], { 'x.toml': '' }), (e: unknown) => e instanceof TendError && e.exitCode === 78 && /unknown format/.test(e.message));
    assert.throws(() => run(['--config', 'x.json'], { 'x.json': '{' }), (e: unknown) => e instanceof TendError && e.exitCode === 78 && /fix the syntax/.test(e.message));
  });
});
