/**
 * The cloud only ever sees ciphertext: a scenario with real client crypto (1:1 text, a group with
 * a join epoch, a file through S3) whose plaintexts carry known markers; afterwards no DynamoDB
 * item, no S3 object and no log line contains a marker, a password, an auth or backup key, a
 * session token, a group or file key, or a private key.
 */
import { randomUUID } from 'node:crypto';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { openDirect, sealDirect } from '../../client/crypto/envelope';
import {
  createFileDigest,
  decryptFileStream,
  encryptFileStream,
  encryptedChunkLength,
  newFileKey,
} from '../../client/crypto/file';
import {
  createGroup,
  createJoinEpoch,
  type GroupView,
  type NewEpoch,
} from '../../client/crypto/group';
import { makeJoinRequest } from '../../client/crypto/group-membership';
import { acceptEpoch } from '../../client/crypto/group-accept';
import { openGroup, sealGroup } from '../../client/crypto/group-message';
import {
  bundleFromWire,
  exportLocalKeys,
  pinnedIdentityOf,
  verifyBundle,
} from '../../client/crypto/keys';
import { decodeStatement, encodeStatement } from '../../protocol/group-statement';
import { artefactToBase64 } from '../../protocol/group-artefacts';
import type { LocalStack } from '../../infra/local/stack';
import { LOCAL_BUCKET_NAME } from '../../infra/local/names';
import { makeS3Client } from '../../lambdas/runtime/aws';
import type { PublicBundleWire } from '../../protocol/commands';
import { expectOk, fetchBundle, signupCryptoUser, type CryptoUser } from '../support/crypto-user';
import { scanEveryItem } from '../support/audit';
import { startTestStack } from '../../tools/local-stack';
import { fromBase64, toBase64, utf8 } from '../../protocol/bytes';

const tag = randomUUID().slice(0, 8);
const MARKERS = {
  text: `MARKER-1to1-${tag} meet at the old mill`,
  group: `MARKER-group-${tag} the plan is on`,
  fileName: `MARKER-name-${tag}.txt`,
  fileBody: `MARKER-file-${tag} quarterly numbers`,
};

let stack: LocalStack;
let alice: CryptoUser;
let bob: CryptoUser;
const logged: string[] = [];
const secrets: string[] = [];

async function collect(chunks: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const chunk of chunks) parts.push(chunk);
  return Buffer.concat(parts);
}
async function* once(bytes: Uint8Array) {
  yield bytes;
}
/** Every PKCS#8 private key in the exported key file, whole and as its last 32 bytes (the scalar). */
function privateKeysIn(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(privateKeysIn);
  if (typeof value !== 'object' || value === null) return [];
  return Object.entries(value).flatMap(([name, field]) =>
    name === 'privateKey' && typeof field === 'string'
      ? [field, toBase64(fromBase64(field).slice(-32))]
      : privateKeysIn(field),
  );
}

const keyShareWire = (epoch: NewEpoch) =>
  epoch.keyShares.map((k) => ({
    to: k.recipientId,
    messageId: k.messageId,
    envelope: toBase64(k.envelope),
  }));

beforeAll(async () => {
  for (const method of ['log', 'error', 'warn', 'info'] as const) {
    vi.spyOn(console, method).mockImplementation(
      (...args: unknown[]) => void logged.push(args.map(String).join(' ')),
    );
  }
  stack = await startTestStack();
  alice = await signupCryptoUser(stack.endpoints.websocket, 'alice', `pw-alice-${tag}`);
  bob = await signupCryptoUser(stack.endpoints.websocket, 'bob', `pw-bob-${tag}`);
  for (const user of [alice, bob]) {
    secrets.push(
      user.password,
      toBase64(user.account.authKey),
      toBase64(user.account.backupKey),
      user.token,
    );
    const exported = JSON.parse(
      Buffer.from(await exportLocalKeys(user.keys)).toString('utf8'),
    ) as unknown;
    secrets.push(...privateKeysIn(exported));
  }
});
afterAll(async () => {
  alice?.client.close();
  bob?.client.close();
  await stack?.stop();
  vi.restoreAllMocks();
});

