import { describe, expect, it } from 'vitest';
import { agreementInfo, recipientAgreement, senderAgreement } from '../../client/crypto/agreement';
import { openDirect, sealDirect } from '../../client/crypto/envelope';
import { CryptoError } from '../../protocol/crypto-error';
import {
  BUNDLE_MAX_CACHE_AGE_MS,
  INBOX_RETENTION_MS,
  type LocalKeys,
  type PublicBundle,
  SIGNED_PREKEY_MAX_AGE_MS,
  SIGNED_PREKEY_GRACE_MS,
  SIGNED_PREKEY_ROTATION_MS,
  bundleFromWire,
  bundleToWire,
  ed25519Sign,
  ed25519Verify,
  exportLocalKeys,
  findSignedPrekey,
  generateLocalKeys,
  importEd25519Public,
  importLocalKeys,
  importX25519Public,
  pinnedIdentityOf,
  publicBundle,
  rotateSignedPrekeyIfDue,
  verifyBundle,
  x25519,
} from '../../client/crypto/keys';
import { MemorySeenStore } from '../../client/crypto/seen-store';
import { bytesEqual, fromUtf8, utf8 } from '../../protocol/bytes';
import { refusal, rejectsWith } from '../support/crypto-errors';
import { CLOCK_SLACK_MS } from '../../protocol/limits';

const T0 = Date.UTC(2025, 0, 1);
const DAY = 24 * 60 * 60 * 1000;
const HOUR = 60 * 60 * 1000;

function flipBit(bytes: Uint8Array, bit = 0): Uint8Array {
  const out = bytes.slice();
  out[bit >> 3]! ^= 1 << (bit & 7);
  return out;
}

describe('key generation', () => {
  it('makes 32-byte raw public keys that import and agree', async () => {
    const alice = await generateLocalKeys('alice', T0);
    const bob = await generateLocalKeys('bob', T0);
    for (const raw of [
      alice.identityDh.publicKey,
      alice.identitySign.publicKey,
      alice.signedPrekeys[0]!.keyPair.publicKey,
    ]) {
      expect(raw).toHaveLength(32);
    }
    await importX25519Public(alice.identityDh.publicKey);
    await importEd25519Public(alice.identitySign.publicKey);
    const ab = await x25519(alice.identityDh.privateKey, bob.identityDh.publicKey);
    const ba = await x25519(bob.identityDh.privateKey, alice.identityDh.publicKey);
    expect(bytesEqual(ab, ba)).toBe(true);
    expect(bytesEqual(alice.identityDh.publicKey, bob.identityDh.publicKey)).toBe(false);
  });

  it('signs and verifies with Ed25519, and refuses a changed message', async () => {
    const alice = await generateLocalKeys('alice', T0);
    const signature = await ed25519Sign(alice.identitySign.privateKey, utf8('hello'));
    expect(await ed25519Verify(alice.identitySign.publicKey, signature, utf8('hello'))).toBe(true);
    expect(await ed25519Verify(alice.identitySign.publicKey, signature, utf8('hellO'))).toBe(false);
  });

  it('refuses public keys of the wrong size and low-order X25519 points', async () => {
    await rejectsWith(importX25519Public(new Uint8Array(31)), 'BAD_KEY');
    await rejectsWith(importEd25519Public(new Uint8Array(33)), 'BAD_KEY');
    const alice = await generateLocalKeys('alice', T0);
    // The all-zero point has order 1 (RFC 7748 section 6.1: an all-zero result must be refused).
    await rejectsWith(x25519(alice.identityDh.privateKey, new Uint8Array(32)), 'BAD_KEY');
  });
});

