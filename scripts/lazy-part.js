// The lazy part of dist/bundle/main.cjs: the modules a `tend run` only needs for some options or commands (a config
// file, the control socket and its commands, health and metrics, systemd, the event log, --help) are bundled apart and
// put into main.cjs inside one function that a run which never needs them never calls. V8 then restores none of their
// code from the code cache and runs none of their top level, and the bundle's top-level scope (one name table V8
// rehashes on every start) loses their names: ~0.3-0.5 ms of a start on this kind of machine.
//
// How: every module the main bundle imports from a lazy root gets a stub in its place, which forwards each call to the
// real function in the part (a constant is copied by value: no root exports a class). The part is built on its own,
// with every module the main bundle also holds left external; its `require` of one of those gets main's own module
// through getters, so both share one instance of every module. Used by scripts/bundle.js.
import { build } from 'esbuild';
import { isDeepStrictEqual } from 'node:util';
import { isAbsolute, join, relative } from 'node:path';

/** The roots, relative to dist/src: their own imports come along unless the main bundle holds them already. */
export const LAZY_ROOTS = [
  'config/config-file.js',
  'cli/control-client.js',
  'cli/parse-control.js',
  'cli/usage.js',
  'control/server.js',
  'control/history.js',
  'control/paths.js',
  'health/server.js',
  'systemd/notifier.js',
  'systemd/bridge.js',
  'runner/event-log.js',
  'runner/ipc-channel.js',
];

const LAZY = 'tend:lazy';
const SHARED = 'tend:shared/';

// A stub for a root: each export forwarded or copied. A class cannot be forwarded (instanceof, `new`): the build fails.
async function stubSource(srcOut, root, key) {
  const module = await import(join(srcOut, root));
  const lines = [`import { __tendLazy } from ${JSON.stringify(LAZY)};`];
  for (const [name, value] of Object.entries(module)) {
    if (typeof value === 'function') {
      if (/^class\b/.test(Function.prototype.toString.call(value))) throw new Error(`bundle: ${root} exports the class ${name}, which a lazy root cannot (scripts/lazy-part.js)`);
      lines.push(`export function ${name}(...args) { return __tendLazy()[${JSON.stringify(key)}].${name}(...args); }`);
    } else {
      // A copy must be the value itself: a Set or a Map would come out of JSON as {} and break only at run time.
      if (!isDeepStrictEqual(JSON.parse(JSON.stringify(value) ?? 'null'), value)) throw new Error(`bundle: ${root} exports ${name}, which JSON cannot copy, and a lazy root's constants are copied (scripts/lazy-part.js); export a function instead`);
      lines.push(`export const ${name} = ${JSON.stringify(value)};`);
    }
  }
  return lines.join('\n');
}

