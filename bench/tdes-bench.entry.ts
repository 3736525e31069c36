/**
 * Browser side of bench/tdes.ts: times our 3DES-EDE3-CBC over 16 MiB (two messages of
 * 2^20 blocks each, under two keys, as in Node) in a Chromium page or worker.
 */
import { tdesCbcDecrypt, tdesCbcEncrypt } from '../client/crypto/tdes';

export interface TdesBenchInput {
  /** Plaintext bytes per message (each message gets its own key). */
  messageBytes: number;
  messages: number;
  warmups: number;
  repeats: number;
}

export interface TdesBenchOutput {
  plaintextBytes: number;
  encryptMs: number[];
  decryptMs: number[];
  /** Every decryption gave back the plaintext. */
  roundTripOk: boolean;
}

function randomBytes(length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let at = 0; at < length; at += 65536) crypto.getRandomValues(out.subarray(at, at + 65536));
  return out;
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export default function run(input: TdesBenchInput): TdesBenchOutput {
  const messages = Array.from({ length: input.messages }, () => ({
    key: randomBytes(24),
    iv: randomBytes(8),
    plaintext: randomBytes(input.messageBytes),
  }));
  const encryptMs: number[] = [];
  const decryptMs: number[] = [];
  let roundTripOk = true;
  for (let round = 0; round < input.warmups + input.repeats; round++) {
    let start = performance.now();
    const ciphertexts = messages.map((m) => tdesCbcEncrypt(m.key, m.iv, m.plaintext));
    const encrypted = performance.now() - start;
    start = performance.now();
    const decrypted = messages.map((m, i) => tdesCbcDecrypt(m.key, m.iv, ciphertexts[i]!));
    const decryptedIn = performance.now() - start;
    roundTripOk &&= decrypted.every((d, i) => equal(d, messages[i]!.plaintext));
    if (round >= input.warmups) {
      encryptMs.push(encrypted);
      decryptMs.push(decryptedIn);
    }
  }
  return { plaintextBytes: input.messageBytes * input.messages, encryptMs, decryptMs, roundTripOk };
}