describe('bundles', () => {
  it('verifies a genuine bundle, also after a base64 wire round trip', async () => {
    const alice = await generateLocalKeys('alice', T0);
    const bundle = publicBundle(alice);
    const verified = await verifyBundle(
      bundleFromWire(JSON.parse(JSON.stringify(bundleToWire(bundle)))),
    );
    expect(bytesEqual(verified.identityDh, alice.identityDh.publicKey)).toBe(true);
    expect(verified.signedPrekey.id).toBe(1);
    await verifyBundle(bundle, pinnedIdentityOf(bundle));
  });

  it('refuses a bundle whose prekey, id, age or signature was changed: BAD_SIGNATURE', async () => {
    const alice = await generateLocalKeys('alice', T0);
    const mallory = await generateLocalKeys('mallory', T0);
    const bundle = publicBundle(alice);
    const spk = bundle.signedPrekey;
    const variants: PublicBundle[] = [
      { ...bundle, signedPrekey: { ...spk, signature: flipBit(spk.signature, 100) } },
      {
        ...bundle,
        signedPrekey: { ...spk, publicKey: mallory.signedPrekeys[0]!.keyPair.publicKey },
      },
      { ...bundle, signedPrekey: { ...spk, id: spk.id + 1 } },
      { ...bundle, signedPrekey: { ...spk, createdAt: spk.createdAt + 1 } },
      // Mallory's whole signed prekey under Alice's identity.
      { ...bundle, signedPrekey: publicBundle(mallory).signedPrekey },
    ];
    for (const variant of variants) await rejectsWith(verifyBundle(variant), 'BAD_SIGNATURE');
  });

  it('refuses a self-consistent bundle whose identity keys differ from the pinned ones: IDENTITY_CHANGED', async () => {
    const alice = await generateLocalKeys('alice', T0);
    const pinned = pinnedIdentityOf(publicBundle(alice));
    const impostor = await generateLocalKeys('alice', T0);
    await rejectsWith(verifyBundle(publicBundle(impostor), pinned), 'IDENTITY_CHANGED');
    // Only one of the two identity keys changed is still a change.
    await rejectsWith(
      verifyBundle(publicBundle(impostor), {
        ...pinned,
        identitySign: impostor.identitySign.publicKey,
      }),
      'IDENTITY_CHANGED',
    );
    await rejectsWith(
      verifyBundle(publicBundle(impostor), {
        ...pinned,
        identityDh: impostor.identityDh.publicKey,
      }),
      'IDENTITY_CHANGED',
    );
  });

  it('refuses keys of the wrong size: BAD_KEY', async () => {
    const bundle = publicBundle(await generateLocalKeys('alice', T0));
    await rejectsWith(verifyBundle({ ...bundle, identityDh: new Uint8Array(16) }), 'BAD_KEY');
  });
});

describe('per-message key agreement', () => {
  it('gives sender and recipient the same 24 + 32 byte keys, new for every message', async () => {
    const alice = await generateLocalKeys('alice', T0);
    const bob = await generateLocalKeys('bob', T0);
    const bobBundle = await verifyBundle(publicBundle(bob));
    const first = await senderAgreement(alice, bobBundle, 'text', 'm1', T0);
    const second = await senderAgreement(alice, bobBundle, 'text', 'm1', T0);
    expect(first.keys.encryptionKey).toHaveLength(24);
    expect(first.keys.macKey).toHaveLength(32);
    expect(bytesEqual(first.ephemeralPublic, second.ephemeralPublic)).toBe(false);
    expect(bytesEqual(first.keys.encryptionKey, second.keys.encryptionKey)).toBe(false);
    expect(bytesEqual(first.keys.macKey, second.keys.macKey)).toBe(false);
    const mirror = await recipientAgreement(bob, {
      type: 'text',
      sender: publicBundle(alice),
      ephemeralPublic: first.ephemeralPublic,
      signedPrekeyId: first.signedPrekeyId,
      messageId: 'm1',
    });
    expect(bytesEqual(mirror.encryptionKey, first.keys.encryptionKey)).toBe(true);
    expect(bytesEqual(mirror.macKey, first.keys.macKey)).toBe(true);
  });

  it('binds type, message id and the sender identity key into the keys', async () => {
    const alice = await generateLocalKeys('alice', T0);
    const bob = await generateLocalKeys('bob', T0);
    const carol = await generateLocalKeys('carol', T0);
    const sent = await senderAgreement(
      alice,
      await verifyBundle(publicBundle(bob)),
      'key-share',
      'm1',
      T0,
    );
    const base = {
      type: 'key-share' as const,
      sender: publicBundle(alice),
      ephemeralPublic: sent.ephemeralPublic,
      signedPrekeyId: 1,
      messageId: 'm1',
    };
    const variants = [
      { ...base, type: 'text' as const },
      { ...base, messageId: 'm2' },
      // Same user id, another identity key: the sender's private key is part of the secret.
      { ...base, sender: { userId: 'alice', identityDh: carol.identityDh.publicKey } },
    ];
    for (const variant of variants) {
      const keys = await recipientAgreement(bob, variant);
      expect(bytesEqual(keys.encryptionKey, sent.keys.encryptionKey)).toBe(false);
    }
    const info = agreementInfo({
      type: 'text',
      senderId: 'alice',
      recipientId: 'bob',
      senderIdentityDh: alice.identityDh.publicKey,
      recipientIdentityDh: bob.identityDh.publicKey,
      ephemeralPublic: sent.ephemeralPublic,
      signedPrekeyId: 7,
      messageId: 'm1',
    });
    expect(fromUtf8(info.subarray(0, 18))).toBe('cipherline/v1/text');
  });
});

