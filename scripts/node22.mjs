/**
 * Where the Node.js 22 binary of tools/node22 lives (the Lambda runtime's major version), and
 * whether it is installed. Plain JavaScript, so scripts/test.mjs can use it before anything is
 * compiled.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const NODE22_DIR = join(REPO_ROOT, 'tools', 'node22');
export const NODE22_PATH = join(NODE22_DIR, 'node_modules', 'node', 'bin', 'node');

/** The version tools/node22/package.json pins, e.g. "22.23.3". */
export const NODE22_VERSION = JSON.parse(readFileSync(join(NODE22_DIR, 'package.json'), 'utf8'))
  .devDependencies.node;

/** The installed binary's version ("v22.23.3"), or undefined when it is missing or broken. */
export function installedNode22Version() {
  if (!existsSync(NODE22_PATH)) return undefined;
  try {
    return execFileSync(NODE22_PATH, ['--version'], { encoding: 'utf8' }).trim();
  } catch {
    return undefined;
  }
}
