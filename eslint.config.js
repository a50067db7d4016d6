// Lint: typescript-eslint strict type-checked rules, plus the import boundaries from docs/architecture.md.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'build/**', '**/node_modules/**', 'bin/**', 'test/fixtures/**', '**/*.js', '**/*.cjs', '**/*.mjs'] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }],
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['src/app/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['**/runner/**', '**/core/**', '**/cli/**'], message: 'app/ must not load the supervisor (keeps `import "tend"` cheap).' }] }],
    },
  },
  {
    files: ['src/systemd/**/*.ts', 'src/os/**/*.ts', 'src/config/**/*.ts', 'src/protocol/**/*.ts', 'src/health/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['**/cli/**', '**/runner/**'], message: 'the module map: these folders never import runner/ or cli/ (docs/architecture.md).' }] }],
    },
  },
  {
    files: ['src/runner/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['**/cli/**'], message: 'nothing imports cli/.' }] }],
    },
  },
  {
    files: ['src/preload/**/*.cts', 'src/preload/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ regex: '^\\.\\./(?!contract/)', message: 'the preload runs inside workers: node: modules, its own folder and contract/ only.' }] }],
    },
  },
  {
    // The contract is loaded by both sides, the worker's included: self-contained, like the preload.
    files: ['src/contract/**/*.cts', 'src/contract/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['../*', '!./*'], message: 'contract/ is loaded inside workers: node: modules and its own folder only.' }] }],
    },
  },
  {
    // Side effects enter in one place: process.exit only in cli/, process.on('SIG…') only in os/signals.ts and the preload.
    files: ['src/**/*.ts', 'src/**/*.cts'],
    ignores: ['src/cli/**', 'src/os/signals.ts', 'src/preload/**'],
    rules: {
      'no-restricted-syntax': ['error',
        { selector: "CallExpression[callee.object.name='process'][callee.property.name='exit']", message: 'process.exit belongs to cli/ only.' },
        { selector: "CallExpression[callee.object.name='process'][callee.property.name=/^(on|once|addListener|prependListener)$/][arguments.0.value=/^SIG/]", message: "process.on('SIG…') belongs to os/signals.ts only." },
      ],
    },
  },
  {
    files: ['src/cli/**/*.ts'],
    rules: {
      'no-restricted-syntax': ['error',
        { selector: "CallExpression[callee.object.name='process'][callee.property.name=/^(on|once|addListener|prependListener)$/][arguments.0.value=/^SIG/]", message: "process.on('SIG…') belongs to os/signals.ts only." },
      ],
      },
    },
  {
    // tend's own process starts child_process children only through os/child-process.ts, which tells the reaper.
    files: ['src/**/*.ts'],
    ignores: ['src/os/child-process.ts', 'src/preload/**', 'src/app/**'],
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', {
        paths: [{ name: 'node:child_process', allowTypeImports: true, message: 'start children through os/child-process.ts (spawnChild), so the reaper never takes their exit status.' }],
      }],
    },
  },
  {
    files: ['src/**/*.ts', 'src/**/*.cts'],
    rules: {
      'max-lines-per-function': ['error', { max: 120, skipBlankLines: true, skipComments: true }],
      complexity: ['error', 20],
    },
  },
  {
    // The core is pure: it may import values only from core/ itself; types from anywhere (docs/architecture.md).
    files: ['src/core/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', {
        patterns: [{ regex: '^(?!\\./)', allowTypeImports: true, message: 'core/ may import values only from core/: use `import type`, or move the value into core/.' }],
      }],
      // With verbatimModuleSyntax, `import { type X } from '../y.js'` still loads ../y.js at run time.
      '@typescript-eslint/no-import-type-side-effects': 'error',
      'no-restricted-syntax': ['error',
        { selector: 'ImportExpression', message: 'core/ does not load modules at run time.' },
        { selector: "CallExpression[callee.object.name='process']", message: 'core/ is pure: no process.* calls.' },
      ],
    },
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
      // node:test's describe/it return promises the runner itself awaits.
      '@typescript-eslint/no-floating-promises': ['error', {
        allowForKnownSafeCalls: [{ from: 'package', name: ['describe', 'it', 'test', 'suite'], package: 'node:test' }],
      }],
    },
  },
);
