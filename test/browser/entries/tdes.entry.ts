/**
 * Browser side of test/client/tdes.browser.test.ts: runs client/crypto/tdes.ts in a Chromium page
 * or Web Worker on the vectors Node passes in, plus random round trips, and returns what it
 * computed. All assertions happen in Node.
 */
import {
  createTdesCbcDecryptor,
  createTdesCbcEncryptor,
  desDecryptBlock,
  desEncryptBlock,
  tdesCbcDecrypt,
  tdesCbcEncrypt,
} from '../../../client/crypto/tdes';
import type { TdesCbcStream } from '../../../client/crypto/tdes';

export interface TdesBrowserInput {
  /** Single-DES ECB blocks: key, plaintext (hex). */
  des: { key: string; plaintext: string }[];
  /** 3DES-CBC cases: key, IV, plaintext and the ciphertext Node's OpenSSL made (hex). */
  cbc: { key: string; iv: string; plaintext: string; opensslCiphertext: string }[];
  /** How many random-length round trips to run in the browser. */
  roundTrips: number;
}

export interface TdesBrowserOutput {
  runtime: 'page' | 'worker';
  secureContext: boolean;
  des: { ciphertext: string; decrypted: string }[];
  cbc: { ciphertext: string; streamedCiphertext: string; decryptedOpenssl: string }[];
  roundTrips: { done: number; lengthsMod8: number[]; failures: string[] };
}

const toHex = (bytes: Uint8Array): string =>
  Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
const fromHex = (hex: string): Uint8Array =>
  new Uint8Array((hex.match(/../g) ?? []).map((pair) => parseInt(pair, 16)));
const randomBytes = (length: number): Uint8Array => {
  const out = new Uint8Array(length);
  for (let at = 0; at < length; at += 65536) crypto.getRandomValues(out.subarray(at, at + 65536));
  return out;
};
const randomInt = (below: number): number => crypto.getRandomValues(new Uint32Array(1))[0]! % below;

function streamInRandomPieces(stream: TdesCbcStream, data: Uint8Array): Uint8Array {
  const parts: Uint8Array[] = [];
  for (let at = 0; at < data.length;) {
    const piece = randomInt(40);
    parts.push(stream.update(data.subarray(at, at + piece)));
    at += piece;
  }
  parts.push(stream.final());
  const out = new Uint8Array(parts.reduce((n, part) => n + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

export default function run(input: TdesBrowserInput): TdesBrowserOutput {
  const des = input.des.map(({ key, plaintext }) => {
    const ciphertext = desEncryptBlock(fromHex(key), fromHex(plaintext));
    return {
      ciphertext: toHex(ciphertext),
      decrypted: toHex(desDecryptBlock(fromHex(key), ciphertext)),
    };
  });

  const cbc = input.cbc.map(({ key, iv, plaintext, opensslCiphertext }) => {
    const [k, v, p] = [fromHex(key), fromHex(iv), fromHex(plaintext)];
    return {
      ciphertext: toHex(tdesCbcEncrypt(k, v, p)),
      streamedCiphertext: toHex(streamInRandomPieces(createTdesCbcEncryptor(k, v), p)),
      decryptedOpenssl: toHex(tdesCbcDecrypt(k, v, fromHex(opensslCiphertext))),
    };
  });

  const lengthsMod8 = new Set<number>();
  const failures: string[] = [];
  for (let i = 0; i < input.roundTrips; i++) {
    const length = i < 16 ? i : randomInt(5000);
    const [key, iv, plaintext] = [randomBytes(24), randomBytes(8), randomBytes(length)];
    const ciphertext = tdesCbcEncrypt(key, iv, plaintext);
    const oneShot = toHex(tdesCbcDecrypt(key, iv, ciphertext));
    const streamed = toHex(streamInRandomPieces(createTdesCbcDecryptor(key, iv), ciphertext));
    if (oneShot !== toHex(plaintext) || streamed !== toHex(plaintext))
      failures.push(`length ${length}`);
    lengthsMod8.add(length % 8);
  }

  return {
    runtime: 'document' in globalThis ? 'page' : 'worker',
    secureContext: globalThis.isSecureContext && globalThis.crypto?.subtle !== undefined,
    des,
    cbc,
    roundTrips: { done: input.roundTrips, lengthsMod8: [...lengthsMod8].sort(), failures },
  };
}
