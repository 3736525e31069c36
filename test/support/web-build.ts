/** Production builds of the PWA for tests and the web benchmark (`npm run build:web` does the same). */
import { join, resolve } from 'node:path';
import { build } from 'vite';
import { WEB_ROOT } from '../../infra/local/web';

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

/** The policy probe's sources (test/web/production-policy.test.ts). */
export const POLICY_PROBE_ROOT = resolve(import.meta.dirname, '../browser/policy-probe');
/** Where the probe is served, beside the app in the same build folder. */
export const POLICY_PROBE_PATH = '/policy-probe/';

/**
 * Builds the policy probe as the app is built (Vite, production mode, the production flag
 * defined, module workers bundled as files) into `<buildDir>/policy-probe/`.
 */
export async function buildPolicyProbe(buildDir: string): Promise<void> {
  await build({
    root: POLICY_PROBE_ROOT,
    configFile: false,
    base: POLICY_PROBE_PATH,
    define: { __CIPHERLINE_PRODUCTION__: 'true' },
    worker: { format: 'es' },
    build: {
      outDir: join(buildDir, POLICY_PROBE_PATH),
      emptyOutDir: true,
      target: 'es2022',
    },
    logLevel: 'warn',
  });
}