describe('signed prekey rotation', () => {
  async function exchange(
    sender: LocalKeys,
    recipient: LocalKeys,
    recipientBundle: PublicBundle,
    messageId: string,
    now: number,
  ) {
    return sealDirect({
      sender,
      recipient: await verifyBundle(recipientBundle),
      messageId,
      timestamp: now,
      body: { type: 'text', text: messageId },
    });
  }

  it('rotates weekly, keeps old prekeys for the grace period, then deletes them: UNKNOWN_PREKEY', async () => {
    const alice = await generateLocalKeys('alice', T0);
    let bob = await generateLocalKeys('bob', T0);
    const oldBundle = publicBundle(bob);
    const aliceBundle = await verifyBundle(publicBundle(alice));

    const early = await rotateSignedPrekeyIfDue(bob, T0 + SIGNED_PREKEY_ROTATION_MS - 1);
    expect(early.rotated).toBe(false);
    expect(early.keys.signedPrekeys).toHaveLength(1);

    const rotateAt = T0 + SIGNED_PREKEY_ROTATION_MS;
    const rotation = await rotateSignedPrekeyIfDue(bob, rotateAt);
    expect(rotation.rotated).toBe(true);
    bob = rotation.keys;
    expect(bob.signedPrekeys.map((p) => p.id)).toEqual([1, 2]);
    expect(bob.signedPrekeys[0]!.supersededAt).toBe(rotateAt);
    const newBundle = await verifyBundle(publicBundle(bob));
    expect(newBundle.signedPrekey.id).toBe(2);
    expect(newBundle.signedPrekey.createdAt).toBe(rotateAt);

    // A sender with the old bundle, as late as it may still use it, opened as late as the inbox
    // keeps the message: inside the grace period.
    const sentAt = rotateAt + BUNDLE_MAX_CACHE_AGE_MS - HOUR;
    const lateNow = sentAt + INBOX_RETENTION_MS - HOUR;
    expect(lateNow).toBeLessThan(rotateAt + SIGNED_PREKEY_GRACE_MS);
    const envelope = await exchange(alice, bob, oldBundle, 'late', sentAt);
    const opened = await openDirect({
      envelope,
      me: bob,
      sender: aliceBundle,
      authenticatedSenderId: 'alice',
      expectedType: 'text',
      seen: new MemorySeenStore(),
      now: lateNow,
    });
    expect(opened.body).toEqual({ type: 'text', text: 'late' });

    // Past the grace period the old prekey is gone (and the new one, now due, rotates again).
    const after = await rotateSignedPrekeyIfDue(bob, rotateAt + SIGNED_PREKEY_GRACE_MS + 1);
    expect(after.deletedIds).toEqual([1]);
    expect(after.keys.signedPrekeys.map((p) => p.id)).toEqual([2, 3]);
    expect(() => findSignedPrekey(after.keys, 1)).toThrow(CryptoError);
    await rejectsWith(
      openDirect({
        envelope,
        me: after.keys,
        sender: aliceBundle,
        authenticatedSenderId: 'alice',
        expectedType: 'text',
        seen: new MemorySeenStore(),
        now: lateNow,
      }),
      'UNKNOWN_PREKEY',
    );
  });

  it('senders refuse a signed prekey older than rotation plus retention (PREKEY_TOO_OLD), or from the future (FROM_THE_FUTURE, retryable)', async () => {
    const alice = await generateLocalKeys('alice', T0);
    const bob = await verifyBundle(publicBundle(await generateLocalKeys('bob', T0)));
    const seal = (timestamp: number) =>
      sealDirect({
        sender: alice,
        recipient: bob,
        messageId: `m-${timestamp}`,
        timestamp,
        body: { type: 'text', text: 'hi' },
      });
    expect(SIGNED_PREKEY_MAX_AGE_MS).toBe(37 * DAY);
    // A server that kept a copy of bob's first prekey cannot keep senders on it.
    await seal(T0 + SIGNED_PREKEY_MAX_AGE_MS);
    await rejectsWith(seal(T0 + SIGNED_PREKEY_MAX_AGE_MS + 1), 'PREKEY_TOO_OLD');
    await seal(T0 - CLOCK_SLACK_MS);
    const future = await refusal(seal(T0 - CLOCK_SLACK_MS - 1));
    expect(future.code).toBe('FROM_THE_FUTURE');
    expect(future.retryable).toBe(true);
  });

  it('treats a prekey dated in the future as due, so a clock that ran ahead cannot switch rotation off', async () => {
    const bob = await generateLocalKeys('bob', T0 + 30 * DAY); // made while the clock was a month ahead
    const rotation = await rotateSignedPrekeyIfDue(bob, T0);
    expect(rotation.rotated).toBe(true);
    expect(rotation.keys.signedPrekeys.map((p) => [p.id, p.createdAt])).toEqual([
      [1, T0 + 30 * DAY],
      [2, T0],
    ]);
    expect((await rotateSignedPrekeyIfDue(rotation.keys, T0 + 1)).rotated).toBe(false);
  });

  it('rotates at once when forced (a device of the account was removed)', async () => {
    const bob = await generateLocalKeys('bob', T0);
    const forced = await rotateSignedPrekeyIfDue(bob, T0 + 1, { force: true });
    expect(forced.rotated).toBe(true);
    expect(forced.keys.signedPrekeys.map((p) => [p.id, p.supersededAt])).toEqual([
      [1, T0 + 1],
      [2, undefined],
    ]);
  });
});

