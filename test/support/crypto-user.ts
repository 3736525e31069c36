/**
 * A test user that does what a real client does: derives its account keys from a password,
 * makes its identity keys on the device, publishes its bundle and stores its sealed key backup.
 */
import { deriveAccountKeys, type AccountKeys } from '../../client/crypto/account';
import { FIRST_BACKUP, sealBackup } from '../../client/crypto/backup';
import { TEST_KDF_COST, allowWeakKdfForTests } from '../../client/crypto/kdf-settings';
import {
  bundleFromWire,
  bundleToWire,
  generateLocalKeys,
  publicBundle,
  verifyBundle,
  type LocalKeys,
  type VerifiedBundle,
} from '../../client/crypto/keys';
import { MemorySeenStore } from '../../client/crypto/seen-store';
import type { PublicBundleWire } from '../../protocol/commands';
import { newDeviceId } from '../../tools/accounts';
import { TestClient } from '../../tools/ws-client';
import { toBase64 } from '../../protocol/bytes';

export interface CryptoUser {
  readonly username: string;
  readonly password: string;
  readonly account: AccountKeys;
  readonly keys: LocalKeys;
  readonly client: TestClient;
  readonly token: string;
  readonly seen: MemorySeenStore;
}

async function ok(
  client: TestClient,
  action: string,
  fields: object,
): Promise<Record<string, unknown>> {
  const reply = await client.request(action, fields);
  if (reply.type !== 'ok') throw new Error(`${action} failed: ${JSON.stringify(reply)}`);
  return reply;
}

export async function signupCryptoUser(
  url: string,
  username: string,
  password: string,
): Promise<CryptoUser> {
  allowWeakKdfForTests(); // tests only: production builds refuse this
  const account = await deriveAccountKeys(username, password, TEST_KDF_COST);
  const keys = await generateLocalKeys(username, Date.now());
  const client = await TestClient.connect(url);
  const session = await ok(client, 'signup', {
    username,
    authKey: toBase64(account.authKey),
    deviceId: newDeviceId(),
  });
  await ok(client, 'keys', { op: 'publish', bundle: bundleToWire(publicBundle(keys)) });
  const backup = await sealBackup(
    account.backupKey,
    { keys, pinnedContacts: new Map() },
    FIRST_BACKUP,
  );
  await ok(client, 'keys', {
    op: 'put-backup',
    backup: toBase64(backup.blob),
    version: backup.version,
    replaces: 0,
  });
  return {
    username,
    password,
    account,
    keys,
    client,
    token: session.token as string,
    seen: new MemorySeenStore(),
  };
}

export async function fetchBundle(user: CryptoUser, userId: string): Promise<VerifiedBundle> {
  const reply = await ok(user.client, 'keys', { op: 'fetch', userId });
  return verifyBundle(bundleFromWire(reply.bundle as PublicBundleWire));
}

export { ok as expectOk };
