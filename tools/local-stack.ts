/** A private local stack per test file: free ports, a fresh data folder, no web server. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalStack, type LocalStack, type LocalStackOptions } from '../infra/local/stack';

export const FREE_PORTS = { gatewayPort: 0, dynamoPort: 0, s3Port: 0 } as const;

export function tempDataDir(): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'cipherline-test-'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Every suite signs up all its users from 127.0.0.1, so sign-ups per address are raised unless a
 * test sets them itself (through the stack's own configuration, as any limit).
 */
export const TEST_SIGNUPS_PER_ADDRESS = 10_000;

export async function startTestStack(
  options: Partial<LocalStackOptions> = {},
): Promise<LocalStack & { dataDir: string }> {
  const data = tempDataDir();
  const stack = await startLocalStack({
    dataDir: data.dir,
    ...FREE_PORTS,
    web: false,
    ...options,
    serverLimits: { signupsPerAddressPerHour: TEST_SIGNUPS_PER_ADDRESS, ...options.serverLimits },
  });
  return {
    ...stack,
    dataDir: data.dir,
    stop: async () => {
      await stack.stop();
      data.remove();
    },
  };
}