describe('serialised private keys (for the backup)', () => {
  it('round-trips, and the restored keys open what was sealed to the originals', async () => {
    const alice = await generateLocalKeys('alice', T0);
    const bob = (
      await rotateSignedPrekeyIfDue(
        await generateLocalKeys('bob', T0),
        T0 + SIGNED_PREKEY_ROTATION_MS,
      )
    ).keys;
    const envelope = await sealDirect({
      sender: alice,
      recipient: await verifyBundle(publicBundle(bob)),
      messageId: 'm1',
      timestamp: T0 + SIGNED_PREKEY_ROTATION_MS,
      body: { type: 'text', text: 'after restore' },
    });
    const restored = await importLocalKeys(await exportLocalKeys(bob));
    expect(restored.userId).toBe('bob');
    expect(restored.signedPrekeys.map((p) => [p.id, p.createdAt, p.supersededAt])).toEqual(
      bob.signedPrekeys.map((p) => [p.id, p.createdAt, p.supersededAt]),
    );
    await verifyBundle(publicBundle(restored), pinnedIdentityOf(publicBundle(bob)));
    const opened = await openDirect({
      envelope,
      me: restored,
      sender: await verifyBundle(publicBundle(alice)),
      authenticatedSenderId: 'alice',
      expectedType: 'text',
      seen: new MemorySeenStore(),
      now: T0 + SIGNED_PREKEY_ROTATION_MS,
    });
    expect(opened.body).toEqual({ type: 'text', text: 'after restore' });
  });

  it('refuses garbage, an unknown version, and a private key that does not match its public key', async () => {
    const alice = await generateLocalKeys('alice', T0);
    const other = await generateLocalKeys('other', T0);
    const json = JSON.parse(fromUtf8(await exportLocalKeys(alice)));
    const otherJson = JSON.parse(fromUtf8(await exportLocalKeys(other)));
    await rejectsWith(importLocalKeys(utf8('{not json')), 'MALFORMED');
    await rejectsWith(
      importLocalKeys(utf8(JSON.stringify({ ...json, version: 2 }))),
      'UNSUPPORTED_VERSION',
    );
    await rejectsWith(
      importLocalKeys(utf8(JSON.stringify({ ...json, signedPrekeys: [] }))),
      'MALFORMED',
    );
    const swapped = {
      ...json,
      identityDh: { ...json.identityDh, privateKey: otherJson.identityDh.privateKey },
    };
    await rejectsWith(importLocalKeys(utf8(JSON.stringify(swapped))), 'BAD_KEY');
  });
});
