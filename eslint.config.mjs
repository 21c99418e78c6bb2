// Type-checked linting for the TypeScript in apps/, libs/ and test/ (STYLE.md convention 12);
// formatting is prettier's job, so eslint-config-prettier goes last.
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import { defineConfig, globalIgnores } from 'eslint/config';
import tseslint from 'typescript-eslint';

export default defineConfig([
  globalIgnores([
    'dist/',
    'coverage/',
    'bench/results/',
    'deploy/',
    '**/*.cjs',
    // Tool configuration files; scripts/*.mjs below are linted.
    '*.config.mjs',
    'apps/*/*.config.mjs',
  ]),
  {
    files: ['**/*.ts'],
    extends: [js.configs.recommended, tseslint.configs.strictTypeChecked],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      // `const _: never = x` ends exhaustive switches (STYLE.md convention 2).
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' },
      ],
      // Nest modules are decorated empty classes, and static forRoot/forConfig factories.
      '@typescript-eslint/no-extraneous-class': ['error', { allowWithDecorator: true }],
      // `(error) => reject(error)` is idiomatic; returning a void call from a block still counts.
      '@typescript-eslint/no-confusing-void-expression': ['error', { ignoreArrowShorthand: true }],
      // Nest and Express type their options and requests as classes (NestApplicationOptions,
      // IncomingMessage) that are always passed as object literals or subclass instances.
      '@typescript-eslint/no-unsafe-class-instance-assignment': 'off',
      // TypeScript keeps a narrowing across `await` and callbacks, so loops on an AbortSignal or
      // on a flag set by a listener read as "always falsy": every hit here was such a case.
      '@typescript-eslint/no-unnecessary-condition': 'off',
      // Numbers and booleans in messages read fine; objects still need an explicit format.
      '@typescript-eslint/restrict-template-expressions': [
        'error',
        { allowNumber: true, allowBoolean: true },
      ],
    },
  },
  {
    files: ['**/*.spec.ts', '**/*.int-spec.ts', '**/*.e2e-spec.ts', 'test/**/*.ts'],
    rules: {
      // expect(obj.method).toHaveBeenCalled() passes methods unbound on purpose.
      '@typescript-eslint/unbound-method': 'off',
      // expect.any() and friends are typed `any` by @types/jest.
      '@typescript-eslint/no-unsafe-assignment': 'off',
      // rows[0]! after an expect() on the length is the readable form in a test.
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  {
    // The benchmark loads the built command service as compiled JavaScript, on purpose.
    files: ['bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-require-imports': 'off',
    },
  },
  {
    files: ['scripts/**/*.mjs'],
    extends: [js.configs.recommended],
    languageOptions: {
      sourceType: 'module',
      globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', URL: 'readonly' },
    },
  },
  prettier,
]);
