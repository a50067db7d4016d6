#!/usr/bin/env node
// Builds what bin/tend runs, from tsc's output (so it runs after tsc: `npm run build`):
//   dist/bundle/main.cjs    dist/src/cli/entry.js and everything it imports: the whole CLI, signal capture first
//   dist/bundle/entry.cjs   the file Node starts: dist/src/cli/start.js, which loads the addon, captures signals and
//                           loads main.cjs with V8's code cache (cli/compile-cache.js)
// CommonJS because Node starts a CommonJS script without its ES module loader (~2 MiB and milliseconds less). Node
// compiles the file it starts from source every time (Node 20 has no compile cache), so that file is a few lines,
// and everything else is one bundle V8 restores from its code cache: compiling JavaScript the first time it runs is
// most of what a start costs. Every module keeps its own import.meta.url (the path it has in dist/src), so paths
// relative to it (package.json, the addon, the preload, zod and yaml) resolve exactly as in the unbundled build, and
// heavy Node built-ins load on first use rather than at start-up. main.cjs also holds the spec of `tend run -- CMD`
// with no option, worked out here by the parser itself, so such a run starts without parsing (plainRun below), and
// keeps what only some options and commands need in a lazy part (scripts/lazy-part.js).
// Usage: node scripts/bundle.js [--if-stale]
import assert from 'node:assert/strict';
import { build } from 'esbuild';
import { lazyPart } from './lazy-part.js';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const srcOut = join(root, 'dist', 'src');
const outDir = join(root, 'dist', 'bundle');
const entryFile = join(srcOut, 'cli', 'entry.js');
const startFile = join(srcOut, 'cli', 'start.js');

// Built-ins Node does not load at its own start and that cost real time or memory when loaded (child_process,
// net and tty bring the stream modules, http brings its parser...). Accesses go through a proxy that loads the
// module on first use: esbuild's CommonJS output reads every import as a property at the point of use.
// module, os, string_decoder and diagnostics_channel are small, but each still costs start-up time or memory
// (~130-250 kB of node's own pages) and is needed only on some paths (a config file, tmpdir, a worker's IPC channel).
const LAZY_BUILTINS = ['child_process', 'cluster', 'crypto', 'dgram', 'diagnostics_channel', 'dns', 'http', 'http2', 'https',
  'module', 'net', 'os', 'readline', 'stream', 'string_decoder', 'tls', 'tty', 'worker_threads', 'zlib'];

// The helpers the rewritten bundle calls, each with the helpers it uses itself. A bundle gets only those it calls:
// entry.cjs is compiled from source on every start, and V8 parses every line of it.
// Every module's import of a built-in is a require() call at the top of the bundle (node:fs alone 18 times), and
// each call goes through Node's whole module loader (~35 µs on Node 22; the first ~130 µs more on Node 20):
// __tendBuiltin keeps what it got, and gets it from process.getBuiltinModule where Node has it (20.16+, 22.3+).
const HELPERS = [
  ['__tendBuiltin', [], [
    'const __tendBuiltins = new Map();',
    'const __tendGetBuiltin = process.getBuiltinModule;',
    'const __tendBuiltin = (id) => {',
    '  let loaded = __tendBuiltins.get(id);',
    '  if (loaded === undefined) __tendBuiltins.set(id, (loaded = __tendGetBuiltin === undefined ? require(id) : __tendGetBuiltin(id)));',
    '  return loaded;',
    '};',
  ]],
  ['__tendModuleUrl', [], ['const __tendModuleUrl = (path) => require("node:url").pathToFileURL(require("node:path").join(__dirname, path)).href;']],
  // A path computed at build time as `ups` directories above the bundle's, then `rest`: no node:path at start-up.
  ['__tendModulePath', [], [
    'const __tendModulePath = (ups, rest) => {',
    '  let dir = __dirname;',
    '  for (let i = 0; i < ups; i++) dir = dir.slice(0, dir.lastIndexOf("/"));',
    '  return `${dir}/${rest}`;',
    '};',
  ]],
  // One proxy per built-in, however many modules import it (node:net is imported by 8).
  ['__tendLazyBuiltin', ['__tendBuiltin'], [
    'const __tendLazyBuiltins = new Map();',
    'const __tendLazyBuiltin = (id) => {',
    '  let proxy = __tendLazyBuiltins.get(id);',
    '  if (proxy !== undefined) return proxy;',
    '  let loaded;',
    '  const load = () => (loaded ??= __tendBuiltin(id));',
    '  proxy = new Proxy({}, {',
    '    get: (_, key) => load()[key],',
    '    has: (_, key) => key in load(),',
    '    ownKeys: () => Reflect.ownKeys(load()),',
    '    getOwnPropertyDescriptor: (_, key) => {',
    '      const descriptor = Reflect.getOwnPropertyDescriptor(load(), key);',
    '      return descriptor === undefined ? undefined : { ...descriptor, configurable: true };',
    '    },',
    '  });',
    '  __tendLazyBuiltins.set(id, proxy);',
    '  return proxy;',
    '};',
  ]],
];

