#!/usr/bin/env node
/**
 * `npm install`'s postinstall: installs tools/node22 (the npm package `node@22`, whose preinstall
 * fetches the platform's Node 22 binary from the npm registry) unless the pinned version is
 * there already. Its own package, so its `node` never shadows the development Node.
 */
import { spawnSync } from 'node:child_process';
import { NODE22_DIR, NODE22_VERSION, installedNode22Version } from './node22.mjs';

if (installedNode22Version() === `v${NODE22_VERSION}`) process.exit(0);
console.log(
  `Installing Node.js ${NODE22_VERSION} into tools/node22 (the Lambda runtime's major version, for npm test)...`,
);
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const result = spawnSync(npm, ['ci', '--no-audit', '--no-fund', '--loglevel=error'], {
  cwd: NODE22_DIR,
  stdio: 'inherit',
});
if (result.status !== 0 || installedNode22Version() !== `v${NODE22_VERSION}`) {
  console.error(
    `Could not install Node.js ${NODE22_VERSION} into tools/node22. Run \`npm ci\` in tools/node22 and read its error; npm test needs it for the Node 22 suites.`,
  );
  process.exit(1);
}
