/** Production builds of the PWA for tests and the web benchmark (`npm run build:web` does the same). */
import { resolve } from 'node:path';
import { build } from 'vite';
import { WEB_ROOT } from '../infra/local/web';

/** Builds the PWA into `outDir`; `buildId` is shown in Settings, so two builds differ. */
export async function buildPwa(outDir: string, buildId: string): Promise<void> {
  const previous = process.env.CIPHERLINE_BUILD_ID;
  process.env.CIPHERLINE_BUILD_ID = buildId;
  try {
    await build({
      root: WEB_ROOT,
      configFile: resolve(WEB_ROOT, 'vite.config.ts'),
      build: { outDir, emptyOutDir: true },
      logLevel: 'warn',
    });
  } finally {
    if (previous === undefined) delete process.env.CIPHERLINE_BUILD_ID;
    else process.env.CIPHERLINE_BUILD_ID = previous;
  }
}
