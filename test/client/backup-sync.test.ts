/** Two devices of one account keep one backup chain (issue 9 point 6): compare-and-swap losers
 * merge, notes to self announce each backup, forks are noticed, big backups leave the frame. */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  type BackupContents,
  FIRST_BACKUP,
  MAX_INLINE_BACKUP_BYTES,
  type PinnedContact,
  backupFitsInline,
  nextLineage,
  openBackup,
  sealBackup,
} from '../../client/crypto/backup';
import {
  findBackupFork,
  mergeBackups,
  openBackupNote,
  sealBackupNote,
} from '../../client/crypto/backup-sync';
import { sealDirect } from '../../client/crypto/envelope';
import {
  SIGNED_PREKEY_ROTATION_MS,
  type LocalKeys,
  exportLocalKeys,
  generateLocalKeys,
  importLocalKeys,
  ownVerifiedBundle,
  rotateSignedPrekeyIfDue,
} from '../../client/crypto/keys';
import { randomBytes } from '../../client/crypto/primitives';
import { MemorySeenStore } from '../../client/crypto/seen-store';
import { MAX_INLINE_ENVELOPE_BYTES } from '../../protocol/limits';
import { codeOf, rejectsWith } from '../support/crypto-errors';

const T0 = Date.UTC(2025, 0, 1);
const DAY = 24 * 60 * 60 * 1000;
const pin = (acceptedAt: number): PinnedContact => ({
  identityDh: randomBytes(32),
  identitySign: randomBytes(32),
  acceptedAt,
});

let phone: LocalKeys;
let laptop: LocalKeys;
const backupKey = randomBytes(32);

beforeAll(async () => {
  phone = await generateLocalKeys('alice', T0);
  laptop = await importLocalKeys(await exportLocalKeys(phone)); // restored from the backup
});

describe('merging after a lost compare-and-swap', () => {
  it('keeps one identity, the stored prekey for a shared id, then only the newest prekey, and the later pin of each contact', async () => {
    // Both devices rotate from prekey 1 at once: each makes its own prekey 2.
    const phoneRotated = (await rotateSignedPrekeyIfDue(phone, T0 + SIGNED_PREKEY_ROTATION_MS))
      .keys;
    const laptopRotated = (
      await rotateSignedPrekeyIfDue(laptop, T0 + SIGNED_PREKEY_ROTATION_MS + 1)
    ).keys;
    const stored: BackupContents = {
      keys: phoneRotated,
      pinnedContacts: new Map([
        ['bob', pin(T0 + 5)],
        ['carol', pin(T0 + 1)],
      ]),
    };
    const mine: BackupContents = {
      keys: laptopRotated,
      pinnedContacts: new Map([
        ['bob', pin(T0 + 2)], // older than the phone's
        ['carol', pin(T0 + 9)], // newer: re-verified on the laptop
        ['dave', pin(T0 + 3)],
      ]),
    };
    const merged = mergeBackups(mine, stored);
    // The phone's prekey 2 was stored (and published) first: the laptop drops its own.
    expect(merged.keys.signedPrekeys.map((p) => p.id)).toEqual([2]);
    expect(merged.keys.signedPrekeys[0]!.keyPair.publicKey).toEqual(
      phoneRotated.signedPrekeys[1]!.keyPair.publicKey,
    );
    expect(merged.pinnedContacts.get('bob')).toBe(stored.pinnedContacts.get('bob'));
    expect(merged.pinnedContacts.get('carol')).toBe(mine.pinnedContacts.get('carol'));
    expect(merged.pinnedContacts.get('dave')).toBe(mine.pinnedContacts.get('dave'));
    // A newer prekey on my side survives (it is the current one); the older is retired, dropped.
    const later = (await rotateSignedPrekeyIfDue(phoneRotated, T0 + 2 * SIGNED_PREKEY_ROTATION_MS))
      .keys;
    expect(
      mergeBackups({ ...mine, keys: later }, stored).keys.signedPrekeys.map((p) => p.id),
    ).toEqual([3]);
  });

  it('refuses to merge backups of two identities (IDENTITY_CHANGED)', async () => {
    const other = await generateLocalKeys('alice', T0);
    const a: BackupContents = { keys: phone, pinnedContacts: new Map() };
    const b: BackupContents = { keys: other, pinnedContacts: new Map() };
    await rejectsWith(
      Promise.resolve().then(() => mergeBackups(a, b)),
      'IDENTITY_CHANGED',
    );
  });
});

