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

/** An import specifier that climbs out of its folder into one of `folders` (top-level names). */
const into = (folders, message) => ({
  regex: `^(\\.\\./)+(${folders.join('|')})(/|$)`,
  message,
});
/** Nothing but test/ imports test/: shared helpers live in tools/. */
const noTest = into(['test'], 'Only tests import test/: move a shared helper to tools/.');
/** protocol/ files by layer: primitives, then events, then frames; each imports only layers before it. */
const PROTOCOL_EVENTS = ['events'];
const PROTOCOL_FRAMES = [
  'frames',
  'commands',
  'sessions',
  'groups',
  'blobs',
  'catch-up',
  'replies',
];
const sibling = (names, message) => ({ regex: `^\\./(${names.join('|')})$`, message });

const layers = [
  {
    // protocol/ is what the server and every client share: it imports only itself.
    files: ['protocol/**/*.ts'],
    paths: runtimeNeutralImportPaths,
    patterns: [
      ...runtimeNeutralImportPatterns,
      { regex: '^\\.\\./', message: 'protocol/ imports nothing outside protocol/.' },
    ],
  },
  {
    files: ['protocol/events.ts'],
    paths: runtimeNeutralImportPaths,
    patterns: [
      ...runtimeNeutralImportPatterns,
      { regex: '^\\.\\./', message: 'protocol/ imports nothing outside protocol/.' },
      sibling(
        PROTOCOL_FRAMES,
        'protocol/events.ts is below the frames: frames import events, not the other way.',
      ),
    ],
  },
  {
    // The primitives (bytes, errors, limits, routes, user names, signatures, group statements).
    files: ['protocol/**/*.ts'],
    ignores: [...PROTOCOL_EVENTS, ...PROTOCOL_FRAMES].map((name) => `protocol/${name}.ts`),
    paths: runtimeNeutralImportPaths,
    patterns: [
      ...runtimeNeutralImportPatterns,
      { regex: '^\\.\\./', message: 'protocol/ imports nothing outside protocol/.' },
      sibling(
        [...PROTOCOL_EVENTS, ...PROTOCOL_FRAMES],
        'protocol primitives import no frames or events: move what both need into a primitive.',
      ),
    ],
  },
  {
    // The client core builds on protocol/ only; the session sees its platform through ports.
    files: ['client/**/*.ts'],
    ignores: ['client/node/**', 'client/session/**'],
    paths: runtimeNeutralImportPaths,
    patterns: [
      ...runtimeNeutralImportPatterns,
      into(
        ['lambdas', 'infra', 'cli', 'web', 'test', 'tools', 'bench', 'scripts'],
        'client/ imports only client/ and protocol/.',
      ),
    ],
  },
  {
    files: ['client/session/**/*.ts'],
    paths: runtimeNeutralImportPaths,
    patterns: [
      ...runtimeNeutralImportPatterns,
      {
        regex: '^(?!\\./|\\.\\./crypto/|\\.\\./\\.\\./protocol/)',
        message:
          'client/session/ imports only client/session/, client/crypto/ and protocol/: platform code comes in through its ports.',
      },
    ],
  },
  {
    // Node adapters of the client's ports: Node built-ins, but still only client/ and protocol/.
    files: ['client/node/**/*.ts'],
    patterns: [
      into(
        ['lambdas', 'infra', 'cli', 'web', 'test', 'tools', 'bench', 'scripts'],
        'client/ imports only client/ and protocol/.',
      ),
    ],
  },
  {
    files: ['cli/**/*.ts', 'web/**/*.ts', 'web/**/*.svelte'],
    patterns: [
      into(
        ['lambdas', 'infra', 'test', 'tools', 'bench', 'scripts'],
        'The clients (cli/, web/) import only client/, protocol/ and themselves.',
      ),
      { regex: '^(\\.\\./)+(cli|web)/', message: 'cli/ and web/ do not import each other.' },
    ],
  },
  {
    // The server imports protocol/ and itself; infra/ builds on it, never the other way.
    files: ['lambdas/**/*.ts'],
    ignores: ['lambdas/stores/**', 'lambdas/shared/**', 'lambdas/commands/**'],
    patterns: [
      into(
        ['infra', 'client', 'cli', 'web', 'test', 'tools', 'bench', 'scripts'],
        'lambdas/ imports only lambdas/ and protocol/.',
      ),
    ],
  },
  {
    // A store is a port, its adapter and its table: it knows no command, no shared piece, no runtime.
    files: ['lambdas/stores/**/*.ts'],
    patterns: [
      into(
        ['infra', 'client', 'cli', 'web', 'test', 'tools', 'bench', 'scripts'],
        'lambdas/ imports only lambdas/ and protocol/.',
      ),
      {
        regex: '^\\.\\./(commands|shared|background|runtime|route-table|route-grants|tables)(/|$)',
        message:
          'Stores import only stores, lambdas/timing.ts and protocol/: commands use stores, not the other way.',
      },
      {
        regex: '^\\.\\./\\.\\./protocol/errors$',
        message:
          'Stores return outcomes; the command decides the error code (ProtocolError belongs to commands).',
      },
    ],
  },
  {
    files: ['lambdas/shared/**/*.ts'],
    patterns: [
      into(
        ['infra', 'client', 'cli', 'web', 'test', 'tools', 'bench', 'scripts'],
        'lambdas/ imports only lambdas/ and protocol/.',
      ),
      {
        regex: '^\\.\\./(commands|background)/',
        message: 'Shared pieces serve the commands: they never import one.',
      },
    ],
  },
  {
    files: ['lambdas/commands/**/*.ts'],
    patterns: [
      into(
        ['infra', 'client', 'cli', 'web', 'test', 'tools', 'bench', 'scripts'],
        'lambdas/ imports only lambdas/ and protocol/.',
      ),
      {
        regex: '^\\./|^\\.\\./background/',
        message:
          'A command imports no other command: move what two commands share to lambdas/shared/.',
      },
    ],
  },
  {
    files: ['infra/**/*.ts'],
    patterns: [
      into(['web/src'], 'infra/ never imports web/ source (it builds web/ with Vite).'),
      noTest,
    ],
  },
  {
    files: ['tools/**/*.ts', 'bench/**/*.ts', 'scripts/**/*.ts', 'scripts/**/*.mjs'],
    patterns: [noTest],
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
    },
  },
  {
    files: ['**/*.svelte', '**/*.svelte.ts'],
    languageOptions: {
      parserOptions: { parser: tseslint.parser, extraFileExtensions: ['.svelte'] },
    },
  },
  {
    // Exhaustive switches: a case left out of a union is an error (the default calls
    // protocol/missing-case.ts missingCase). Needs type information: the files of tsconfig.json.
    files: ['{protocol,client,lambdas,infra,cli}/**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/switch-exhaustiveness-check': [
        'error',
        { considerDefaultExhaustiveForUnions: false, requireDefaultForNonUnion: false },
      ],
    },
  },
  // Layering (docs/server.md "Where things are"): each folder imports only the folders below it.
  ...layers.map(({ files, ignores, patterns, paths }) => ({
    files,
    ...(ignores && { ignores }),
    rules: {
      'no-restricted-imports': ['error', { paths: paths ?? [], patterns }],
    },
  })),
  {
    // Runtime-neutral code touches no Node or DOM global (imports are in the layers above).
    files: ['protocol/**/*.ts', 'client/**/*.ts'],
    ignores: ['client/node/**'],
    rules: { 'no-restricted-globals': ['error', ...platformGlobals] },
  },
);
