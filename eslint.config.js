// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import svelte from 'eslint-plugin-svelte';
import globals from 'globals';

/** Node and DOM names that runtime-neutral code (shared by Lambdas, Node CLI, browser and workers) must not touch. */
const platformGlobals = [
  'window',
  'document',
  'localStorage',
  'sessionStorage',
  'indexedDB',
  'navigator',
  'process',
  'Buffer',
  'require',
  '__dirname',
  '__filename',
  'global',
].map((name) => ({
  name,
  message: 'protocol/ and client/ are runtime-neutral: inject it instead.',
}));

/** Node built-ins, which runtime-neutral code must not import. */
const runtimeNeutralImportPatterns = [
  {
    group: ['node:*'],
    message: 'protocol/ and client/ are runtime-neutral: no Node built-ins.',
  },
  {
    group: [
      'fs',
      'path',
      'os',
      'crypto',
      'http',
      'https',
      'net',
      'stream',
      'worker_threads',
      'child_process',
    ],
    message: 'protocol/ and client/ are runtime-neutral: no Node built-ins.',
  },
];

export default tseslint.config(
  { ignores: ['node_modules/', '.local/', 'cdk.out/', 'web/dist/', '**/*.d.ts'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  ...svelte.configs['flat/recommended'],
  {
    languageOptions: { globals: { ...globals.node, ...globals.browser } },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'off',
    },
  },
  {
    files: ['**/*.svelte', '**/*.svelte.ts'],
    languageOptions: {
      parserOptions: { parser: tseslint.parser, extraFileExtensions: ['.svelte'] },
    },
  },
  {
    // Signal-Desktop's rule: code shared by server, terminal and browser stays runtime-neutral.
    files: ['protocol/**/*.ts', 'client/**/*.ts'],
    ignores: ['client/node/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: runtimeNeutralImportPatterns,
        },
      ],
      'no-restricted-globals': ['error', ...platformGlobals],
    },
  },
  {
    // protocol/ is what the server and every client share: it may import only itself (and
    // libraries), never client/, lambdas/ or infra/.
    files: ['protocol/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            ...runtimeNeutralImportPatterns,
            {
              group: ['../*', '!../protocol/*'],
              message: 'protocol/ imports nothing outside protocol/.',
            },
          ],
        },
      ],
    },
  },
);
