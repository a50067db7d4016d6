// Seeded fuzzing of parseCli: random and mutated argv and config texts must each end in a spec or a one-line
// TendError (never another exception, a stack trace or a hang), within a time bound. A failure prints its seed and case.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { parseCli } from '../../../src/cli/parse-args.js';
import { TendError } from '../../../src/errors.js';
import { mulberry32 } from '../../helpers/prng.js';

const SEED = Number(process.env['TEND_FUZZ_SEED'] ?? 20_261_128);
const random = mulberry32(SEED);
const int = (lo: number, hi: number): number => lo + Math.floor(random() * (hi - lo + 1));
const pick = <T>(items: readonly T[]): T => items[int(0, items.length - 1)] as T;

const VALID_ARGV: readonly (readonly string[])[] = [
  ['run', '--', 'node', 'server.js'],
  ['run', '-w', '2', '--listen', 'tcp://127.0.0.1:3000', '--ready', 'notify', '--', 'node', 'a.js'],
  ['run', '--stop', 'TSTP:10s,TERM:25s', '--restart', 'always', '--max-memory', '512M', '--', 'sidekiq'],
  ['run', '--before', 'node migrate.js', '--limit', 'nofile=1024', '--user', 'app', '--', 'x'],
  ['run', '--config', 't.yaml'], ['run', '--config', 't.json', '-v'], ['run', '--config', 'Procfile', '--control', '/run/a.ctl'],
  ['reload', '--control', '/run/a.ctl', 'web'], ['status', '--control', '/run/a.ctl'], ['--help'], ['run', '--help'],
];
const TOKENS = ['', '-', '--', '-w', '--workers', '0', '1', '-1', '1e9', '99999999999999999999', 'max', '--listen', 'unix:@', 'unix:/',
  'tcp://[::]:0', 'tcp://x:99999', '--ready', 'delay:0s', 'http://', '--ready-timeout', '0s', '1ms', '25d', '--watchdog', '--stop',
  'KILL', 'TERM:', ':', ',', '--limit', 'nofile=1:0', 'core=unlimited', '--control', '\0', 'é', '--config', 't.yaml', 'Procfile',
  '--remap-exit', '256:0', '--before', "'", '"', '$(x)', '--user', ':', '--event-log', '--restart', 'never', '--reload-surge',
  '--max-cpu', '0%', '--max-memory', '0', '--no-preload', '-v', '-vv', '--verbose=1', '--help', 'web', 'x'.repeat(300)];

const VALID_TEXTS: Readonly<Record<string, string>> = {
  't.yaml': 'verbose: true\nservices:\n  migrate: { command: node migrate.js, type: oneshot }\n  web: { command: node server.js, workers: 2, listen: tcp://127.0.0.1:3000, depends-on: [migrate] }\n  jobs: { command: node worker.js, depends-on: [web], stop: "TSTP:10s,TERM:25s", max-restarts: 5, env: { A: 1 } }\n',
  't.json': JSON.stringify({ workers: 2, ready: 'delay:50ms', command: ['sleep', '30'], limit: { nofile: 100 }, env: { A: 'b' } }),
  'Procfile': 'web: node server.js\nworker: sh -c "sleep 1 && echo $X"\n# comment\n',
  'e.json': JSON.stringify({ apps: [{ name: 'a', script: 'a.js', instances: 2, exec_mode: 'cluster', kill_timeout: 100, watch: true }] }),
};
const NOISE = ['[', ']', '{', '}', ':', ',', '"', "'", '\n', ' ', '  ', '-', '#', '&a ', '*a', '!!str ', '\\', '\0', '|', '>', '?', '%', '@',
  '0', '-1', 'null', 'true', '~', 'services:', 'command:', 'depends-on: [x]', 'apps', '__proto__:', 'é'];

function mutateArgv(): string[] {
  const argv = [...pick(VALID_ARGV)];
  for (let n = int(0, 4); n > 0; n--) {
    const at = int(0, argv.length);
    switch (int(0, 3)) {
      case 0: argv.splice(at, 0, pick(TOKENS)); break;
      case 1: if (argv.length > 1) argv.splice(at, 1); break;
      case 2: argv.splice(at, 1, pick(TOKENS)); break;
      default: argv.splice(at, 0, ...argv.slice(int(0, argv.length))); break;
    }
  }
  return argv;
}

function mutateText(text: string): string {
  let out = text;
  for (let n = int(1, 6); n > 0; n--) {
    const at = int(0, out.length);
    switch (int(0, 3)) {
      case 0: out = out.slice(0, at) + pick(NOISE) + out.slice(at); break;
      case 1: out = out.slice(0, at) + out.slice(at + int(1, 20)); break;
      case 2: out = out.slice(0, at) + pick(NOISE).repeat(int(1, 200)) + out.slice(at); break;
      default: out = out.slice(0, at) + out.slice(int(0, out.length)); break;
    }
  }
  return out;
}

function check(argv: readonly string[], files: Readonly<Record<string, string>>): void {
  const started = performance.now();
  try {
    const result = parseCli(argv, (path) => {
      const text = files[path];
      if (text === undefined) throw Object.assign(new Error('missing'), { code: 'ENOENT' });
      return text;
    });
    assert.ok(['help', 'version', 'run', 'control'].includes(result.kind));
    if (result.kind === 'run') assert.ok(result.spec.services.length > 0 && result.spec.services.every((s) => s.command.length > 0 && s.command[0] !== ''));
  } catch (error) {
    if (!(error instanceof TendError) || error.message.includes('\n') || ![64, 78].includes(error.exitCode)) {
      assert.fail(`seed ${SEED}: ${JSON.stringify(argv)} with ${JSON.stringify(files).slice(0, 500)} threw ${error instanceof Error ? error.stack ?? error.message : String(error)}`);
    }
  }
  const ms = performance.now() - started;
  assert.ok(ms < 2000, `seed ${SEED}: ${JSON.stringify(argv)} took ${ms.toFixed(0)} ms`);
}

it(`parseCli survives 1,500 fuzzed argv and config texts (seed ${SEED})`, { timeout: 120_000 }, () => {
  // Load yaml and zod once, outside the per-case bound (a cold load on a busy machine alone can take a second).
  check(['run', '--config', 't.yaml'], VALID_TEXTS);
  const started = performance.now();
  for (let i = 0; i < 700; i++) check(mutateArgv(), VALID_TEXTS);
  for (let i = 0; i < 800; i++) {
    const [name, text] = pick(Object.entries(VALID_TEXTS));
    const target = name === 'e.json' ? 't.json' : name;
    check(['run', '--config', target, ...(random() < 0.2 ? ['--', 'x'] : [])], { [target]: mutateText(name === 'e.json' ? text : text) });
  }
  assert.ok(performance.now() - started < 90_000, 'the whole run stays bounded');
});
