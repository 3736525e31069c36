/**
 * The local stack's device-credential key: made once per data folder and kept there (in AWS it is
 * a Secrets Manager secret the CDK stack creates; lambdas/runtime/secrets.ts). It never goes into
 * a table, so a copied table cannot forge credentials; deleting the file revokes every credential.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const deviceCredentialKeyPath = (dataDir: string) =>
  join(dataDir, 'secrets', 'device-credential-key');

export function loadDeviceCredentialKey(dataDir: string): Uint8Array {
  const path = deviceCredentialKeyPath(dataDir);
  if (!existsSync(path)) {
    mkdirSync(join(dataDir, 'secrets'), { recursive: true, mode: 0o700 });
    // Like the AWS secret: 64 characters of text, used as the HMAC key's bytes.
    writeFileSync(path, randomBytes(48).toString('base64url'), { mode: 0o600, flag: 'wx' });
  }
  return new TextEncoder().encode(readFileSync(path, 'utf8').trim());
}
