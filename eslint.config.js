import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', '.tmp/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error',
      'no-restricted-syntax': ['error', { selector: 'ExportAllDeclaration', message: 'Name exports explicitly (no export *).' }],
    },
  },
  {
    // Apps never import apps, and libs never import apps: shared code goes through #lib imports.
    files: ['apps/**/*.ts', 'libs/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [
        { group: ['**/apps/**', '../../*/src/**', '../../../apps/**'], message: 'Apps never import apps; share code through libs (#protocol, #nats, ...).' },
      ] }],
    },
  },
  {
    // Only the runtime lib's config loader and the test harness read the environment.
    files: ['apps/**/*.ts', 'libs/**/*.ts'],
    ignores: ['libs/runtime/src/**', 'libs/testing/src/**', '**/*.spec.ts'],
    rules: { 'no-restricted-properties': ['error', { object: 'process', property: 'env', message: 'Read configuration through the app config class (libs/runtime loadConfig).' }] },
  },
  {
    files: ['**/*.spec.ts', 'test/**/*.ts'],
    rules: { '@typescript-eslint/no-non-null-assertion': 'off' },
  },
);