/** The plugins for the main bundle's build: they replace the roots by stubs and add the part. */
export async function lazyPart({ srcOut, entry, outfile, common }) {
  const roots = LAZY_ROOTS.map((root, i) => ({ root, path: join(srcOut, root), key: `r${i}` }));
  const stubs = new Map(await Promise.all(roots.map(async (r) => [r.path, await stubSource(srcOut, r.root, r.key)])));
  const stubPlugin = (lazySource) => ({
    name: 'tend-lazy-stubs',
    setup(b) {
      b.onResolve({ filter: /^tend:lazy$/ }, () => ({ path: LAZY, namespace: 'tend-lazy' }));
      b.onLoad({ filter: /.*/, namespace: 'tend-lazy' }, () => ({ contents: lazySource, loader: 'js', resolveDir: srcOut }));
      b.onLoad({ filter: /\.js$/ }, (args) => (stubs.has(args.path) ? { contents: stubs.get(args.path), loader: 'js', resolveDir: srcOut } : undefined));
    },
  });

  // 1. What the main bundle holds, with the roots stubbed.
  const probe = await build({ ...common, entryPoints: [entry], outfile, metafile: true, write: false, plugins: [stubPlugin('export function __tendLazy() {}'), ...common.plugins] });
  const held = new Set(Object.keys(probe.metafile.inputs).filter((p) => !p.includes(':')).map((p) => (isAbsolute(p) ? p : join(process.cwd(), p))));
  for (const r of roots) held.delete(r.path);

  // 2. The part: the roots and what only they reach; a module the main bundle holds stays external.
  const partEntry = roots.map((r) => `export * as ${r.key} from ${JSON.stringify(r.path)};`).join('\n');
  const part = await build({
    ...common,
    stdin: { contents: partEntry, resolveDir: srcOut, sourcefile: 'tend-lazy-part.js' },
    entryPoints: undefined,
    outfile,
    write: false,
    sourcemap: 'external',
    plugins: [{
      name: 'tend-lazy-external',
      setup(b) {
        // Named by its path under dist/src (no build machine's path in the bundle).
        b.onResolve({ filter: /^\.\.?\// }, (args) => {
          const path = join(args.resolveDir, args.path);
          return held.has(path) ? { path: `${SHARED}${relative(srcOut, path)}`, external: true } : undefined;
        });
      },
    }, ...common.plugins],
  });
  const code = part.outputFiles.find((f) => !f.path.endsWith('.map')).text.replace(/\n\/\/# sourceMappingURL=\S*\n?$/, '\n');
  const map = part.outputFiles.find((f) => f.path.endsWith('.map')).text;

  // 3. Which names of which held module the part reads: main gives it exactly those, through getters.
  const vars = new Map();
  for (const m of code.matchAll(/\b(import_[\w$]+)=require\("([^"]+)"\)/g)) vars.set(m[1], m[2]);
  const used = new Map();
  for (const [variable, id] of vars) {
    if (!id.startsWith(SHARED)) continue;
    const path = join(srcOut, id.slice(SHARED.length));
    const names = used.get(path) ?? new Set();
    for (const m of code.matchAll(new RegExp(`\\b${variable.replace(/\$/g, '\\$')}\\.([\\w$]+)`, 'g'))) names.add(m[1]);
    const bare = new RegExp(`\\b${variable.replace(/\$/g, '\\$')}\\b(?!\\.|=require)`);
    if (bare.test(code)) throw new Error(`bundle: the lazy part uses ${relative(srcOut, path)} as a whole object (scripts/lazy-part.js reads it name by name)`);
    used.set(path, names);
  }
  let n = 0;
  const imports = [];
  const table = [];
  for (const [path, names] of used) {
    const aliases = [...names].map((name) => [name, `__tendShared${n++}`]);
    if (aliases.length > 0) imports.push(`import { ${aliases.map(([name, alias]) => `${name} as ${alias}`).join(', ')} } from ${JSON.stringify(path)};`);
    table.push(`${JSON.stringify(`${SHARED}${relative(srcOut, path)}`)}: { ${aliases.map(([name, alias]) => `get ${name}() { return ${alias}; }`).join(', ')} }`);
  }
  // The part's code goes first, on the function's own first line, so its line numbers stay its own.
  const lazySource = [
    `function __tendLazyPart(exports, require, module) {${code}}`,
    ...imports,
    'let __tendLazyExports;',
    '/** The lazy part\'s exports, one namespace per root; the first call runs its top level. */',
    'export function __tendLazy() {',
    '  if (__tendLazyExports === undefined) {',
    `    const shared = { ${table.join(', ')} };`,
    '    const module = { exports: {} };',
    '    __tendLazyPart(module.exports, (id) => shared[id] ?? require(id), module);',
    '    __tendLazyExports = module.exports;',
    '  }',
    '  return __tendLazyExports;',
    '}',
    // esbuild maps the part through its own source map, back to the TypeScript sources.
    `//# sourceMappingURL=data:application/json;base64,${Buffer.from(map).toString('base64')}`,
  ].join('\n');
  return { plugins: [stubPlugin(lazySource), ...common.plugins] };
}
