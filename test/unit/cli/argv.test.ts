// parseArgv (cli/argv.ts), tend's own option parser: a table of argv → values/positionals or error kind and flag,
// then a differential check against util.parseArgs (strict), which it replaces on the start-up path.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseArgs } from 'node:util';
import { argvErrorText, parseArgv, type ArgvError, type ArgvOptions, type ArgvResult, type ArgvValue } from '../../../src/cli/argv.js';
import { runOptions } from '../../../src/cli/parse-args.js';
import { mulberry32 } from '../../helpers/prng.js';

const OPTIONS: ArgvOptions = {
  verbose: { type: 'boolean', short: 'v' },
  help: { type: 'boolean', short: 'h' },
  force: { type: 'boolean', short: 'f' },
  lines: { type: 'string', short: 'n' },
  stop: { type: 'string' },
  limit: { type: 'string', short: 'l', multiple: true },
  tag: { type: 'boolean', short: 't', multiple: true },
};

type Expected =
  | { readonly values: Readonly<Record<string, ArgvValue>>; readonly positionals?: readonly string[] }
  | { readonly error: ArgvError['kind']; readonly flag: string; readonly value?: string };

const CASES: readonly (readonly [string, readonly string[], Expected, boolean?])[] = [
  ['nothing', [], { values: {} }],
  ['a long switch', ['--verbose'], { values: { verbose: true } }],
  ['a short switch', ['-v'], { values: { verbose: true } }],
  ['--name value', ['--stop', 'TERM:1s'], { values: { stop: 'TERM:1s' } }],
  ['--name=value', ['--stop=TERM:1s'], { values: { stop: 'TERM:1s' } }],
  ['--name= (an empty value)', ['--stop='], { values: { stop: '' } }],
  ['--name=a=b keeps the second =', ['--stop=a=b'], { values: { stop: 'a=b' } }],
  ['-x value', ['-n', '5'], { values: { lines: '5' } }],
  ['-xVALUE', ['-n5'], { values: { lines: '5' } }],
  ['-xVALUE starting with a dash', ['-n-5'], { values: { lines: '-5' } }],
  ['--name=-x', ['--stop=-x'], { values: { stop: '-x' } }],
  ['a lone dash is a value', ['--stop', '-'], { values: { stop: '-' } }],
  ['an empty word is a value', ['--stop', ''], { values: { stop: '' } }],
  ['grouped switches', ['-vhf'], { values: { verbose: true, help: true, force: true } }],
  ['a group ending in a string option takes the next word', ['-vn', '3'], { values: { verbose: true, lines: '3' } }],
  ['a string option inside a group takes the rest', ['-vn3'], { values: { verbose: true, lines: '3' } }],
  ['the rest may start with a dash', ['-vn-3'], { values: { verbose: true, lines: '-3' } }],
  ['multiple collects in order', ['--limit', 'a', '-l', 'b', '--limit=c', '-ld'], { values: { limit: ['a', 'b', 'c', 'd'] } }],
  ['a multiple switch counts', ['-tt', '--tag'], { values: { tag: [true, true, true] } }],
  ['a repeated option keeps the last', ['--stop', 'a', '--stop', 'b', '-n1', '-n', '2'], { values: { stop: 'b', lines: '2' } }],
  ['a repeated switch stays true', ['-v', '--verbose', '-vv'], { values: { verbose: true } }],
  ['positionals, in order', ['a', '-v', 'b'], { values: { verbose: true }, positionals: ['a', 'b'] }],
  ['-- ends options', ['-v', '--', '-n', '--stop', '--'], { values: { verbose: true }, positionals: ['-n', '--stop', '--'] }],
  ['a lone dash is a positional', ['-'], { values: {}, positionals: ['-'] }],
  ['an empty word is a positional', [''], { values: {}, positionals: [''] }],
  ['a value word is not a positional', ['--stop', 'x', 'y'], { values: { stop: 'x' }, positionals: ['y'] }],
  ['a bare -- with nothing after', ['--'], { values: {} }, false],
  ['unknown long', ['--bogus'], { error: 'unknown', flag: '--bogus' }],
  ['unknown long with a value', ['--bogus=1'], { error: 'unknown', flag: '--bogus' }],
  ['unknown short', ['-x'], { error: 'unknown', flag: '-x' }],
  ['unknown short in a group', ['-vx'], { error: 'unknown', flag: '-x' }],
  ['unknown short leading a group', ['-xn5'], { error: 'unknown', flag: '-x' }],
  ['--constructor is unknown', ['--constructor'], { error: 'unknown', flag: '--constructor' }],
  ['--__proto__ is unknown', ['--__proto__=1'], { error: 'unknown', flag: '--__proto__' }],
  ['--toString is unknown', ['--toString'], { error: 'unknown', flag: '--toString' }],
  ['--- is unknown', ['---'], { error: 'unknown', flag: '---' }],
  ['--=x is unknown', ['--=x'], { error: 'unknown', flag: '--=x' }],
  // parseArgs reads "-v-x" as "-v -- -x"; a dash inside a group is an unknown option here.
  ['a dash inside a group', ['-v-x'], { error: 'unknown', flag: '-v-x' }],
  ['the first error wins', ['--bogus', '-x'], { error: 'unknown', flag: '--bogus' }],
  ['a string option at the end', ['--stop'], { error: 'needs-value', flag: '--stop' }],
  ['a short string option at the end', ['-n'], { error: 'needs-value', flag: '-n' }],
  ['a string option ending a group, at the end', ['-vn'], { error: 'needs-value', flag: '-n' }],
  ['a switch with a value', ['--verbose=1'], { error: 'no-value-allowed', flag: '--verbose', value: '1' }],
  ['a switch with an empty value', ['--verbose='], { error: 'no-value-allowed', flag: '--verbose', value: '' }],
  ['a string option before an option', ['--stop', '-v'], { error: 'ambiguous', flag: '--stop', value: '-v' }],
  ['a string option before --', ['--stop', '--'], { error: 'ambiguous', flag: '--stop', value: '--' }],
  ['a short string option before a negative number', ['-n', '-5'], { error: 'ambiguous', flag: '-n', value: '-5' }],
  ['a group ending in a string option before an option', ['-vn', '--stop'], { error: 'ambiguous', flag: '-n', value: '--stop' }],
  ['a positional where none is allowed', ['-v', 'x'], { error: 'positional', flag: 'x' }, false],
  ['a positional after -- where none is allowed', ['--', 'x'], { error: 'positional', flag: 'x' }, false],
  ['a positional before an unknown option', ['x', '--bogus'], { error: 'positional', flag: 'x' }, false],
];