describe('audit: the cloud only sees ciphertext', () => {
  it('runs 1:1, group and file traffic that the clients can read', async () => {
    const now = Date.now();
    const aliceBundle = await fetchBundle(bob, 'alice');
    const bobBundle = await fetchBundle(alice, 'bob');

    // 1:1 text
    const textEnvelope = await sealDirect({
      sender: alice.keys,
      recipient: bobBundle,
      messageId: randomUUID(),
      timestamp: now,
      body: { type: 'text', text: MARKERS.text },
    });
    await expectOk(alice.client, 'send', {
      to: 'bob',
      messageId: randomUUID(),
      envelope: toBase64(textEnvelope),
    });
    const pushed = await bob.client.waitFor((m) => m.type === 'message' && m.from === 'alice');
    const opened = await openDirect({
      envelope: fromBase64(pushed.envelope as string),
      me: bob.keys,
      sender: aliceBundle,
      authenticatedSenderId: pushed.from as string,
      expectedType: 'text',
      seen: bob.seen,
      now,
    });
    expect(opened.body).toEqual({ type: 'text', text: MARKERS.text });

    // A group: alice makes epoch 1, bob joins with epoch 2, alice accepts it and writes.
    const groupId = `audit-${tag}`;
    const alicesRequest = await makeJoinRequest({ groupId, me: alice.keys, now });
    expect(
      await expectOk(alice.client, 'join', { groupId, request: artefactToBase64(alicesRequest) }),
    ).toMatchObject({ created: true });
    const first = await createGroup({ groupId, me: alice.keys, now });
    await expectOk(alice.client, 'sharekey', {
      op: 'store',
      groupId,
      epoch: 1,
      statement: toBase64(encodeStatement(first.statement)),
      keyShares: keyShareWire(first),
    });
    const bobsRequest = await makeJoinRequest({ groupId, me: bob.keys, now });
    const joined = await expectOk(bob.client, 'join', {
      groupId,
      request: artefactToBase64(bobsRequest),
    });
    const members = new Map(
      await Promise.all(
        (joined.members as { userId: string; bundle: PublicBundleWire }[]).map(
          async (m) => [m.userId, await verifyBundle(bundleFromWire(m.bundle))] as const,
        ),
      ),
    );
    const latest = decodeStatement(fromBase64(joined.statement as string));
    const second = await createJoinEpoch({
      me: bob.keys,
      latest,
      request: bobsRequest,
      memberBundles: new Map([...members].filter(([id]) => id !== 'bob')),
      now,
    });
    await expectOk(bob.client, 'sharekey', {
      op: 'store',
      groupId,
      epoch: 2,
      statement: toBase64(encodeStatement(second.statement)),
      keyShares: keyShareWire(second),
    });
    const share = await alice.client.waitFor((m) => m.type === 'key-share' && m.epoch === 2);
    const accepted = await acceptEpoch({
      view: first.view,
      statement: decodeStatement(fromBase64(share.statement as string)),
      bundles: new Map([['bob', bobBundle]]),
      pinned: (userId) => (userId === 'bob' ? pinnedIdentityOf(bobBundle) : undefined),
      keyShare: fromBase64(share.envelope as string),
      authenticatedSenderId: share.from as string,
      me: alice.keys,
      seen: alice.seen,
      now,
    });
    const aliceView: GroupView = accepted.view;
    const groupEnvelope = await sealGroup({
      sender: alice.keys,
      view: aliceView,
      messageId: randomUUID(),
      timestamp: now,
      body: { type: 'group-text', text: MARKERS.group },
    });
    await expectOk(alice.client, 'sendgroup', {
      groupId,
      epoch: 2,
      messageId: randomUUID(),
      envelope: toBase64(groupEnvelope),
    });
    const groupPush = await bob.client.waitFor((m) => m.type === 'group-message');
    const groupOpened = await openGroup({
      envelope: fromBase64(groupPush.envelope as string),
      view: second.view,
      sender: aliceBundle,
      authenticatedSenderId: groupPush.from as string,
      expectedType: 'group-text',
      seen: bob.seen,
      now,
    });
    expect(groupOpened.body).toEqual({ type: 'group-text', text: MARKERS.group });
    for (const epoch of [first, second, accepted])
      secrets.push(toBase64(('epoch' in epoch ? epoch.epoch : epoch).groupKey));

    // A file through S3: encrypted under a fresh key, announced in a 1:1 file envelope.
    const plaintext = utf8(MARKERS.fileBody.repeat(2000));
    const upload = await expectOk(alice.client, 'upload', {
      op: 'start',
      size: encryptedChunkLength(plaintext.length),
    });
    const blobId = upload.blobId as string;
    const fileKey = newFileKey();
    const digest = await createFileDigest();
    const blob = await collect(
      encryptFileStream(once(plaintext), { fileKey, blobId, plaintextDigest: digest }),
    );
    const part = (upload.urls as { url: string }[])[0]!;
    const put = await fetch(part.url, {
      method: 'PUT',
      body: new Uint8Array(blob),
      headers: { 'content-type': 'application/octet-stream' },
    });
    expect(put.status).toBe(200);
    await expectOk(alice.client, 'upload', { op: 'complete', blobId });
    const fileDigest = digest.digest();
    const fileEnvelope = await sealDirect({
      sender: alice.keys,
      recipient: bobBundle,
      messageId: randomUUID(),
      timestamp: now,
      body: {
        type: 'file',
        file: {
          blobId,
          fileKey,
          name: MARKERS.fileName,
          mimeType: 'text/plain',
          size: plaintext.length,
          digest: fileDigest,
        },
      },
    });
    await expectOk(alice.client, 'sendfile', {
      to: 'bob',
      messageId: randomUUID(),
      blobId,
      envelope: toBase64(fileEnvelope),
    });
    const filePush = await bob.client.waitFor((m) => m.type === 'message' && m.from === 'alice');
    const fileOpened = await openDirect({
      envelope: fromBase64(filePush.envelope as string),
      me: bob.keys,
      sender: aliceBundle,
      authenticatedSenderId: 'alice',
      expectedType: 'file',
      seen: bob.seen,
      now,
    });
    if (fileOpened.body.type !== 'file') throw new Error('expected a file');
    const download = await expectOk(bob.client, 'download', {
      blobId: fileOpened.body.file.blobId,
    });
    const fetched = new Uint8Array(await (await fetch(download.url as string)).arrayBuffer());
    const decrypted = await collect(
      decryptFileStream(once(fetched), {
        fileKey: fileOpened.body.file.fileKey,
        blobId,
        expectedDigest: fileOpened.body.file.digest,
      }),
    );
    expect(Buffer.from(decrypted).toString('utf8')).toBe(MARKERS.fileBody.repeat(2000));
    secrets.push(toBase64(fileKey));
  }, 60_000);

  it('left no plaintext or secret in any DynamoDB item', async () => {
    let items = 0;
    await scanEveryItem(stack.endpoints.dynamodb, (table, item) => {
      items++;
      const text = JSON.stringify(item);
      for (const needle of [...Object.values(MARKERS), ...secrets])
        expect(text, `${table} holds a secret`).not.toContain(needle);
    });
    expect(items).toBeGreaterThan(20); // the scenario really wrote things
  });

  it('left no plaintext or secret in any S3 object', async () => {
    const s3 = makeS3Client(stack.endpoints.s3);
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: LOCAL_BUCKET_NAME }));
    expect(listed.Contents?.length).toBeGreaterThan(0);
    for (const object of listed.Contents ?? []) {
      const body = Buffer.from(
        await (
          await s3.send(new GetObjectCommand({ Bucket: LOCAL_BUCKET_NAME, Key: object.Key! }))
        ).Body!.transformToByteArray(),
      );
      for (const needle of [...Object.values(MARKERS), ...secrets]) {
        expect(body.includes(Buffer.from(needle, 'utf8')), `${object.Key} holds a secret`).toBe(
          false,
        );
      }
      expect(body.includes(Buffer.from(MARKERS.fileBody.slice(0, 16)))).toBe(false);
    }
  });

  it('logged no plaintext or secret', () => {
    const text = logged.join('\n');
    for (const needle of [...Object.values(MARKERS), ...secrets])
      expect(text).not.toContain(needle);
  });
});
