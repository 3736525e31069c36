/**
 * The real thing, once: `npx cdk synth` offline (cdk-nag and CDK's template validation included),
 * bundling every handler with the local esbuild as `cdk deploy` would. Then every bundle is held
 * to its size budget and imported in a fresh Node 22 process (the Lambda runtime's major version),
 * and the template carries what `sam local invoke` needs. The PWA is built into the assembly too.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { builtinModules } from 'node:module';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  HANDLER_BUNDLE_BUDGET_BYTES,
  handlerBundles,
  type HandlerBundle,
} from '../../infra/cdk/handler-bundles';
import { mapWithPool } from '../../lambdas/shared/pool';
import { ALL_FUNCTION_SPECS } from '../../lambdas/route-table';
import { NODE22_PATH, REPO_ROOT, installedNode22Version } from '../../scripts/node22.mjs';
import { EVENTS_DIR, sampleEventFile } from '../../scripts/sample-events';

const run = promisify(execFile);
let out: string;
let bundles: HandlerBundle[];
let template: { Resources: Record<string, { Type: string; Properties: { Description?: string } }> };

beforeAll(async () => {
  out = mkdtempSync(join(tmpdir(), 'cdk-out-'));
  // A dead proxy: any attempt to reach the network fails instead of silently succeeding.
  const env = {
    ...process.env,
    HTTPS_PROXY: 'http://127.0.0.1:9',
    HTTP_PROXY: 'http://127.0.0.1:9',
    CDK_DISABLE_VERSION_CHECK: '1',
  };
  await run('npx', ['cdk', 'synth', '--quiet', '--output', out], { cwd: REPO_ROOT, env });
  template = JSON.parse(
    readFileSync(join(out, 'Cipherline.template.json'), 'utf8'),
  ) as typeof template;
  bundles = handlerBundles(out);
}, 600_000);
afterAll(() => {
  if (out) rmSync(out, { recursive: true, force: true });
});

/** What a bundle still imports at run time (esbuild parses it: strings that look like imports do not count). */
async function runtimeImports(file: string): Promise<string[]> {
  const { metafile } = await build({
    entryPoints: [file],
    bundle: true,
    packages: 'external',
    platform: 'node',
    format: 'esm',
    write: false,
    metafile: true,
    outfile: 'out.mjs',
    logLevel: 'silent',
  });
  const imports = Object.values(metafile.inputs).flatMap((input) => input.imports);
  return [...new Set(imports.filter((i) => i.external).map((i) => i.path))];
}

const isBuiltin = (path: string) => path.startsWith('node:') || builtinModules.includes(path);

/** Imports a bundle in a fresh Node 22 process (scripts/import-probe.mjs), optionally invoking it. */
async function probe(bundle: HandlerBundle, eventFile?: string) {
  const args = [join(REPO_ROOT, 'scripts/import-probe.mjs'), pathToFileURL(bundle.file).href];
  if (eventFile) args.push(eventFile);
  const { stdout } = await run(NODE22_PATH, args, { env: { PATH: process.env.PATH ?? '' } });
  return JSON.parse(stdout) as {
    version: string;
    handler: boolean;
    invoked?: { statusCode: number; body: string };
  };
}