function check(result: ArgvResult, expected: Expected): void {
  if ('error' in expected) {
    assert.ok(!result.ok, `expected ${expected.error}, got ${JSON.stringify(result)}`);
    assert.deepEqual(result.error, { kind: expected.error, flag: expected.flag, value: expected.value ?? null });
    return;
  }
  assert.ok(result.ok, `expected values, got ${JSON.stringify(result)}`);
  assert.equal(Object.getPrototypeOf(result.values), null);
  assert.deepEqual({ ...result.values }, expected.values);
  assert.deepEqual(result.positionals, expected.positionals ?? []);
}

describe('parseArgv', () => {
  for (const [name, argv, expected, positionals] of CASES) {
    it(`${name}: ${JSON.stringify(argv)}`, () => { check(parseArgv(argv, OPTIONS, positionals ?? true), expected); });
  }
  it('an option named like an Object.prototype member works and leaves the prototype alone', () => {
    const own = parseArgv(['--constructor', 'x'], JSON.parse('{"constructor":{"type":"string"},"__proto__":{"type":"string"}}') as ArgvOptions, false);
    assert.ok(own.ok);
    assert.equal(own.values['constructor'], 'x');
    const proto = parseArgv(['--__proto__', 'y'], JSON.parse('{"__proto__":{"type":"string"}}') as ArgvOptions, false);
    assert.ok(proto.ok);
    assert.equal(Object.getPrototypeOf(proto.values), null);
    assert.equal(proto.values['__proto__'], 'y');
    assert.equal(Object.hasOwn(proto.values, '__proto__'), true);
  });
  it('a short letter with no short option falls back to the long option of that name, as parseArgs does', () => {
    check(parseArgv(['-x'], { x: { type: 'boolean' } }, false), { values: { x: true } });
  });
  it('every error kind has a one-line text naming the flag', () => {
    const errors: ArgvError[] = [
      { kind: 'unknown', flag: '--bogus', value: null }, { kind: 'needs-value', flag: '-n', value: null },
      { kind: 'no-value-allowed', flag: '--verbose', value: '1' }, { kind: 'ambiguous', flag: '--stop', value: '-x' },
      { kind: 'positional', flag: 'x', value: null },
    ];
    assert.deepEqual(errors.map(argvErrorText), [
      'unknown option --bogus',
      '-n needs a value',
      '--verbose takes no value, got "1"; write --verbose alone',
      '--stop needs a value; "-x" looks like an option (write --stop=-VALUE for a value that starts with -)',
      'unexpected argument "x"',
    ]);
  });
});

