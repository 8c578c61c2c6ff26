// ESLint flat config for the whole monorepo. Lint is for bugs; Prettier owns style, so no
// formatting rules live here.
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

const tsFiles = ['**/*.ts', '**/*.tsx', '**/*.mts', '**/*.cts'];
const jsFiles = ['**/*.js', '**/*.mjs', '**/*.cjs'];

// Files type-checked by their package's tsconfig.check.json (src + test) or tools/tsconfig.json.
const typeCheckedFiles = [
  'packages/*/src/**/*.ts',
  'packages/*/src/**/*.tsx',
  'packages/*/test/**/*.ts',
  'tools/*.mjs',
  'tools/lib/**/*.mjs',
  'tools/test/**/*.ts',
  'tools/vitest.config.ts',
];

export default defineConfig(
  {
    ignores: [
      '**/node_modules/**',
      '**/dist/**',
      '**/coverage/**',
      '**/.turbo/**',
      '**/src/gen/**',
      'bench-out/**',
      // Fixture monorepos of the layering check: deliberately broken imports, not real code.
      'tools/test/fixtures/**',
    ],
  },
  {
    linterOptions: { reportUnusedDisableDirectives: 'error' },
  },
  {
    files: [...tsFiles, ...jsFiles],
    extends: [js.configs.recommended, tseslint.configs.recommended],
    languageOptions: { ecmaVersion: 2023, sourceType: 'module' },
    rules: {
      // TypeScript checks names; ESLint's no-undef does not know Node or DOM globals.
      'no-undef': 'off',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
      // `any` is a type-safety smell, not a bug by itself; tsc strict mode already limits it.
      '@typescript-eslint/no-explicit-any': 'off',
      // Empty functions are legitimate no-op callbacks (e.g. `.catch(() => {})` on purpose).
      '@typescript-eslint/no-empty-function': 'off',
      // A generator that only throws is a legitimate test double for a failing stream.
      'require-yield': 'off',
      // Non-null assertions are sometimes the honest answer under noUncheckedIndexedAccess.
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  {
    // The rules that need type information: each catches a real class of bug.
    files: typeCheckedFiles,
    languageOptions: {
      parserOptions: {
        // Test files are only in tsconfig.check.json (tsconfig.json builds src only), so point
        // the parser at those instead of the project service's nearest-tsconfig.json lookup.
        project: ['packages/*/tsconfig.check.json', 'tools/tsconfig.json'],
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      // An un-awaited promise loses its errors and its ordering.
      '@typescript-eslint/no-floating-promises': 'error',
      // A promise where a boolean or a void callback is expected is never awaited.
      '@typescript-eslint/no-misused-promises': 'error',
      // Adding a member to a union must touch every switch over it (a `default` also counts).
      '@typescript-eslint/switch-exhaustiveness-check': [
        'error',
        { considerDefaultExhaustiveForUnions: true, requireDefaultForNonUnion: false },
      ],
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/no-for-in-array': 'error',
      '@typescript-eslint/only-throw-error': 'error',
      '@typescript-eslint/no-implied-eval': 'error',
      '@typescript-eslint/require-array-sort-compare': ['error', { ignoreStringArrays: true }],
    },
  },
);
