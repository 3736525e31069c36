/**
 * `npm run bench:lambda`: the cold-start share a handler's code controls. Synthesizes the stack
 * with real bundling (as `cdk synth` does; or reads an existing cloud assembly given with
 * `--assembly cdk.out`), then imports each handler bundle in fresh Node 22 processes
 * (scripts/import-probe.mjs), as the Lambda runtime imports it: plainly, and with
 * `--enable-source-maps` as the functions' NODE_OPTIONS set it. The baseline is an empty module
 * imported the same way in the same run; figures are medians, also given as ratios to it.
 * Goal: at most 100 ms per handler. It ends with what the biggest bundle is made of, and what
 * each part (zod, each SDK client) costs to import alone.
 *
 *   npm run bench:lambda [-- --runs 7] [-- --assembly cdk.out]
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { App } from 'aws-cdk-lib';
import { build } from 'esbuild';
import {
  HANDLER_BUNDLE_BUDGET_BYTES,
  handlerBundles,
  type HandlerBundle,
} from '../infra/cdk/handler-bundles';
import { HANDLER_BUNDLING } from '../infra/cdk/handler-function';
import { CipherlineStack } from '../infra/cdk/stack';
import { ROUTE_TABLE } from '../lambdas/route-table';
import { NODE22_PATH, REPO_ROOT, installedNode22Version } from '../scripts/node22.mjs';

const GOAL_MS = 100;
const run = promisify(execFile);
const args = process.argv.slice(2);
const option = (name: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const RUNS = Number(option('runs') ?? 5);

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

interface ImportTime {
  /** Wall time, as a cold start waits for it. */
  readonly ms: number;
  /** CPU time of the importing process: what other load on the machine hardly changes. */
  readonly cpuMs: number;
}

/** Median import time of a module in fresh Node 22 processes, one at a time. */
async function importMs(file: string, sourceMaps: boolean): Promise<ImportTime> {
  const times: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const { stdout } = await run(
      NODE22_PATH,
      [
        ...(sourceMaps ? ['--enable-source-maps'] : []),
        join(REPO_ROOT, 'scripts/import-probe.mjs'),
        pathToFileURL(file).href,
      ],
      { env: { PATH: process.env.PATH ?? '' } },
    );
    const result = JSON.parse(stdout) as { importMs: number; cpuMs: number };
    times.push(result.importMs);
    cpu.push(result.cpuMs);
  }
  return { ms: median(times), cpuMs: median(cpu) };
}

/** The cloud assembly to measure: given, or synthesized now with real bundling. */
function assembly(): { dir: string; cleanup: () => void } {
  const given = option('assembly');
  if (given) return { dir: given, cleanup: () => undefined };
  const dir = mkdtempSync(join(tmpdir(), 'bench-lambda-'));
  console.log('Synthesizing with real bundling (as cdk synth does)...');
  const app = new App({
    outdir: dir,
    builtinCloudFormationValidation: false,
    context: { 'aws:cdk:enable-asset-metadata': true },
  });
  new CipherlineStack(app, 'Cipherline');
  app.synth();
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** esbuild with the stack's bundling options (infra/cdk/handler-function.ts), plus a metafile. */
function bundleLikeTheStack(
  input: { entry: string } | { source: string },
  outfile: string,
  external: string[] = [],
) {
  return build({
    external,
    ...('entry' in input
      ? { entryPoints: [join(REPO_ROOT, input.entry)] }
      : { stdin: { contents: input.source, resolveDir: REPO_ROOT, loader: 'ts' as const } }),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: HANDLER_BUNDLING.target,
    minify: true,
    mainFields: [...(HANDLER_BUNDLING.mainFields ?? [])],
    banner: { js: HANDLER_BUNDLING.banner ?? '' },
    outfile,
    metafile: true,
    logLevel: 'silent',
  });
}

/** Output bytes per package of one handler. */
async function composition(entry: string, dir: string): Promise<[string, number][]> {
  const { metafile } = await bundleLikeTheStack({ entry }, join(dir, 'composition.mjs'));
  const bytes = new Map<string, number>();
  for (const output of Object.values(metafile.outputs))
    for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
      const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input);
      const group = match
        ? match[1]!.replace(/^(@aws-sdk|@smithy|@aws-crypto)\/.*/, '$1/*')
        : 'cipherline';
      bytes.set(group, (bytes.get(group) ?? 0) + bytesInOutput);
    }
  return [...bytes].sort((a, b) => b[1] - a[1]);
}

/** The parts a command handler is made of, each bundled alone as the stack bundles a handler. */
const PARTS: Record<string, string> = {
  'zod (the frame schemas)':
    "import { z } from 'zod'; export const s = z.object({ a: z.string() });",
  'DynamoDB client + lib-dynamodb':
    "export { DynamoDBClient } from '@aws-sdk/client-dynamodb'; export { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';",
  'S3 client + presigner':
    "export { S3Client } from '@aws-sdk/client-s3'; export { getSignedUrl } from '@aws-sdk/s3-request-presigner';",
  '@connections client':
    "export { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';",
  'SQS client': "export { SQSClient } from '@aws-sdk/client-sqs';",
};

