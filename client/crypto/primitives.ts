/**
 * Thin WebCrypto wrappers of the client crypto core: randomness, SHA-512, HKDF and HMAC. The byte
 * helpers (encodings, SHA-256, base64) live in protocol/bytes.ts, shared with the server.
 * Runtime-neutral: only `globalThis.crypto` (Node 20, browsers, Web Workers).
 */
import type { Bytes } from '../../protocol/bytes';

const subtle = (): SubtleCrypto => globalThis.crypto.subtle;

/** getRandomValues refuses more than 65536 bytes per call. */
export function randomBytes(length: number): Bytes {
  const out = new Uint8Array(length);
  for (let offset = 0; offset < length; offset += 65536) {
    globalThis.crypto.getRandomValues(out.subarray(offset, Math.min(length, offset + 65536)));
  }
  return out;
}

export async function sha512(data: Uint8Array): Promise<Bytes> {
  return new Uint8Array(await subtle().digest('SHA-512', data as Bytes));
}

/** HKDF-SHA256 (RFC 5869), extract and expand. */
export async function hkdf(
  ikm: Uint8Array,
  salt: Uint8Array,
  info: Uint8Array,
  length: number,
): Promise<Bytes> {
  const key = await subtle().importKey('raw', ikm as Bytes, 'HKDF', false, ['deriveBits']);
  const bits = await subtle().deriveBits(
    { name: 'HKDF', hash: 'SHA-256', salt: salt as Bytes, info: info as Bytes },
    key,
    length * 8,
  );
  return new Uint8Array(bits);
}

export async function hmacKey(raw: Uint8Array): Promise<CryptoKey> {
  return subtle().importKey('raw', raw as Bytes, { name: 'HMAC', hash: 'SHA-256' }, false, [
    'sign',
    'verify',
  ]);
}

export async function hmacSign(key: CryptoKey, data: Uint8Array): Promise<Bytes> {
  return new Uint8Array(await subtle().sign('HMAC', key, data as Bytes));
}

/** Constant-time MAC check: WebCrypto's verify, never a byte loop that exits early. */
export async function hmacVerify(
  key: CryptoKey,
  mac: Uint8Array,
  data: Uint8Array,
): Promise<boolean> {
  return subtle().verify('HMAC', key, mac as Bytes, data as Bytes);
}