describe('one chain, forks noticed', () => {
  it('a loser that merges and writes on top keeps the chain; a version written twice, or a link that does not connect, is a fork', async () => {
    const contents: BackupContents = { keys: phone, pinnedContacts: new Map() };
    const v1 = await sealBackup(backupKey, contents, FIRST_BACKUP);
    const phoneV2 = await sealBackup(backupKey, contents, nextLineage(v1));
    const laptopV2 = await sealBackup(backupKey, contents, nextLineage(v1)); // refused by the CAS
    const stored = await openBackup(backupKey, phoneV2.blob, { lastSeenVersion: 1 });
    const laptopV3 = await sealBackup(
      backupKey,
      mergeBackups(contents, stored.contents),
      nextLineage(stored),
    );
    expect(findBackupFork([v1, phoneV2, laptopV3])).toBeUndefined();
    expect(findBackupFork([laptopV3, v1, phoneV2, phoneV2])).toBeUndefined();
    // A server that stored both version 2s (or shows each device its own).
    expect(findBackupFork([v1, phoneV2, laptopV2])).toEqual({
      version: 2,
      why: 'two hashes for one version',
    });
    // A version 3 built on the other version 2.
    const onLaptopV2 = await sealBackup(backupKey, contents, nextLineage(laptopV2));
    expect(findBackupFork([v1, phoneV2, onLaptopV2])).toEqual({
      version: 3,
      why: 'the chain does not connect',
    });
    // Versions far apart cannot be judged without the ones between.
    expect(findBackupFork([v1, onLaptopV2])).toBeUndefined();
  });

  it('announces each backup to the other devices in a signed note to self, which only the account itself can send', async () => {
    const v1 = await sealBackup(
      backupKey,
      { keys: phone, pinnedContacts: new Map() },
      FIRST_BACKUP,
    );
    const note = await sealBackupNote(phone, v1, T0 + DAY);
    const head = await openBackupNote({
      envelope: note.envelope,
      me: laptop,
      authenticatedSenderId: 'alice',
      seen: new MemorySeenStore(),
      now: T0 + DAY,
    });
    expect(head).toEqual({ version: 1, hash: v1.hash, previousHash: v1.previousHash });
    const laptopV1 = await sealBackup(
      backupKey,
      { keys: laptop, pinnedContacts: new Map() },
      FIRST_BACKUP,
    );
    expect(findBackupFork([laptopV1, head])?.why).toBe('two hashes for one version');
    // Bob cannot announce alice's backups.
    const bob = await generateLocalKeys('bob', T0);
    const forged = await sealDirect({
      sender: bob,
      recipient: await ownVerifiedBundle(phone),
      messageId: 'note-from-bob',
      timestamp: T0 + DAY,
      body: { type: 'backup-note', note: head },
    });
    expect(
      await codeOf(
        openBackupNote({
          envelope: forged,
          me: phone,
          authenticatedSenderId: 'bob',
          seen: new MemorySeenStore(),
          now: T0 + DAY,
        }),
      ),
    ).toBe('WRONG_SENDER');
  });
});

describe('backup size', () => {
  it('fits the inline limit up to about 170 pinned contacts; a bigger one must go through the blob store', async () => {
    expect(MAX_INLINE_BACKUP_BYTES).toBe(MAX_INLINE_ENVELOPE_BYTES);
    const pinnedContacts = new Map<string, PinnedContact>();
    let fits = 0;
    for (let n = 1; n <= 250; n++) {
      pinnedContacts.set(`contact${String(n).padStart(3, '0')}`, pin(T0)); // 10-character ids
      const { blob } = await sealBackup(backupKey, { keys: phone, pinnedContacts }, FIRST_BACKUP);
      if (!backupFitsInline(blob)) break;
      fits = n;
    }
    expect(fits).toBeGreaterThanOrEqual(160);
    expect(fits).toBeLessThanOrEqual(185);
  });
});
