/**
 * A key backup past the inline limit (about 170 pinned contacts) travels through the blob store
 * (issue 9 point 6): written by one device, replaced by another after a compare-and-swap CONFLICT
 * (the loser merges the stored backup it downloads, then writes on top), and restored on a third,
 * against the local stack. A backup whose downloaded bytes do not match the digest is not opened.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileKeyValueStore } from '../../client/node/file-store';
import { fetchBlobHttp } from '../../client/session/blob-transfer';
import { DeviceState } from '../../client/session/device-state';
import type { CipherlineError } from '../../client/session/errors';
import { LOCAL_BUCKET_NAME, localTableName } from '../../infra/local/names';
import { makeDynamoClient, makeS3Client } from '../../lambdas/runtime/aws';
import { startTestStack, tempDataDir } from '../../tools/local-stack';
import { openDevice, tappedConnector, type TestDevice } from '../support/session-client';

const PASSWORD = 'orange kettle drifts over seven hills';
const CONTACTS = 200;
let stack: Awaited<ReturnType<typeof startTestStack>>;
const work = tempDataDir();
const devices: TestDevice[] = [];
let folders = 0;

beforeAll(async () => {
  stack = await startTestStack();
}, 60_000);

afterAll(async () => {
  for (const d of devices) await d.close().catch(() => undefined);
  await stack?.stop();
  work.remove();
});

async function device(options: Parameters<typeof openDevice>[2] = {}): Promise<TestDevice> {
  const folder = join(work.dir, `device-${folders++}`);
  const opened = await openDevice(stack.endpoints.websocket, folder, options);
  devices.push(opened);
  return opened;
}

async function storedBackup(userId: string) {
  const db = DynamoDBDocumentClient.from(makeDynamoClient(stack.endpoints.dynamodb));
  const { Item } = await db.send(
    new GetCommand({ TableName: localTableName('users'), Key: { userId } }),
  );
  return Item as { backupVersion?: number; backupBlob?: { blobId: string }; backup?: string };
}

async function keptBackups(): Promise<string[]> {
  const listed = await makeS3Client(stack.endpoints.s3).send(
    new ListObjectsV2Command({ Bucket: LOCAL_BUCKET_NAME, Prefix: 'backups/' }),
  );
  return (listed.Contents ?? []).map((object) => object.Key!);
}

async function pinsOf(d: TestDevice): Promise<string[]> {
  return (await d.client.contacts()).map((contact) => contact.userId);
}

async function waitUntil(check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describe('a key backup past the inline limit', () => {
  it('is written through the blob store, replaced after a CONFLICT, and restored on another device', async () => {
    for (const name of ['bea', 'cyd', 'dee']) {
      const contact = await device();
      await contact.client.signup({ username: name, password: PASSWORD });
    }
    // ada's phone pins 200 contacts (written straight into its state while it is closed).
    const phone = await device();
    await phone.client.signup({ username: 'ada', password: PASSWORD });
    await phone.close();
    const store = await FileKeyValueStore.open(join(phone.folder, 'device'));
    const state = await DeviceState.open(store);
    for (let i = 0; i < CONTACTS; i++)
      await state.setPin(`contact-${String(i).padStart(3, '0')}`, {
        identityDh: randomBytes(32),
        identitySign: randomBytes(32),
        acceptedAt: Date.now(),
      });
    store.close();
    await store.flush();
    const reopened = await openDevice(stack.endpoints.websocket, phone.folder);
    devices.push(reopened);
    await reopened.client.resume();

    const laptopSocket = tappedConnector();
    const laptop = await device({ connect: laptopSocket.connect });
    await laptop.client.signin({ username: 'ada', password: PASSWORD });
    const before = (await storedBackup('ada')).backupVersion!;

    // One more pin: the phone writes a backup of 201 contacts, too big to go inline.
    await reopened.client.sendText('bea', 'hi bea');
    await waitUntil(async () => (await storedBackup('ada')).backupVersion === before + 1);
    const written = await storedBackup('ada');
    expect(written.backupBlob).toBeDefined();
    expect(written.backup).toBeUndefined();
    // The server deletes what a backup replaced after the swap, before it answers the writer.
    await waitUntil(async () => (await keptBackups()).length === 1);
    expect(await keptBackups()).toEqual([`backups/${written.backupBlob!.blobId}`]);
    // The laptop hears of it (a note to self) and refreshes: it downloads the blob and merges.
    await waitUntil(async () => (await pinsOf(laptop)).length === CONTACTS + 1);

    // Both pin someone new; the laptop has not heard of the phone's write when it writes its own.
    laptopSocket.tap.hold = true;
    await reopened.client.sendText('cyd', 'hi cyd');
    await waitUntil(async () => (await storedBackup('ada')).backupVersion === before + 2);
    await laptop.client.sendText('dee', 'hi dee');
    await waitUntil(async () => (await storedBackup('ada')).backupVersion === before + 3);
    laptopSocket.release();
    expect(laptopSocket.tap.conflicts).toBeGreaterThan(0);
    // The replaced blobs are gone: one kept backup, the latest.
    const latest = await storedBackup('ada');
    await waitUntil(async () => (await keptBackups()).length === 1);
    expect(await keptBackups()).toEqual([`backups/${latest.backupBlob!.blobId}`]);

    // A new device restores all 203 pins from the blob.
    const tablet = await device();
    expect(await tablet.client.signin({ username: 'ada', password: PASSWORD })).toMatchObject({
      restored: true,
    });
    const pins = await pinsOf(tablet);
    expect(pins).toHaveLength(CONTACTS + 3);
    expect(pins).toEqual(expect.arrayContaining(['bea', 'cyd', 'dee', 'contact-199']));
    expect(laptop.events.some((event) => event.type === 'backup-fork')).toBe(false);
  }, 180_000); // seven sign-ups and sign-ins on a shared machine

  it('is not opened when the downloaded bytes differ from the digest the server named', async () => {
    const tampering = await device({
      http: {
        put: (url, body, type) => fetchBlobHttp.put(url, body, type),
        async get(url, from) {
          const response = await fetchBlobHttp.get(url, from);
          if (!url.includes('/backups/')) return response;
          const bytes: Uint8Array[] = [];
          for await (const chunk of response.body) bytes.push(chunk);
          const whole = Buffer.concat(bytes);
          whole.writeUInt8(whole.readUInt8(whole.length - 1) ^ 1, whole.length - 1);
          return {
            status: response.status,
            body: (async function* () {
              yield whole;
            })(),
          };
        },
      },
    });
    const refused = await tampering.client.signin({ username: 'ada', password: PASSWORD }).then(
      () => undefined,
      (error: unknown) => error as CipherlineError,
    );
    expect(refused).toMatchObject({
      code: 'PROTOCOL',
      message: expect.stringMatching(/size and SHA-256/),
    });
  });
});
