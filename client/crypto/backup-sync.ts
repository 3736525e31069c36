/**
 * Keeping the devices of one account in step through the backup (DESIGN.md section 4, "Several
 * devices of one account"; issue 9 point 6):
 *
 * - mergeBackups: `put-backup` names the version it replaces and the server refuses a stale one
 *   (compare and swap); the loser opens the stored backup, merges, and seals version + 1.
 * - findBackupFork: the backup heads a device knows (its own last one, the one the server
 *   serves, those other devices announce in signed notes to self, envelope type 'backup-note')
 *   must form one chain: the same version with two hashes, or a version whose previous hash is
 *   not its predecessor's hash, is a fork (a server withholding or splitting backups).
 */
import { bytesEqual } from '../../protocol/bytes';
import { CryptoError } from '../../protocol/crypto-error';
import type { BackupContents, BackupHead, PinnedContact } from './backup';
import { openDirect, sealDirect } from './envelope';
import { type LocalKeys, type LocalSignedPrekey, ownVerifiedBundle } from './keys';
import type { SeenStore } from './seen-store';

/**
 * Merges the backup this device wanted to write (`mine`) with the one the server holds
 * (`stored`), as the deletion and pinning rules say:
 * - one identity: both must hold the same identity keys (IDENTITY_CHANGED otherwise);
 * - prekeys: for one id, the stored one wins (the device that lost the publish race drops its
 *   own); then the deletion rule again: a backup keeps only the newest prekey, no retired ones;
 * - pins: the union; for a contact pinned differently on the two sides, the later acceptance.
 */
export function mergeBackups(mine: BackupContents, stored: BackupContents): BackupContents {
  return {
    keys: mergeKeys(mine.keys, stored.keys),
    pinnedContacts: mergePins(mine.pinnedContacts, stored.pinnedContacts),
  };
}

function mergeKeys(mine: LocalKeys, stored: LocalKeys): LocalKeys {
  if (
    mine.userId !== stored.userId ||
    !bytesEqual(mine.identityDh.publicKey, stored.identityDh.publicKey) ||
    !bytesEqual(mine.identitySign.publicKey, stored.identitySign.publicKey)
  ) {
    throw new CryptoError(
      'IDENTITY_CHANGED',
      `the stored backup holds another identity than this device's ${mine.userId}`,
    );
  }
  const byId = new Map<number, LocalSignedPrekey>();
  for (const prekey of mine.signedPrekeys) byId.set(prekey.id, prekey);
  for (const prekey of stored.signedPrekeys) byId.set(prekey.id, prekey);
  const newest = [...byId.values()]
    .filter((prekey) => prekey.supersededAt === undefined)
    .reduce<LocalSignedPrekey | undefined>(
      (best, prekey) => (!best || prekey.createdAt > best.createdAt ? prekey : best),
      undefined,
    );
  if (!newest) throw new CryptoError('UNKNOWN_PREKEY', 'neither backup holds a current prekey');
  return { ...stored, signedPrekeys: [newest] };
}

function mergePins(
  mine: ReadonlyMap<string, PinnedContact>,
  stored: ReadonlyMap<string, PinnedContact>,
): Map<string, PinnedContact> {
  const merged = new Map(stored);
  for (const [userId, pin] of mine) {
    const theirs = merged.get(userId);
    if (!theirs || pin.acceptedAt > theirs.acceptedAt) merged.set(userId, pin);
  }
  return merged;
}

export interface BackupFork {
  /** The version at which the chain splits. */
  readonly version: number;
  readonly why: 'two hashes for one version' | 'the chain does not connect';
}

/**
 * The first fork among backup heads known from anywhere (own writes, the served backup, notes
 * from other devices), or undefined when they all fit one chain. Heads with versions more than
 * one apart cannot be linked without the backups in between and are not judged against each
 * other.
 */
export function findBackupFork(heads: Iterable<BackupHead>): BackupFork | undefined {
  const byVersion = new Map<number, BackupHead>();
  for (const head of heads) {
    const known = byVersion.get(head.version);
    if (known && !bytesEqual(known.hash, head.hash))
      return { version: head.version, why: 'two hashes for one version' };
    if (!known) byVersion.set(head.version, head);
  }
  for (const [version, head] of byVersion) {
    const before = byVersion.get(version - 1);
    if (before && !bytesEqual(head.previousHash, before.hash))
      return { version, why: 'the chain does not connect' };
  }
  return undefined;
}

/** The note to my other devices that I wrote backup `head`: a 1:1 'backup-note' envelope from
 * my account to itself, signed like every envelope (hand it to `send` addressed to myself). */
export async function sealBackupNote(
  me: LocalKeys,
  head: BackupHead,
  now: number,
): Promise<{ readonly messageId: string; readonly envelope: Uint8Array }> {
  const messageId = globalThis.crypto.randomUUID();
  const envelope = await sealDirect({
    sender: me,
    recipient: await ownVerifiedBundle(me),
    messageId,
    timestamp: now,
    body: { type: 'backup-note', note: head },
  });
  return { messageId, envelope };
}

/** Opens a note another device of my account sent (WRONG_SENDER from anyone else). */
export async function openBackupNote(input: {
  readonly envelope: Uint8Array;
  readonly me: LocalKeys;
  readonly authenticatedSenderId: string;
  readonly seen: SeenStore;
  readonly now: number;
}): Promise<BackupHead> {
  const opened = await openDirect({
    ...input,
    sender: await ownVerifiedBundle(input.me),
    expectedType: 'backup-note',
  });
  if (opened.body.type !== 'backup-note') throw new CryptoError('WRONG_TYPE', 'not a backup note');
  return opened.body.note;
}
