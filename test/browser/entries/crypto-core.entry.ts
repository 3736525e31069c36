/**
 * The client crypto core end to end inside a browser (page or Web Worker): keys, a 1:1 envelope
 * and its tamper check, a group with a join epoch and a group message, account keys and the key
 * backup, safety numbers, and a chunked file. Returns what happened; the Node side asserts it.
 */
import { deriveAccountKeys } from '../../../client/crypto/account';
import { FIRST_BACKUP, openBackup, sealBackup } from '../../../client/crypto/backup';
import { checkNewPassword } from '../../../client/crypto/password-strength';
import { openDirect, sealDirect } from '../../../client/crypto/envelope';
import { CryptoError } from '../../../protocol/crypto-error';
import {
  decryptFileStream,
  encryptFileStream,
  newBlobId,
  newFileKey,
} from '../../../client/crypto/file';
import { createChangeEpoch, createGroup, createJoinEpoch } from '../../../client/crypto/group';
import { makeJoinRequest, makeLeave } from '../../../client/crypto/group-membership';
import { acceptEpoch } from '../../../client/crypto/group-accept';
import { openGroup, sealGroup } from '../../../client/crypto/group-message';
import { TEST_KDF_COST, allowWeakKdfForTests } from '../../../client/crypto/kdf-settings';
import { generateLocalKeys, publicBundle, verifyBundle } from '../../../client/crypto/keys';
import { randomBytes } from '../../../client/crypto/primitives';
import { computeSafetyNumber } from '../../../client/crypto/safety';
import { MemorySeenStore } from '../../../client/crypto/seen-store';
import { concatBytes, fromUtf8, utf8 } from '../../../protocol/bytes';

async function* once(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes;
}

async function collect(chunks: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const chunk of chunks) parts.push(chunk);
  return concatBytes(...parts);
}

const codeOf = (promise: Promise<unknown>) =>
  promise.then(
    () => 'accepted',
    (error: unknown) => (error instanceof CryptoError ? error.code : `untyped: ${String(error)}`),
  );

export default async function run(): Promise<Record<string, unknown>> {
  const now = Date.now();
  const alice = await generateLocalKeys('alice', now);
  const bob = await generateLocalKeys('bob', now);
  const aliceBundle = await verifyBundle(publicBundle(alice));
  const bobBundle = await verifyBundle(publicBundle(bob));

  const envelope = await sealDirect({
    sender: alice,
    recipient: bobBundle,
    messageId: 'msg-browser-1',
    timestamp: now,
    body: { type: 'text', text: 'héllo from the browser' },
  });
  const opened = await openDirect({
    envelope,
    me: bob,
    sender: aliceBundle,
    authenticatedSenderId: 'alice',
    expectedType: 'text',
    seen: new MemorySeenStore(),
    now,
  });
  const tampered = envelope.slice();
  tampered[tampered.length - 70]! ^= 1;
  const tamperCode = await codeOf(
    openDirect({
      envelope: tampered,
      me: bob,
      sender: aliceBundle,
      authenticatedSenderId: 'alice',
      expectedType: 'text',
      seen: new MemorySeenStore(),
      now,
    }),
  );

  const created = await createGroup({ groupId: 'browser-group', me: alice, now });
  const joined = await createJoinEpoch({
    me: bob,
    latest: created.statement,
    request: await makeJoinRequest({ groupId: 'browser-group', me: bob, now }),
    memberBundles: new Map([['alice', aliceBundle]]),
    now,
  });
  const share = joined.keyShares.find((k) => k.recipientId === 'alice')!;
  const acceptAsAlice = (statement: typeof joined.statement, keyShare: Uint8Array) =>
    acceptEpoch({
      view: created.view,
      statement,
      bundles: new Map([['bob', bobBundle]]),
      pinned: (userId) => (userId === 'bob' ? bobBundle : undefined),
      keyShare,
      authenticatedSenderId: 'bob',
      me: alice,
      seen: new MemorySeenStore(),
      now,
    });
  const accepted = await acceptAsAlice(joined.statement, share.envelope);
  const forgedCode = await codeOf(
    acceptAsAlice({ ...joined.statement, createdAt: now - 1 }, share.envelope),
  );
  const rotation = await createChangeEpoch({
    view: accepted.view,
    me: alice,
    removals: [await makeLeave({ groupId: 'browser-group', me: bob, now: now + 1 })],
    memberBundles: new Map([['bob', bobBundle]]),
    now: now + 1,
  });
  const groupEnvelope = await sealGroup({
    sender: alice,
    view: accepted.view,
    messageId: 'grp-browser-1',
    timestamp: now,
    body: { type: 'group-text', text: 'to the group' },
  });
  const groupOpened = await openGroup({
    envelope: groupEnvelope,
    view: joined.view,
    sender: aliceBundle,
    authenticatedSenderId: 'alice',
    expectedType: 'group-text',
    seen: new MemorySeenStore(),
    now,
  });

  allowWeakKdfForTests();
  const account = await deriveAccountKeys('alice', 'correct horse battery staple', TEST_KDF_COST);
  const pinned = new Map([
    [
      'bob',
      { identityDh: bobBundle.identityDh, identitySign: bobBundle.identitySign, acceptedAt: now },
    ],
  ]);
  const backup = await sealBackup(
    account.backupKey,
    { keys: alice, pinnedContacts: pinned },
    FIRST_BACKUP,
  );
  const restored = await openBackup(account.backupKey, backup.blob);
  const wrong = await deriveAccountKeys('alice', 'wrong password', TEST_KDF_COST);
  const wrongPasswordCode = await codeOf(openBackup(wrong.backupKey, backup.blob));
  const rollbackCode = await codeOf(
    openBackup(account.backupKey, backup.blob, { lastSeenVersion: 2 }),
  );
  const passwordVerdicts = await Promise.all(
    ['sunshine1', 'glacier orbit pencil tulip'].map(async (p) => (await checkNewPassword(p)).ok),
  );

  const party = (k: typeof alice) => ({
    userId: k.userId,
    identityDh: k.identityDh.publicKey,
    identitySign: k.identitySign.publicKey,
  });
  const [safetyAlice, safetyBob] = await Promise.all([
    computeSafetyNumber(party(alice), party(bob)),
    computeSafetyNumber(party(bob), party(alice)),
  ]);

  const fileKey = newFileKey();
  const blobId = newBlobId();
  const file = randomBytes(300_000);
  const blob = await collect(encryptFileStream(once(file), { fileKey, blobId, chunkSize: 65_536 }));
  const back = await collect(decryptFileStream(once(blob), { fileKey, blobId }));

  return {
    directText: opened.body.type === 'text' ? opened.body.text : null,
    tamperCode,
    epoch: accepted.epoch.epoch,
    change: accepted.change.kind === 'change' ? accepted.change.added : accepted.change.kind,
    forgedCode,
    rotationMembers: rotation.statement.members.map((m) => m.userId),
    groupText: groupOpened.body.type === 'group-text' ? groupOpened.body.text : null,
    restoredContacts: [...restored.contents.pinnedContacts.keys()],
    restoredIdentity:
      restored.contents.keys.identitySign.publicKey.join() === alice.identitySign.publicKey.join(),
    rollbackCode,
    passwordVerdicts,
    wrongPasswordCode,
    safetyEqual: safetyAlice.digits === safetyBob.digits,
    safetyDigits: safetyAlice.digits.length,
    fileIntact: back.length === file.length && back.every((b, i) => b === file[i]),
    fileBlobBytes: blob.length,
    utf8Check: fromUtf8(utf8('✓')),
  };
}
