/**
 * client/crypto/tdes.ts in real headless Chromium, in a page and in a Web Worker: published
 * known answers, ciphertexts made here by OpenSSL (node:crypto) and passed in, and random round
 * trips (one-shot and streaming) made in the browser. The browser computes, Node asserts.
 */
import { createCipheriv, randomBytes, randomInt } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../../tools/chromium';
import type { ChromiumSession } from '../../tools/chromium';
import type { TdesBrowserInput, TdesBrowserOutput } from '../browser/entries/tdes.entry';

const ENTRY = 'test/browser/entries/tdes.entry.ts';
const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

// Single DES: NIST SP 800-17 appendix B (tables B.1, B.2, B.4) and FIPS 81 appendix B (ECB).
const DES_VECTORS = [
  { key: '0101010101010101', plaintext: '8000000000000000', ciphertext: '95f8a5e5dd31d900' },
  { key: '8001010101010101', plaintext: '0000000000000000', ciphertext: '95a8d72813daa94d' },
  { key: '7ca110454a1a6e57', plaintext: '01a1d6d039776742', ciphertext: '690f5b0d9a26939b' },
  {
    key: '0123456789abcdef',
    plaintext: hex(Buffer.from('Now is t')),
    ciphertext: '3fa40e8a984d4815',
  },
];

// NIST "Examples with Intermediate Values", TDES_CBC.pdf: keys 0123456789ABCDEF,
// 23456789ABCDEF01, 456789ABCDEF0123, IV F69F2445DF4F9B17, the SP 800-38A plaintext.
const NIST_CBC = {
  key: '0123456789abcdef23456789abcdef01456789abcdef0123',
  iv: 'f69f2445df4f9b17',
  plaintext: '6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51',
  ciphertext: '2079c3d53aa763e193b79e2569ab5262516570481f25b50f73c0bda85c8e0da7',
};

function opensslEncrypt(key: string, iv: string, plaintext: string): string {
  const cipher = createCipheriv('des-ede3-cbc', Buffer.from(key, 'hex'), Buffer.from(iv, 'hex'));
  return Buffer.concat([cipher.update(Buffer.from(plaintext, 'hex')), cipher.final()]).toString(
    'hex',
  );
}

function makeInput(): TdesBrowserInput {
  const random = Array.from({ length: 24 }, (_, i) => ({
    key: hex(randomBytes(24)),
    iv: hex(randomBytes(8)),
    plaintext: hex(randomBytes(i < 8 ? i : randomInt(8, 3000))),
  }));
  const cbc = [NIST_CBC, ...random].map(({ key, iv, plaintext }) => ({
    key,
    iv,
    plaintext,
    opensslCiphertext: opensslEncrypt(key, iv, plaintext),
  }));
  return {
    des: DES_VECTORS.map(({ key, plaintext }) => ({ key, plaintext })),
    cbc,
    roundTrips: 60,
  };
}

let chromium: ChromiumSession;
beforeAll(async () => {
  chromium = await launchChromium();
});
afterAll(async () => {
  await chromium?.close();
});

describe.each(['page', 'worker'] as const)('3DES in headless Chromium (%s)', (where) => {
  const input = makeInput();
  let output: TdesBrowserOutput;
  beforeAll(async () => {
    output =
      where === 'page'
        ? await chromium.runInPage<TdesBrowserOutput>(ENTRY, input)
        : await chromium.runInWorker<TdesBrowserOutput>(ENTRY, input);
  });

  it('really ran where it should, in a secure context', () => {
    expect(output.runtime).toBe(where);
    expect(output.secureContext).toBe(true);
  });

  it('matches the published single-DES known answers', () => {
    expect(output.des.map((d) => d.ciphertext)).toEqual(DES_VECTORS.map((v) => v.ciphertext));
    expect(output.des.map((d) => d.decrypted)).toEqual(DES_VECTORS.map((v) => v.plaintext));
  });

  it('matches the NIST TDES_CBC example values', () => {
    const nist = output.cbc[0]!;
    expect(nist.ciphertext.slice(0, 64)).toBe(NIST_CBC.ciphertext);
  });

  it('encrypts (one-shot and streaming) exactly as OpenSSL did in Node, and decrypts its output', () => {
    expect(output.cbc).toHaveLength(input.cbc.length);
    input.cbc.forEach((sent, i) => {
      const got = output.cbc[i]!;
      expect(got.ciphertext, `case ${i}`).toBe(sent.opensslCiphertext);
      expect(got.streamedCiphertext, `case ${i}`).toBe(sent.opensslCiphertext);
      expect(got.decryptedOpenssl, `case ${i}`).toBe(sent.plaintext);
    });
  });

  it('round-trips random lengths of every residue mod 8', () => {
    expect(output.roundTrips.done).toBe(60);
    expect(output.roundTrips.failures).toEqual([]);
    expect(output.roundTrips.lengthsMod8).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });
});

describe('the harness itself', () => {
  it('reports an exception thrown in the browser, with its message', async () => {
    const broken = { des: [{ key: '00', plaintext: '0000000000000000' }], cbc: [], roundTrips: 0 };
    await expect(chromium.runInPage(ENTRY, broken)).rejects.toThrow(/DES key must be 8 bytes/);
    await expect(chromium.runInWorker(ENTRY, broken)).rejects.toThrow(/DES key must be 8 bytes/);
  });
});
