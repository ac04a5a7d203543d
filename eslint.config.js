import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

export default tseslint.config(
  { ignores: ['dist/**', 'libs/*/dist/**', 'node_modules/**', 'coverage/**', '.tmp/**'] },
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
        { group: ['**/apps/**', '../../*/src/**', '../../../apps/**'], message: 'Apps never import apps; share code through the @taskmesh/* packages (libs/).' },
      ] }],
    },
  },
  {
    // Apps reach NATS only through libs/nats (the MeshBus methods and ports): never a @nats-io package, never the
    // bus's raw connection or JetStream clients. The first block's restriction is repeated: flat config replaces it.
    files: ['apps/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [
        { group: ['**/apps/**', '../../*/src/**', '../../../apps/**'], message: 'Apps never import apps; share code through the @taskmesh/* packages (libs/).' },
        { group: ['@nats-io/*'], message: 'Apps reach NATS through @taskmesh/nats (MeshBus and its ports), never @nats-io directly.' },
      ] }],
      'no-restricted-syntax': ['error',
        { selector: 'ExportAllDeclaration', message: 'Name exports explicitly (no export *).' },
        { selector: "MemberExpression[object.name='bus'][property.name=/^(nc|js|jsm)$/]", message: 'Use a MeshBus method (libs/nats), not the raw connection or JetStream clients.' },
        { selector: "MemberExpression[object.property.name='bus'][property.name=/^(nc|js|jsm)$/]", message: 'Use a MeshBus method (libs/nats), not the raw connection or JetStream clients.' },
      ],
    },
  },
  {
    // Only the runtime lib's config loader and the test harness read the environment.
    files: ['apps/**/*.ts', 'libs/**/*.ts'],
    ignores: ['libs/runtime/src/**', 'libs/testing/src/**', '**/*.spec.ts'],
    rules: { 'no-restricted-properties': ['error', { object: 'process', property: 'env', message: 'Read configuration through the app config class (libs/runtime loadConfig).' }] },
  },
  {
    // The dashboard's page runs in the browser.
    files: ['apps/dashboard/web/**/*.{ts,tsx}'],
    languageOptions: { globals: { ...globals.browser } },
  },
  {
    files: ['**/*.spec.ts', 'test/**/*.ts'],
    rules: { '@typescript-eslint/no-non-null-assertion': 'off' },
  },
);
