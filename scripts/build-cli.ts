/**
 * `npm run build:cli`: the terminal client as one runnable file, dist/cli/cipherline.mjs
 * (`node dist/cli/cipherline.mjs --user alice`). A production build: __CIPHERLINE_PRODUCTION__
 * is true, so the test-only cheap password hash is refused (client/crypto/kdf-settings.ts). The
 * file-chunk workers run the same file (cli/entry.ts), so nothing else has to ship beside it.
 */
import { chmod } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';

const root = resolve(import.meta.dirname, '..');

export async function buildCli(
  outfile = join(root, 'dist', 'cli', 'cipherline.mjs'),
): Promise<string> {
  await build({
    entryPoints: [join(root, 'cli', 'entry.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    minify: false,
    sourcemap: false,
    legalComments: 'none',
    logLevel: 'error',
    define: { __CIPHERLINE_PRODUCTION__: 'true', __CIPHERLINE_CLI_BUNDLE__: 'true' },
    // Bundled CommonJS (ws) still calls require(): give the ES module one.
    banner: {
      js: "#!/usr/bin/env node\nimport { createRequire as __cipherlineRequire } from 'node:module';\nconst require = __cipherlineRequire(import.meta.url);",
    },
  });
  await chmod(outfile, 0o755);
  return outfile;
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  const outfile = await buildCli(process.argv[2]);
  console.log(`Built ${outfile}`);
}