// What util.parseArgs makes of argv: values and positionals, or the error kind its code maps to.
function byParseArgs(argv: readonly string[], options: ArgvOptions, allowPositionals: boolean): unknown {
  try {
    const { values, positionals } = parseArgs({ args: [...argv], options, strict: true, allowPositionals });
    return { values: { ...values }, positionals };
  } catch (error) {
    const code = (error as { code?: string }).code;
    const kinds: Record<string, string> = { ERR_PARSE_ARGS_UNKNOWN_OPTION: 'unknown', ERR_PARSE_ARGS_INVALID_OPTION_VALUE: 'value', ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL: 'positional' };
    return { error: kinds[code ?? ''] ?? String(error) };
  }
}

function byParseArgv(argv: readonly string[], options: ArgvOptions, allowPositionals: boolean): unknown {
  const result = parseArgv(argv, options, allowPositionals);
  if (result.ok) return { values: { ...result.values }, positionals: result.positionals };
  return { error: ['needs-value', 'no-value-allowed', 'ambiguous'].includes(result.error.kind) ? 'value' : result.error.kind };
}

describe('parseArgv against util.parseArgs', () => {
  const valid: readonly (readonly string[])[] = [
    [], ['-v'], ['--verbose', '--help'], ['-vhf'], ['--stop', 'x'], ['--stop=x'], ['--stop=-x'], ['--stop='], ['--stop', '-'],
    ['-n5'], ['-n', '5'], ['-n-5'], ['-vn3'], ['-vn', '3'], ['-vn-3'], ['-fvn', 'x', 'rest'], ['--limit', 'a', '-lb', '--limit=c'],
    ['-tt', '--tag'], ['--stop', 'a', '--stop', 'b'], ['a', 'b', '-v'], ['--', '-v', '--'], ['-v', '--', 'x'], ['-'], [''],
    ['--stop', '', 'x'], ['-n', ''], ['-l', '=', '-l=x'], ['--lines=1=2'], ['é', '--stop', 'é'],
  ];
  it('gives the same values and positionals for valid argv', () => {
    for (const argv of valid) {
      assert.deepEqual(byParseArgv(argv, OPTIONS, true), byParseArgs(argv, OPTIONS, true), JSON.stringify(argv));
    }
  });
  it(`agrees on 3,000 seeded random argv, errors included (seed 20260607)`, () => {
    const random = mulberry32(20_260_607);
    const words = ['-v', '-h', '-f', '-n', '-n5', '-n-5', '-vn', '-vn3', '-vn-3', '-x', '-vx', '-xv', '--verbose', '--verbose=1', '--verbose=',
      '--stop', '--stop=', '--stop=-x', '--limit', '-l', '-lx', '--tag', '-tt', '--bogus', '--bogus=1', '--constructor', '--__proto__',
      '--toString', '---', '--=x', '-=', '--', '-', '', 'x', 'TERM:1s', '-5', 'é', '-é', '--lines=1'];
    for (let i = 0; i < 3000; i++) {
      const argv = Array.from({ length: Math.floor(random() * 6) }, () => words[Math.floor(random() * words.length)] ?? '');
      const allow = random() < 0.5;
      assert.deepEqual(byParseArgv(argv, OPTIONS, allow), byParseArgs(argv, OPTIONS, allow), `${JSON.stringify(argv)} positionals ${allow}`);
    }
  });
  it('agrees on the flags of tend run', () => {
    const argv = ['-w', '2', '--listen', 'tcp://127.0.0.1:1', '--listen=unix:/a', '-vc', 't.yaml', '--no-preload', '--before', 'x', '-uapp'];
    assert.deepEqual(byParseArgv(argv, runOptions(), false), byParseArgs(argv, runOptions(), false));
  });
});
