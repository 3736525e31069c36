#!/usr/bin/env node
/**
 * `npm test`: lint, typecheck, then every vitest suite (unit, integration on the local stack,
 * CDK, browser), then the handler and local-cloud suites once more on Node 22, the Lambda
 * runtime's major version (tools/node22). Browser suites need Chromium: installed here with apt
 * when we are root, otherwise we stop and say what to install. Ends with one plain summary line.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NODE22_PATH, NODE22_VERSION, REPO_ROOT, installedNode22Version } from './node22.mjs';

/**
 * What runs again on Node 22: everything that executes handler code or the local cloud. Not the
 * start command's test (it starts `npm start`, which runs on the development Node anyway), nor
 * the CDK, client and browser suites (no handler code runs in them; the bundle test imports
 * every bundle in Node 22 itself).
 */
const NODE22_SUITES = [
  'test/server',
  'test/lambdas',
  'test/local/gateway.conformance.test.ts',
  'test/local/ping.test.ts',
  'test/local/sample-events.test.ts',
  'test/local/stack.test.ts',
];

const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

function run(label, command, args, options = {}) {
  const started = Date.now();
  console.log(`\n▶ ${label}`);
  const result = spawnSync(command, args, { stdio: 'inherit', ...options });
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  console.log(`${result.status === 0 ? '✔' : '✘'} ${label} (${seconds} s)`);
  return result.status === 0;
}

function ensureChromium() {
  if (existsSync(chromiumPath)) return true;
  const isRoot = process.getuid?.() === 0;
  const hasApt = existsSync('/usr/bin/apt-get');
  if (isRoot && hasApt) {
    console.log(
      `Chromium is missing (${chromiumPath}); installing Debian's chromium for the browser tests...`,
    );
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    if (
      run('apt-get update', 'apt-get', ['update', '-qq'], { env }) &&
      run('apt-get install chromium', 'apt-get', ['install', '-y', '-qq', 'chromium'], { env })
    ) {
      return existsSync(chromiumPath);
    }
  }
  console.error(
    `\nThe browser tests need Chromium at ${chromiumPath}.\n` +
      `Install it (Debian/Ubuntu: sudo apt-get install -y chromium), or point CHROMIUM_PATH at a Chromium binary, then run npm test again.`,
  );
  return false;
}

const steps = [];
steps.push(['lint', run('lint (eslint + prettier)', 'npm', ['run', '--silent', 'lint'])]);
steps.push([
  'typecheck',
  run('typecheck (tsc + svelte-check)', 'npm', ['run', '--silent', 'typecheck']),
]);
if (!ensureChromium()) {
  console.log('Summary: 0 passed, 1 failed (Chromium missing)');
  process.exit(1);
}

const reportDir = mkdtempSync(join(tmpdir(), 'cipherline-vitest-'));
const reportArgs = (name) => [
  '--reporter=default',
  '--reporter=json',
  `--outputFile.json=${join(reportDir, name)}`,
];
const testEnv = { ...process.env, CHROMIUM_PATH: chromiumPath };
steps.push([
  'tests',
  run('tests (vitest)', 'npx', ['vitest', 'run', ...reportArgs('report.json')], { env: testEnv }),
]);

if (installedNode22Version() !== `v${NODE22_VERSION}`)
  run('install Node 22 (tools/node22)', process.execPath, [
    join(REPO_ROOT, 'scripts/install-node22.mjs'),
  ]);
steps.push([
  'tests on Node 22',
  run(
    `tests on Node ${NODE22_VERSION}: handler and local-cloud suites (vitest)`,
    NODE22_PATH,
    [
      join(REPO_ROOT, 'node_modules/vitest/vitest.mjs'),
      'run',
      ...NODE22_SUITES,
      ...reportArgs('node22.json'),
    ],
    { env: { ...testEnv, CIPHERLINE_EXPECT_NODE_MAJOR: '22' } },
  ),
]);

let passed = 0;
let failedTests = 0;
for (const name of ['report.json', 'node22.json']) {
  const reportFile = join(reportDir, name);
  if (!existsSync(reportFile)) continue;
  const report = JSON.parse(readFileSync(reportFile, 'utf8'));
  passed += report.numPassedTests;
  failedTests += report.numFailedTests;
}
rmSync(reportDir, { recursive: true, force: true });
const failedSteps = steps.filter(([, ok]) => !ok).map(([name]) => name);
// A failed lint or typecheck step, or a test step that failed with no failing test (a suite did not load), counts once.
const testSteps = ['tests', 'tests on Node 22'];
const failed =
  failedTests + failedSteps.filter((name) => !testSteps.includes(name) || failedTests === 0).length;
console.log(
  `\n${failedSteps.length ? `Failed steps: ${failedSteps.join(', ')}` : 'All steps passed: lint, typecheck, tests, tests on Node 22'}`,
);
console.log(`Summary: ${passed} passed, ${failed} failed`);
process.exit(failedSteps.length ? 1 : 0);
