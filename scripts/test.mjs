#!/usr/bin/env node
/**
 * `npm test`: lint, typecheck, then every vitest suite (unit, integration on the local stack,
 * CDK, browser). Browser suites need Chromium: installed here with apt when we are root,
 * otherwise we stop and say what to install. Ends with one plain summary line.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

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
const reportFile = join(reportDir, 'report.json');
steps.push([
  'tests',
  run(
    'tests (vitest)',
    'npx',
    ['vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${reportFile}`],
    { env: { ...process.env, CHROMIUM_PATH: chromiumPath } },
  ),
]);

let passed = 0;
let failedTests = 0;
if (existsSync(reportFile)) {
  const report = JSON.parse(readFileSync(reportFile, 'utf8'));
  passed = report.numPassedTests;
  failedTests = report.numFailedTests;
}
rmSync(reportDir, { recursive: true, force: true });
const failedSteps = steps.filter(([, ok]) => !ok).map(([name]) => name);
// A failed lint or typecheck step, or a suite that failed with no failing test (it did not load), counts once.
const failed =
  failedTests + failedSteps.filter((name) => name !== 'tests' || failedTests === 0).length;
console.log(
  `\n${failedSteps.length ? `Failed steps: ${failedSteps.join(', ')}` : 'All steps passed: lint, typecheck, tests'}`,
);
console.log(`Summary: ${passed} passed, ${failed} failed`);
process.exit(failedSteps.length ? 1 : 0);
