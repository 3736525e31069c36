/** Builds the production-policy probe (test/web/production-policy.test.ts) beside a PWA build. */
import { join, resolve } from 'node:path';
import { build } from 'vite';

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