const kb = (bytes: number) => `${(bytes / 1024).toFixed(0)} KB`;
const ms = (value: number) => `${value.toFixed(1)} ms`;

async function main() {
  const version = installedNode22Version();
  if (!version) throw new Error('tools/node22 is missing: run npm install.');
  console.log(
    `Node ${version}, ${RUNS} fresh processes per figure; load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  const { dir, cleanup } = assembly();
  const scratch = mkdtempSync(join(tmpdir(), 'bench-lambda-parts-'));
  try {
    const bundles = handlerBundles(dir).sort((a, b) => a.bytes - b.bytes);
    const empty = join(scratch, 'empty.mjs');
    writeFileSync(empty, 'export const handler = async () => ({ statusCode: 200 });\n');
    const baseline = { plain: await importMs(empty, false), maps: await importMs(empty, true) };
    const show = (t: ImportTime, base: ImportTime) =>
      `${ms(t.ms).padStart(10)}${ms(t.cpuMs).padStart(10)}${`${(t.cpuMs / base.cpuMs).toFixed(0)}×`.padStart(7)}`;
    console.log(
      `\nbaseline, an empty module: ${ms(baseline.plain.ms)} wall / ${ms(baseline.plain.cpuMs)} CPU; with source maps ${ms(baseline.maps.ms)} / ${ms(baseline.maps.cpuMs)}`,
    );
    console.log(
      '(wall: what a cold start waits; CPU: the importing process alone, hardly moved by other load; × base: CPU ratio to the empty module)\n',
    );
    console.log(
      `${'handler'.padEnd(15)}${'bundle'.padStart(8)}${'wall'.padStart(10)}${'CPU'.padStart(10)}${'× base'.padStart(7)}  |  with --enable-source-maps (as deployed)  goal ≤ ${GOAL_MS} ms`,
    );
    const rows: { bundle: HandlerBundle; plain: ImportTime; maps: ImportTime }[] = [];
    for (const bundle of bundles) {
      const plain = await importMs(bundle.file, false);
      const maps = await importMs(bundle.file, true);
      rows.push({ bundle, plain, maps });
      const verdict = maps.ms <= GOAL_MS ? 'met' : 'missed';
      const budget = bundle.bytes > HANDLER_BUNDLE_BUDGET_BYTES ? ', over the size budget' : '';
      console.log(
        `${bundle.name.padEnd(15)}${kb(bundle.bytes).padStart(8)}${show(plain, baseline.plain)}  |${show(maps, baseline.maps)}  ${verdict}${budget}`,
      );
    }
    const within = (pick: (r: (typeof rows)[number]) => number) =>
      rows.filter((r) => pick(r) <= GOAL_MS).length;
    console.log(
      `\nWithin ${GOAL_MS} ms of wall time as deployed (source maps): ${within((r) => r.maps.ms)} of ${rows.length}; without source maps: ${within((r) => r.plain.ms)}. In CPU time: ${within((r) => r.maps.cpuMs)} and ${within((r) => r.plain.cpuMs)}.`,
    );
    const biggest = rows.at(-1)!;
    const entry = Object.entries(ROUTE_TABLE).find(([name]) => name === biggest.bundle.name)?.[1]
      .entry;
    if (entry) {
      console.log(`\nWhat ${biggest.bundle.name}'s bundle is made of (minified bytes):`);
      for (const [group, bytes] of (await composition(entry, scratch)).slice(0, 8))
        console.log(`  ${group.padEnd(34)}${kb(bytes).padStart(9)}`);
    }
    console.log(
      '\nWhat each part costs alone (bundled and imported the same way, no source maps):',
    );
    for (const [part, source] of Object.entries(PARTS)) {
      const file = join(scratch, `part-${Object.keys(PARTS).indexOf(part)}.mjs`);
      await bundleLikeTheStack({ source }, file);
      const plain = await importMs(file, false);
      console.log(
        `  ${part.padEnd(34)}${kb(statSync(file).size).padStart(9)}${show(plain, baseline.plain)}`,
      );
    }
    // The alternative to bundling the SDK: leave it to the runtime's node_modules (CDK's default).
    // The bundle must sit where node_modules resolves, as the runtime's SDK does for a handler.
    const unbundledDir = join(REPO_ROOT, 'node_modules', '.cache', 'bench-lambda');
    const unbundled = join(unbundledDir, 'send-sdk-external.mjs');
    await bundleLikeTheStack({ entry: ROUTE_TABLE.send.entry }, unbundled, ['@aws-sdk/*']);
    const external = await importMs(unbundled, false);
    console.log(
      `  ${'send, SDK from node_modules'.padEnd(34)}${kb(statSync(unbundled).size).padStart(9)}${show(external, baseline.plain)}`,
    );
    rmSync(unbundledDir, { recursive: true, force: true });
    console.log(
      `\nload average at the end ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}`,
    );
  } finally {
    cleanup();
    rmSync(scratch, { recursive: true, force: true });
  }
}

await main();