describe('`npx cdk synth`', () => {
  it('works offline, with notices and telemetry off and cdk-nag passing', () => {
    const cdkJson = JSON.parse(readFileSync(join(REPO_ROOT, 'cdk.json'), 'utf8')) as {
      notices: boolean;
      context: Record<string, unknown>;
    };
    expect(cdkJson.notices).toBe(false);
    expect(cdkJson.context['cli-telemetry']).toBe(false);
    expect(bundles.map((b) => b.name).sort()).toEqual(ALL_FUNCTION_SPECS.map(([n]) => n).sort());
  });

  it('bundles every handler with the AWS SDK inside, within the size budget', async () => {
    for (const bundle of bundles) {
      expect(bundle.bytes, `${bundle.name}: ${bundle.bytes} bytes`).toBeLessThanOrEqual(
        HANDLER_BUNDLE_BUDGET_BYTES,
      );
      // Nothing but Node's own modules is left for the runtime to provide: the SDK version the
      // tests ran against is the one deployed.
      const imports = await runtimeImports(bundle.file);
      expect(
        imports.filter((path) => !isBuiltin(path)),
        bundle.name,
      ).toEqual([]);
      expect(imports.length, bundle.name).toBeGreaterThan(0); // the check sees imports at all
    }
    const sizes = new Map(bundles.map((b) => [b.name, b.bytes]));
    // The store clients live in command handlers only: $default ships none of them.
    expect(sizes.get('$default')!).toBeLessThan(sizes.get('send')! / 2);
  });

  it('imports every bundle in a fresh Node 22 process, each exporting its handler', async () => {
    expect(installedNode22Version(), 'tools/node22 is installed by npm install').toMatch(/^v22\./);
    const results = await mapWithPool(bundles, 2, async (bundle) => ({
      name: bundle.name,
      ...(await probe(bundle)),
    }));
    for (const result of results) {
      expect(result.version, result.name).toMatch(/^v22\./);
      expect(result.handler, result.name).toBe(true);
    }
  }, 300_000);

  it('builds the PWA into the assembly, the source of the web deployment', () => {
    const raw = JSON.parse(readFileSync(join(out, 'Cipherline.template.json'), 'utf8')) as {
      Resources: Record<string, { Type: string; Properties: { SourceObjectKeys?: string[] } }>;
    };
    const builds = new Set(
      Object.values(raw.Resources)
        .filter((r) => r.Type === 'Custom::CDKBucketDeployment')
        .map((r) => r.Properties.SourceObjectKeys![0]!.replace(/\.zip$/, '')),
    );
    expect(builds.size).toBe(1);
    const dir = join(out, `asset.${[...builds][0]!}`);
    for (const file of ['index.html', 'sw.js', 'manifest.webmanifest'])
      expect(existsSync(join(dir, file)), file).toBe(true);
    const script = /src="\/(assets\/index-[^"]+\.js)"/.exec(
      readFileSync(join(dir, 'index.html'), 'utf8'),
    )![1]!;
    expect(existsSync(join(dir, script)), script).toBe(true);
    // Vite's manifest is for tools, and config.json is written at deploy time.
    expect(existsSync(join(dir, '.vite'))).toBe(false);
    expect(existsSync(join(dir, 'config.json'))).toBe(false);
  });

  it('runs a bundle on its sample event in Node 22 ($default needs no cloud)', async () => {
    const bundle = bundles.find((b) => b.name === '$default')!;
    const { invoked } = await probe(bundle, join(EVENTS_DIR, 'default.json'));
    expect(invoked?.statusCode).toBe(200);
    expect(JSON.parse(invoked!.body)).toMatchObject({ type: 'error', code: 'BAD_REQUEST' });
  });
});

describe('SAM', () => {
  it('finds each function by logical id, with its code folder recorded in the template', () => {
    for (const bundle of bundles) {
      expect(template.Resources[bundle.logicalId]?.Type).toBe('AWS::Lambda::Function');
      expect(bundle.assetPath).toMatch(/^asset\.[0-9a-f]{64}$/);
    }
  });

  it('lists in the README the logical id of every function with its sample event', () => {
    const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Run one handler with SAM'));
    const rows = new Map(
      [...section.matchAll(/^\| `([^`]+)` +\| `(events\/[^`]+)` +\| `([A-Za-z0-9]+)` +\|$/gm)].map(
        (m) => [m[1]!, { event: m[2]!, logicalId: m[3]! }],
      ),
    );
    for (const [name, spec] of ALL_FUNCTION_SPECS) {
      const row = rows.get(name);
      expect(row, `README row for ${name}`).toBeDefined();
      expect(row!.event).toBe(`events/${sampleEventFile(spec.entry)}`);
      expect(bundles.find((b) => b.name === name)?.logicalId, name).toBe(row!.logicalId);
    }
  });
});
