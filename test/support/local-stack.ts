/** A private local stack per test file: free ports, a fresh data folder, no web server. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalStack, type LocalStack, type LocalStackOptions } from '../../infra/local/stack';

export const FREE_PORTS = { gatewayPort: 0, dynamoPort: 0, s3Port: 0 } as const;

export function tempDataDir(): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'cipherline-test-'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export async function startTestStack(
  options: Partial<LocalStackOptions> = {},
): Promise<LocalStack & { dataDir: string }> {
  const data = tempDataDir();
  const stack = await startLocalStack({ dataDir: data.dir, ...FREE_PORTS, web: false, ...options });
  return {
    ...stack,
    dataDir: data.dir,
    stop: async () => {
      await stack.stop();
      data.remove();
    },
  };
}
