import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CryptoError } from '../../protocol/crypto-error';
import {
  SAFETY_NUMBER_ITERATIONS,
  compareScannedSafetyData,
  computeSafetyNumber,
  fingerprintDigits,
  formatSafetyNumber,
  iteratedFingerprint,
} from '../../client/crypto/safety';
import type { SafetyParty } from '../../client/crypto/safety';

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
const fromHex = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'hex'));
/** 32 bytes start, start+1, …: fixed keys for the pinned answer. */
const sequence = (start: number): Uint8Array =>
  Uint8Array.from({ length: 32 }, (_, i) => (start + i) & 255);
const random32 = (): Uint8Array => crypto.getRandomValues(new Uint8Array(32));

function expectCode(run: () => unknown, code: string): void {
  let caught: unknown;
  try {
    run();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(CryptoError);
  expect((caught as CryptoError).code).toBe(code);
}

/** Independent implementation with node:crypto, written from libsignal's loop, not from safety.ts. */
function nodeSafetyNumber(local: SafetyParty, remote: SafetyParty): { digits: string; qr: string } {
  const side = (party: SafetyParty): Buffer => {
    const key = Buffer.concat([party.identityDh, party.identitySign]);
    let hash = Buffer.concat([Buffer.from([0, 0]), key, Buffer.from(party.userId, 'utf8')]);
    for (let i = 0; i < 5200; i++) hash = createHash('sha512').update(hash).update(key).digest();
    return hash;
  };
  const digitsOf = (hash: Buffer): string =>
    [0, 5, 10, 15, 20, 25]
      .map((offset) => String(hash.readUIntBE(offset, 5) % 100000).padStart(5, '0'))
      .join('');
  const mine = side(local);
  const theirs = side(remote);
  const [a, b] = [digitsOf(mine), digitsOf(theirs)].sort();
  return { digits: a! + b!, qr: '01' + hex(mine.subarray(0, 32)) + hex(theirs.subarray(0, 32)) };
}

const alice: SafetyParty = { userId: 'alice', identityDh: sequence(0), identitySign: sequence(32) };
const bob: SafetyParty = { userId: 'bob', identityDh: sequence(64), identitySign: sequence(96) };

describe('the libsignal iteration', () => {
  it("reproduces libsignal's version-1 test vector", async () => {
    // signalapp/libsignal, rust/protocol/src/fingerprint.rs, test fingerprint_test_v1 (same as
    // testVectorsVersion1 in the Java library): 33-byte identity keys, 5200 iterations.
    const aliceKey = fromHex('0506863bc66d02b40d27b8d49ca7c09e9239236f9d7d25d6fcca5ce13c7064d868');
    const bobKey = fromHex('05f781b6fb32fed9ba1cf2de978d4d5da28dc34046ae814402b5c0dbd96fda907b');
    const enc = new TextEncoder();
    const a = await iteratedFingerprint(aliceKey, enc.encode('+14152222222'), 5200);
    const b = await iteratedFingerprint(bobKey, enc.encode('+14153333333'), 5200);
    const [first, second] = [fingerprintDigits(a), fingerprintDigits(b)].sort();
    expect(first! + second!).toBe('300354477692869396892869876765458257569162576843440918079131');
    // The scannable halves: ALICE_SCANNABLE_FINGERPRINT_V1 = 0801 1222 0a20 <alice 32> 1a22 0a20 <bob 32>.
    expect(hex(a.subarray(0, 32))).toBe(
      '1e301a0353dce3dbe7684cb8336e85136cdc0ee96219494ada305d62a7bd61df',
    );
    expect(hex(b.subarray(0, 32))).toBe(
      'd62cbf73a11592015b6b9f1682ac306fea3aaf3885b84d12bca631e9d4fb3a4d',
    );
    expect(SAFETY_NUMBER_ITERATIONS).toBe(5200);
  });
});

describe('safety numbers', () => {
  it('gives a pinned known answer for fixed inputs, equal to an independent node:crypto implementation', async () => {
    const number = await computeSafetyNumber(alice, bob);
    // Computed once and pinned; nodeSafetyNumber recomputes it without safety.ts.
    expect(number.digits).toBe('055017744545510573133314189203664649691545290176124314338609');
    expect(hex(number.qrData)).toBe(
      '01' +
        '81fb5494bdae2edf05c5a27a4e2c86d1d97c2781f8e7ac875509cc29add3284e' +
        'd263c635e096aeca6ff34c789ca12ae387fd8f2c8ed0620e478b23b9e191ac2a',
    );
    expect(nodeSafetyNumber(alice, bob)).toEqual({ digits: number.digits, qr: hex(number.qrData) });
  });

  it('is the same 60 digits on both sides, in 12 groups of 5, and the QR codes match crosswise', async () => {
    const dh = async () =>
      new Uint8Array(
        await crypto.subtle.exportKey(
          'raw',
          (
            (await crypto.subtle.generateKey({ name: 'X25519' }, true, [
              'deriveBits',
            ])) as CryptoKeyPair
          ).publicKey,
        ),
      );
    const sign = async () =>
      new Uint8Array(
        await crypto.subtle.exportKey(
          'raw',
          (
            (await crypto.subtle.generateKey({ name: 'Ed25519' }, true, [
              'sign',
              'verify',
            ])) as CryptoKeyPair
          ).publicKey,
        ),
      );
    const carol: SafetyParty = {
      userId: 'carol',
      identityDh: await dh(),
      identitySign: await sign(),
    };
    const dave: SafetyParty = {
      userId: 'dave',
      identityDh: await dh(),
      identitySign: await sign(),
    };
    const onCarols = await computeSafetyNumber(carol, dave);
    const onDaves = await computeSafetyNumber(dave, carol);
    expect(onDaves.digits).toBe(onCarols.digits);
    expect(onCarols.digits).toMatch(/^\d{60}$/);
    expect(onCarols.groups).toHaveLength(12);
    for (const group of onCarols.groups) expect(group).toMatch(/^\d{5}$/);
    expect(onCarols.groups.join('')).toBe(onCarols.digits);
    expect(formatSafetyNumber(onCarols.digits)).toBe(onCarols.groups.join(' '));
    expect(formatSafetyNumber(onCarols.digits)).toMatch(/^(\d{5} ){11}\d{5}$/);
    expect(compareScannedSafetyData(onCarols.qrData, onDaves.qrData)).toBe(true);
    expect(compareScannedSafetyData(onDaves.qrData, onCarols.qrData)).toBe(true);
    // Scanning one's own screen (or a replay of it) is not a match.
    expect(compareScannedSafetyData(onCarols.qrData, onCarols.qrData)).toBe(false);
  });

  it('changes when any of the four keys or either user id changes', async () => {
    const base = await computeSafetyNumber(alice, bob);
    const variants: Array<[string, SafetyParty, SafetyParty]> = [
      ["alice's X25519 key", { ...alice, identityDh: random32() }, bob],
      ["alice's Ed25519 key", { ...alice, identitySign: random32() }, bob],
      ["bob's X25519 key", alice, { ...bob, identityDh: random32() }],
      ["bob's Ed25519 key", alice, { ...bob, identitySign: random32() }],
      ["alice's user id", { ...alice, userId: 'alicia' }, bob],
      ["bob's user id", alice, { ...bob, userId: 'bobby' }],
    ];
    for (const [what, local, remote] of variants) {
      const changed = await computeSafetyNumber(local, remote);
      expect(changed.digits, what).not.toBe(base.digits);
      // Bob's screen with honest keys against Alice's view with a changed one: the scan fails.
      const bobsView = await computeSafetyNumber(bob, alice);
      expect(compareScannedSafetyData(changed.qrData, bobsView.qrData), what).toBe(false);
    }
  });

  it('refuses keys that are not raw 32-byte public keys, and odd input', async () => {
    await expect(
      computeSafetyNumber({ ...alice, identityDh: new Uint8Array(33) }, bob),
    ).rejects.toMatchObject({
      code: 'BAD_KEY',
    });
    await expect(
      computeSafetyNumber(alice, { ...bob, identitySign: new Uint8Array(31) }),
    ).rejects.toMatchObject({
      code: 'BAD_KEY',
    });
    await expect(computeSafetyNumber({ ...alice, userId: '' }, bob)).rejects.toMatchObject({
      code: 'BAD_INPUT',
    });
    expectCode(() => formatSafetyNumber('1234'), 'BAD_INPUT');
  });

  it('rejects QR data of another version or length with a typed error', async () => {
    const mine = (await computeSafetyNumber(alice, bob)).qrData;
    const theirs = (await computeSafetyNumber(bob, alice)).qrData;
    const otherVersion = theirs.slice();
    otherVersion[0] = 2;
    expectCode(() => compareScannedSafetyData(mine, otherVersion), 'UNSUPPORTED_VERSION');
    expectCode(() => compareScannedSafetyData(mine, theirs.subarray(0, 64)), 'MALFORMED');
    expectCode(() => compareScannedSafetyData(mine, new Uint8Array(0)), 'MALFORMED');
    // A single flipped bit anywhere in a fingerprint half is a mismatch.
    for (const index of [1, 32, 33, 64]) {
      const flipped = theirs.slice();
      flipped[index]! ^= 1;
      expect(compareScannedSafetyData(mine, flipped), `byte ${index}`).toBe(false);
    }
  });
});