// The banner for a bundle whose code is `text`: "use strict" and the helpers it calls, in HELPERS' order, on one line
// (the source map is moved down by exactly that line).
function banner(text) {
  const used = new Set();
  const use = (name) => {
    if (used.has(name)) return;
    used.add(name);
    for (const dependency of HELPERS.find(([helper]) => helper === name)[1]) use(dependency);
  };
  for (const [name] of HELPERS) if (text.includes(`${name}(`)) use(name);
  return ['"use strict";', ...HELPERS.filter(([name]) => used.has(name)).flatMap(([, , lines]) => lines.map((line) => line.trim()))].join('');
}

// `__tendModulePath(ups, rest)` for the path `rel` (a URL path, as in new URL(rel, import.meta.url)) relative to a
// module in moduleDir, when it runs from a bundle in bundleDir. A trailing slash is kept, as the URL keeps it.
function modulePath(bundleDir, moduleDir, rel) {
  const target = relative(bundleDir, join(moduleDir, rel)).split('/').filter((part) => part !== '');
  const ups = target.findIndex((part) => part !== '..');
  const rest = (ups < 0 ? [] : target.slice(ups)).join('/');
  const slash = rel.endsWith('/') && rest !== '' ? '/' : '';
  return `__tendModulePath(${ups < 0 ? target.length : ups}, ${JSON.stringify(rest + slash)})`;
}

