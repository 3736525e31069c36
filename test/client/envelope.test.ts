import { beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { agreementInfo, splitMessageKeys } from '../../client/crypto/agreement';
import {
  MAX_CLOCK_SKEW_MS,
  MAX_INLINE_ENVELOPE_BYTES,
  type OpenDirectInput,
  envelopeLength,
  envelopeOverhead,
  maxInlinePlaintextLength,
  openDirect,
  peekEnvelopeHeader,
  sealDirect,
  sealWithKeys,
} from '../../client/crypto/envelope';
import {
  type DirectHeader,
  IV_BYTES,
  MAC_BYTES,
  SIGNATURE_BYTES,
  encodeHeader,
  parseEnvelope,
} from '../../client/crypto/envelope-header';
import { type DirectBody, decodeBody } from '../../client/crypto/envelope-payloads';
import { CryptoError, type CryptoErrorCode } from '../../protocol/crypto-error';
import {
  INBOX_RETENTION_MS,
  type LocalKeys,
  type VerifiedBundle,
  ed25519Sign,
  generateLocalKeys,
  generateX25519KeyPair,
  publicBundle,
  verifyBundle,
  x25519,
} from '../../client/crypto/keys';
import { MemorySeenStore } from '../../client/crypto/seen-store';
import type * as Tdes from '../../client/crypto/tdes';
import { concatBytes, lengthPrefixed, toBase64, utf8 } from '../../protocol/bytes';
import { codeOf, rejectsWith } from '../support/crypto-errors';

// Watch the 3DES calls the envelope code makes: which keys encrypt, and whether anything is
// decrypted before a rejection.
const tdesSpy = vi.hoisted(() => ({ encryptionKeys: [] as Uint8Array[], decryptions: 0 }));
vi.mock('../../client/crypto/tdes', async (importOriginal) => {
  const actual = await importOriginal<typeof Tdes>();
  return {
    ...actual,
    tdesCbcEncrypt: (key: Uint8Array, iv: Uint8Array, plaintext: Uint8Array) => {
      tdesSpy.encryptionKeys.push(key.slice());
      return actual.tdesCbcEncrypt(key, iv, plaintext);
    },
    tdesCbcDecrypt: (key: Uint8Array, iv: Uint8Array, ciphertext: Uint8Array) => {
      tdesSpy.decryptions++;
      return actual.tdesCbcDecrypt(key, iv, ciphertext);
    },
  };
});

const NOW = Date.UTC(2025, 5, 1, 12);
const MESSAGE_ID = '0b6e1a4e-8f53-4c1e-9d0e-2f1c3b5a7d90';

let alice: LocalKeys;
let bob: LocalKeys;
let carol: LocalKeys;
let aliceBundle: VerifiedBundle;
let bobBundle: VerifiedBundle;
let carolBundle: VerifiedBundle;

beforeAll(async () => {
  alice = await generateLocalKeys('alice', NOW);
  bob = await generateLocalKeys('bob', NOW);
  carol = await generateLocalKeys('carol', NOW);
  aliceBundle = await verifyBundle(publicBundle(alice));
  bobBundle = await verifyBundle(publicBundle(bob));
  carolBundle = await verifyBundle(publicBundle(carol));
});

beforeEach(() => {
  tdesSpy.encryptionKeys.length = 0;
  tdesSpy.decryptions = 0;
});

const seal = (
  body: DirectBody,
  overrides: { messageId?: string; timestamp?: number; recipient?: VerifiedBundle } = {},
) =>
  sealDirect({
    sender: alice,
    recipient: overrides.recipient ?? bobBundle,
    messageId: overrides.messageId ?? MESSAGE_ID,
    timestamp: overrides.timestamp ?? NOW,
    body,
  });

const openInput = (
  envelope: Uint8Array,
  overrides: Partial<OpenDirectInput> = {},
): OpenDirectInput => ({
  envelope,
  me: bob,
  sender: aliceBundle,
  authenticatedSenderId: 'alice',
  expectedType: ['text', 'file', 'receipt', 'key-share'],
  seen: new MemorySeenStore(),
  now: NOW,
  ...overrides,
});

const text = (t: string): DirectBody => ({ type: 'text', text: t });

/** Re-signs header ‖ IV ‖ ciphertext with `signer`'s key, as envelope.ts does (a sender's power). */
async function resign(envelope: Uint8Array, signer: LocalKeys): Promise<Uint8Array> {
  const parsed = parseEnvelope(envelope);
  const tag = utf8('cipherline/v1/envelope-signature/direct');
  const signature = await ed25519Sign(
    signer.identitySign.privateKey,
    lengthPrefixed(tag, parsed.authenticated),
  );
  return concatBytes(parsed.authenticated, parsed.mac, signature);
}

describe('round trips', () => {
  const file = {
    blobId: 'blob-7f3a',
    fileKey: new Uint8Array(32).fill(7),
    name: 'holiday photo.jpg',
    mimeType: 'image/jpeg',
    size: 3_456_789,
    digest: new Uint8Array(32).fill(9),
  };
  const bodies: DirectBody[] = [
    text('hello bob'),
    text(''),
    text('Grüße, 你好, 👋 — the whole line'),
    { type: 'file', file },
    { type: 'receipt', receipt: { kind: 'read', messageIds: ['m1', 'm2'] } },
    { type: 'receipt', receipt: { kind: 'delivered', messageIds: ['m3'] } },
    {
      type: 'key-share',
      keyShare: {
        groupId: 'friends',
        epoch: 3,
        statementHash: new Uint8Array(32).fill(1),
        groupKey: new Uint8Array(32).fill(2),
      },
    },
  ];

  it.each(bodies.map((body, i) => [i, body.type, body] as const))(
    'body %i (%s) opens to exactly what was sealed',
    async (_, type, body) => {
      const envelope = await seal(body);
      const opened = await openDirect(openInput(envelope, { expectedType: type }));
      expect(opened.body).toEqual(body);
      expect(opened.header).toMatchObject({
        type,
        senderId: 'alice',
        recipientId: 'bob',
        messageId: MESSAGE_ID,
        timestamp: NOW,
      });
      expect(peekEnvelopeHeader(envelope).type).toBe(type);
    },
  );

  it('gives the same plaintext twice a new EK, new keys and a new ciphertext', async () => {
    const first = await seal(text('same words'));
    const second = await seal(text('same words'));
    const [a, b] = [parseEnvelope(first), parseEnvelope(second)];
    expect(toBase64(a.ciphertext)).not.toBe(toBase64(b.ciphertext));
    expect(toBase64((a.header as DirectHeader).ephemeralPublic)).not.toBe(
      toBase64((b.header as DirectHeader).ephemeralPublic),
    );
    expect(tdesSpy.encryptionKeys).toHaveLength(2);
    expect(toBase64(tdesSpy.encryptionKeys[0]!)).not.toBe(toBase64(tdesSpy.encryptionKeys[1]!));
    expect(tdesSpy.encryptionKeys[0]).toHaveLength(24);
  });
});

describe('rejections, each with its code, none decrypting anything', () => {
  it('refuses every single flipped bit, with a MAC or signature failure outside the routing fields', async () => {
    const envelope = await seal(text('flip me'));
    const parsed = parseEnvelope(envelope);
    const headerLength = parsed.authenticated.length - IV_BYTES - parsed.ciphertext.length;
    // Header byte offsets: version 0, type 1, then [len 4 | value] fields.
    const fields = [
      'sender',
      'recipient',
      'messageId',
      'timestamp',
      'ek',
      'spkId',
      'ctLength',
    ] as const;
    const region = new Map<number, string>([
      [0, 'version'],
      [1, 'type'],
    ]);
    let offset = 2;
    const view = new DataView(envelope.buffer, envelope.byteOffset);
    for (const field of fields) {
      for (let i = 0; i < 4; i++) region.set(offset + i, 'length');
      const length = view.getUint32(offset);
      for (let i = 0; i < length; i++) region.set(offset + 4 + i, field);
      offset += 4 + length;
    }
    expect(offset).toBe(headerLength);
    const allowed: Record<string, readonly CryptoErrorCode[]> = {
      version: ['UNSUPPORTED_VERSION'],
      type: ['MALFORMED', 'WRONG_TYPE', 'BAD_SIGNATURE'], // text→file is an accepted type: then the signature fails
      length: ['MALFORMED', 'TRUNCATED'],
      sender: ['WRONG_SENDER', 'MALFORMED'],
      recipient: ['WRONG_RECIPIENT', 'MALFORMED'],
      ctLength: ['MALFORMED', 'TRUNCATED'],
      messageId: ['BAD_SIGNATURE', 'MALFORMED'], // MALFORMED: the flip broke the UTF-8
      timestamp: ['BAD_SIGNATURE', 'MALFORMED'], // MALFORMED: beyond 2^53
      ek: ['BAD_SIGNATURE'],
      spkId: ['BAD_SIGNATURE'],
      body: ['BAD_SIGNATURE'], // IV and ciphertext
      mac: ['BAD_MAC'],
      signature: ['BAD_SIGNATURE'],
    };
    const macStart = parsed.authenticated.length;
    const seen = new MemorySeenStore();
    const counts = new Map<string, number>();
    for (let bit = 0; bit < envelope.length * 8; bit++) {
      const byte = bit >> 3;
      const name =
        region.get(byte) ??
        (byte < macStart ? 'body' : byte < macStart + MAC_BYTES ? 'mac' : 'signature');
      const tampered = envelope.slice();
      tampered[byte]! ^= 1 << (bit & 7);
      const code = await codeOf(openDirect(openInput(tampered, { seen })));
      expect(allowed[name], `bit ${bit} (${name}) → ${code}`).toContain(code);
      counts.set(code, (counts.get(code) ?? 0) + 1);
    }
    expect(tdesSpy.decryptions).toBe(0);
    expect(seen.size).toBe(0);
    expect(counts.get('BAD_MAC')).toBe(MAC_BYTES * 8);
    expect(counts.get('BAD_SIGNATURE')).toBeGreaterThan(
      (IV_BYTES + parsed.ciphertext.length + SIGNATURE_BYTES) * 8,
    );
    // And the untouched envelope still opens: no failed attempt recorded its id.
    expect((await openDirect(openInput(envelope, { seen }))).body).toEqual(text('flip me'));
  });

  it('checks the MAC even when the signature is valid (a ciphertext changed and re-signed)', async () => {
    const envelope = await seal(text('mac me'));
    const parsed = parseEnvelope(envelope);
    const tampered = envelope.slice();
    tampered[parsed.authenticated.length - 1]! ^= 1; // last ciphertext byte
    await rejectsWith(openDirect(openInput(await resign(tampered, alice))), 'BAD_MAC');
    expect(tdesSpy.decryptions).toBe(0);
  });

  it('binds the type into the keys: a key-share relabelled as text fails the MAC even when re-signed', async () => {
    const share = await seal({
      type: 'key-share',
      keyShare: {
        groupId: 'g',
        epoch: 1,
        statementHash: new Uint8Array(32),
        groupKey: new Uint8Array(32).fill(5),
      },
    });
    await rejectsWith(openDirect(openInput(share, { expectedType: 'text' })), 'WRONG_TYPE');
    const relabelled = share.slice();
    relabelled[1] = 0x01; // type byte: text
    await rejectsWith(openDirect(openInput(relabelled, { expectedType: 'text' })), 'BAD_SIGNATURE');
    await rejectsWith(
      openDirect(openInput(await resign(relabelled, alice), { expectedType: 'text' })),
      'BAD_MAC',
    );
    expect(tdesSpy.decryptions).toBe(0);
  });

  it('refuses every truncation (TRUNCATED) and any extra byte (MALFORMED)', async () => {
    const envelope = await seal(text('cut me'));
    for (let length = 0; length < envelope.length; length++) {
      await rejectsWith(openDirect(openInput(envelope.subarray(0, length))), 'TRUNCATED');
    }
    await rejectsWith(openDirect(openInput(concatBytes(envelope, new Uint8Array(1)))), 'MALFORMED');
    expect(tdesSpy.decryptions).toBe(0);
  });

  it('refuses a replayed message id (REPLAY), also when both copies arrive at once', async () => {
    const seen = new MemorySeenStore();
    const envelope = await seal(text('once'));
    await openDirect(openInput(envelope, { seen }));
    await rejectsWith(openDirect(openInput(envelope, { seen })), 'REPLAY');
    // A fresh envelope (new EK) reusing the id is a replay too.
    await rejectsWith(openDirect(openInput(await seal(text('again')), { seen })), 'REPLAY');

    const racing = await seal(text('race'), { messageId: 'race-1' });
    const results = await Promise.all(
      [0, 1, 2].map(() => codeOf(openDirect(openInput(racing, { seen })))),
    );
    expect(results.filter((r) => r === 'accepted')).toHaveLength(1);
    expect(results.filter((r) => r === 'REPLAY')).toHaveLength(2);
  });

  it('scopes message ids by sender: another sender may use the same id', async () => {
    const seen = new MemorySeenStore();
    await openDirect(openInput(await seal(text('from alice')), { seen }));
    const fromCarol = await sealDirect({
      sender: carol,
      recipient: bobBundle,
      messageId: MESSAGE_ID,
      timestamp: NOW,
      body: text('from carol'),
    });
    const opened = await openDirect(
      openInput(fromCarol, { seen, sender: carolBundle, authenticatedSenderId: 'carol' }),
    );
    expect(opened.body).toEqual(text('from carol'));
  });

  it('refuses timestamps older than the retention (TOO_OLD) or too far ahead (TOO_NEW)', async () => {
    const envelope = await seal(text('time'));
    await openDirect(openInput(envelope, { now: NOW + INBOX_RETENTION_MS })); // exactly at the limit
    await rejectsWith(
      openDirect(openInput(envelope, { now: NOW + INBOX_RETENTION_MS + 1 })),
      'TOO_OLD',
    );
    await openDirect(openInput(envelope, { now: NOW - MAX_CLOCK_SKEW_MS }));
    await rejectsWith(
      openDirect(openInput(envelope, { now: NOW - MAX_CLOCK_SKEW_MS - 1 })),
      'TOO_NEW',
    );
    expect(tdesSpy.decryptions).toBe(2);
  });

  it('refuses a message for someone else (WRONG_RECIPIENT)', async () => {
    const toBob = await seal(text('for bob'));
    await rejectsWith(openDirect(openInput(toBob, { me: carol })), 'WRONG_RECIPIENT');
  });

  it('refuses a sender other than the authenticated one (WRONG_SENDER)', async () => {
    const fromAlice = await seal(text('hi'));
    // The server says it came from carol: the header says alice.
    await rejectsWith(
      openDirect(openInput(fromAlice, { authenticatedSenderId: 'carol', sender: carolBundle })),
      'WRONG_SENDER',
    );
    // The caller fetched the wrong bundle for the authenticated sender.
    await rejectsWith(openDirect(openInput(fromAlice, { sender: carolBundle })), 'WRONG_SENDER');
    expect(tdesSpy.decryptions).toBe(0);
  });

  it('refuses an unknown version (UNSUPPORTED_VERSION) and an unknown type code (MALFORMED)', async () => {
    const envelope = await seal(text('v'));
    const v2 = envelope.slice();
    v2[0] = 2;
    await rejectsWith(openDirect(openInput(v2)), 'UNSUPPORTED_VERSION');
    const unknownType = envelope.slice();
    unknownType[1] = 0x7f;
    await rejectsWith(openDirect(openInput(unknownType)), 'MALFORMED');
  });

  it("refuses a key-compromise impersonation: with bob's private keys the MAC can be forged, the signature cannot", async () => {
    // Mallory stole bob's private keys and writes "from alice" to bob. She can compute all three
    // DHs (DH(IK_A, SPK_B) = DH(SPK_B, IK_A)), so the MAC verifies; only alice can sign.
    const ek = await generateX25519KeyPair();
    const spk = bob.signedPrekeys[0]!;
    const ikm = concatBytes(
      await x25519(ek.privateKey, bob.identityDh.publicKey),
      await x25519(ek.privateKey, spk.keyPair.publicKey),
      await x25519(spk.keyPair.privateKey, alice.identityDh.publicKey),
    );
    const info = agreementInfo({
      type: 'text',
      senderId: 'alice',
      recipientId: 'bob',
      senderIdentityDh: alice.identityDh.publicKey,
      recipientIdentityDh: bob.identityDh.publicKey,
      ephemeralPublic: ek.publicKey,
      signedPrekeyId: spk.id,
      messageId: 'kci',
    });
    const keys = await splitMessageKeys(ikm, info);
    const header = {
      type: 'text' as const,
      senderId: 'alice',
      recipientId: 'bob',
      messageId: 'kci',
      timestamp: NOW,
      ephemeralPublic: ek.publicKey,
      signedPrekeyId: spk.id,
    };
    const forged = await sealWithKeys(
      header,
      keys,
      carol.identitySign.privateKey,
      utf8('send money'),
    );
    await rejectsWith(openDirect(openInput(forged)), 'BAD_SIGNATURE');
    // Signed correctly (which only alice can do), the same bytes would open: the MAC was right.
    const genuine = await sealWithKeys(
      header,
      keys,
      alice.identitySign.privateKey,
      utf8('send money'),
    );
    expect((await openDirect(openInput(genuine))).body).toEqual(text('send money'));
  });

  it('refuses a prekey id that this device never had (UNKNOWN_PREKEY)', async () => {
    // The sender (who can sign) names prekey 99, which bob never made.
    const envelope = await seal(text('x'));
    const parsed = parseEnvelope(envelope);
    const header = { ...(parsed.header as DirectHeader), signedPrekeyId: 99 };
    const authenticated = concatBytes(encodeHeader(header), parsed.iv, parsed.ciphertext);
    const rebuilt = await resign(concatBytes(authenticated, parsed.mac, parsed.signature), alice);
    await rejectsWith(openDirect(openInput(rebuilt)), 'UNKNOWN_PREKEY');
  });

  it('refuses a payload that does not fit its type (MALFORMED)', () => {
    expect(() => decodeBody('file', utf8('not a file payload'))).toThrow(CryptoError);
    expect(() => decodeBody('receipt', new Uint8Array([1]))).toThrowError(/at least one/);
    expect(() => decodeBody('key-share', new Uint8Array([1, 0, 0]))).toThrow(CryptoError);
    expect(() => decodeBody('text', new Uint8Array([0xff]))).toThrow(CryptoError);
  });
});

describe('size', () => {
  const header = {
    type: 'text' as const,
    senderId: 'alice',
    recipientId: 'bob',
    messageId: MESSAGE_ID,
    timestamp: NOW,
    ephemeralPublic: new Uint8Array(32),
    signedPrekeyId: 1,
  };

  it('predicts the exact envelope size and overhead', async () => {
    for (const length of [0, 1, 7, 8, 9, 100]) {
      const envelope = await seal(text('x'.repeat(length)));
      expect(envelope.length).toBe(envelopeLength(header, length));
    }
    // alice → bob with a UUID message id: 122-byte header + 8 IV + 32 MAC + 64 signature + 1..8 padding.
    expect(envelopeOverhead(header, 0)).toBe(234);
    expect(envelopeOverhead(header, 7)).toBe(227);
  });

  it('seals the largest inline plaintext within the frame budget and refuses one byte more (TOO_LARGE)', async () => {
    const max = maxInlinePlaintextLength(header);
    const envelope = await seal(text('y'.repeat(max)));
    expect(envelope.length).toBeLessThanOrEqual(MAX_INLINE_ENVELOPE_BYTES);
    expect(toBase64(envelope).length).toBeLessThanOrEqual(24 * 1024);
    await rejectsWith(seal(text('y'.repeat(max + 1))), 'TOO_LARGE');
    expect(max).toBe(18_199);
  });
});
