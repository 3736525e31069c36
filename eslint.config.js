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

/** Node built-ins, which runtime-neutral code must not import. Exact names (`paths`): a pattern
 * such as 'crypto' would also match '../crypto/keys'. */
const runtimeNeutralImportPaths = [
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
].map((name) => ({
  name,
  message: 'protocol/ and client/ are runtime-neutral: no Node built-ins.',
}));
const runtimeNeutralImportPatterns = [
  {
    group: ['node:*'],
    message: 'protocol/ and client/ are runtime-neutral: no Node built-ins.',
  },
];

export default tseslint.config(
  { ignores: ['node_modules/', '.local/', 'cdk.out/', 'web/dist/', 'dist/', '**/*.d.ts'] },
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
          paths: runtimeNeutralImportPaths,
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
          paths: runtimeNeutralImportPaths,
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
  {
    // The session is shared by the terminal client and the PWA: its platform comes in through
    // ports (client/session/ports.ts), so it builds on the crypto core and the protocol only.
    files: ['client/session/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^(?!\\./|\\.\\./crypto/|\\.\\./\\.\\./protocol/)',
              message:
                'client/session/ imports only client/session/, client/crypto/ and protocol/: platform code comes in through its ports.',
            },
          ],
        },
      ],
    },
  },
);