// import.meta.url → the URL of the module's own file in dist/src, computed from the bundle's location at run time.
// And the contract files (src/contract/*.cts, CommonJS for the preload and the apps that require them) become ES
// modules inside the bundle: imported as CommonJS, each importer would get its own copy of the exports, property by
// property, through esbuild's interop helpers on every start.
function moduleUrlPlugin(outfile) {
  return {
    name: 'tend-module-url',
    setup(b) {
      b.onLoad({ filter: /\/contract\/[^/]+\.cjs$/ }, (args) => {
        if (!args.path.startsWith(srcOut)) return undefined;
        const text = readFileSync(args.path, 'utf8');
        if (/\brequire\(["']/.test(text)) return undefined; // one that requires something stays CommonJS
        // On the file's first line, so its line numbers stay the file's.
        const contents = `const module = { exports: {} }; const exports = module.exports; ${text}\nexport default module.exports;`;
        return { contents, loader: 'js', resolveDir: dirname(args.path) };
      });
      b.onLoad({ filter: /\.js$/ }, (args) => {
        if (!args.path.startsWith(srcOut)) return undefined;
        const text = readFileSync(args.path, 'utf8');
        const path = relative(dirname(outfile), args.path);
        // A path next to the module needs no URL at all (whatwg URL costs start-up memory): a path relative to the
        // bundle's directory, worked out here.
        const contents = text
          .replace(/\bfileURLToPath\(new URL\('([^'\\]*)', import\.meta\.url\)\)/g, (_, rel) => modulePath(dirname(outfile), dirname(args.path), rel))
          .replaceAll('import.meta.url', `__tendModuleUrl(${JSON.stringify(path)})`);
        return { contents, loader: 'js', resolveDir: dirname(args.path) };
      });
    },
  };
}

const lazyRequire = new RegExp(`require\\("(?:node:)?(${LAZY_BUILTINS.join('|')})"\\)`, 'g');

// Bundle one entry point into outDir/name; returns the files written (each replaced atomically, so a tend started
// meanwhile runs either the old build or the new one).
// A split part is written already wrapped the way Node's CommonJS loader wraps a module (on its first line, so line
// numbers stay the file's): src/cli/compile-cache.ts compiles the file's text as it is, with no copy of it to wrap.
const WRAP_OPEN = '(function (exports, require, module, __filename, __dirname) { ';
const WRAP_CLOSE = '\n})';

// The spec of `tend run -- CMD` with no option (cli/parse-args.ts, plainRunJson), worked out by tsc's output of the
// very parser the bundle holds, and checked to read back exactly as the parser made it: the bundle starts such a run
// from it without building the flag table.
async function plainRun() {
  const { parseCli, plainRunJson, plainRunSpec, PLAIN_RUN_COMMAND } = await import(join(srcOut, 'cli', 'parse-args.js'));
  const json = plainRunJson();
  const parsed = parseCli(['run', '--', PLAIN_RUN_COMMAND]);
  assert.deepStrictEqual(plainRunSpec(json, [PLAIN_RUN_COMMAND]), parsed.spec,
    'bundle: the spec of `tend run -- CMD` does not read back from JSON as the parser made it: a value JSON does not keep (a Map, undefined) needs its own case in plainRunJson/plainRunSpec (src/cli/parse-args.ts)');
  return json;
}

// What both builds of a bundle and its lazy part share.
function buildOptions(outfile, define) {
  return {
    define,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external: ['zod', 'yaml'],
    plugins: [moduleUrlPlugin(outfile)],
    sourcemap: 'linked',
    minifyWhitespace: true,
    minifySyntax: true,
    legalComments: 'none',
    logLevel: 'warning',
  };
}

async function bundle(entry, name, wrapped, define = {}, lazy = false) {
  const outfile = join(outDir, name);
  const common = buildOptions(outfile, define);
  const plugins = lazy ? (await lazyPart({ srcOut, entry, outfile, common })).plugins : common.plugins;
  const result = await build({ ...common, entryPoints: [entry], outfile, plugins, write: false });
  for (const file of result.outputFiles) {
    let text = file.text;
    if (file.path.endsWith('.cjs')) {
      text = text.replace(lazyRequire, '__tendLazyBuiltin("node:$1")').replace(/\brequire\("(node:[a-z_/]+)"\)/g, '__tendBuiltin("$1")');
      text = `${banner(text)}\n${text}`;
    } else if (file.path.endsWith('.map')) {
      // The banner's line comes before everything esbuild mapped.
      const map = JSON.parse(text);
      text = JSON.stringify({ ...map, mappings: `;${map.mappings}` });
    }
    if (wrapped && file.path.endsWith('.cjs')) text = `${WRAP_OPEN}${text}${WRAP_CLOSE}`;
    // cli/compile-cache.ts reads the bundle as Latin-1, which is what UTF-8 is only for ASCII.
    if (file.path.endsWith('.cjs') && !/^[\x00-\x7f]*$/.test(text)) throw new Error(`bundle: ${basename(file.path)} is not ASCII`);
    writeFileSync(`${file.path}.tmp`, text);
    renameSync(`${file.path}.tmp`, file.path);
  }
  return result.outputFiles.map((file) => basename(file.path));
}

// Modification times of the files under `dir` (none if it does not exist).
function mtimes(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile())
    .map((entry) => statSync(join(entry.parentPath ?? entry.path, entry.name)).mtimeMs);
}

// True when the bundles are missing or older than something tsc wrote.
function stale() {
  const built = mtimes(outDir);
  return !existsSync(join(outDir, 'entry.cjs')) || Math.min(...built) < Math.max(0, ...mtimes(srcOut));
}

async function main() {
  if (!existsSync(entryFile)) {
    console.error(`bundle: ${relative(root, entryFile)} is missing: run tsc first (npm run build)`);
    return 1;
  }
  if (process.argv.includes('--if-stale') && !stale()) return 0;
  mkdirSync(outDir, { recursive: true });
  const define = { TEND_PLAIN_RUN: JSON.stringify(await plainRun()) };
  const written = new Set([...await bundle(entryFile, 'main.cjs', true, define, true), ...await bundle(startFile, 'entry.cjs', false)]);
  for (const name of readdirSync(outDir)) if (!written.has(name)) rmSync(join(outDir, name), { force: true });
  return 0;
}

process.exitCode = await main();
