/**
 * Byte helpers and thin WebCrypto wrappers shared by the whole crypto core.
 * Runtime-neutral: only `globalThis.crypto` (Node 20, browsers, Web Workers).
 */
import { CryptoError } from './errors';

/** TypeScript 6's WebCrypto typings want ArrayBuffer-backed views. */
export type Bytes = Uint8Array<ArrayBuffer>;

const subtle = (): SubtleCrypto => globalThis.crypto.subtle;
const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

export const utf8 = (text: string): Bytes => encoder.encode(text) as Bytes;
export const fromUtf8 = (bytes: Uint8Array): string => decoder.decode(bytes);

export function concatBytes(...parts: readonly Uint8Array[]): Bytes {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** Each field as a 4-byte big-endian length and its bytes: unambiguous concatenation for KDF info and signatures. */
export function lengthPrefixed(...fields: readonly Uint8Array[]): Bytes {
  const out = new Uint8Array(fields.reduce((n, f) => n + 4 + f.length, 0));
  const view = new DataView(out.buffer);
  let offset = 0;
  for (const field of fields) {
    view.setUint32(offset, field.length);
    out.set(field, offset + 4);
    offset += 4 + field.length;
  }
  return out;
}

export function u32(value: number): Bytes {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, value);
  return out;
}

export function u64(value: number): Bytes {
  if (!Number.isSafeInteger(value) || value < 0)
    throw new CryptoError('BAD_INPUT', 'u64 needs a safe non-negative integer');
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(value));
  return out;
}

/** getRandomValues refuses more than 65536 bytes per call. */
export function randomBytes(length: number): Bytes {
  const out = new Uint8Array(length);
  for (let offset = 0; offset < length; offset += 65536) {
    globalThis.crypto.getRandomValues(out.subarray(offset, Math.min(length, offset + 65536)));
  }
  return out;
}

export async function sha256(data: Uint8Array): Promise<Bytes> {
  return new Uint8Array(await subtle().digest('SHA-256', data as Bytes));
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

/** Constant-time equality for public values of equal, known length (keys, ids). */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B64_INDEX = new Int16Array(128).fill(-1);
for (let i = 0; i < B64.length; i++) B64_INDEX[B64.charCodeAt(i)] = i;

export function toBase64(bytes: Uint8Array): string {
  let out = '';
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out += B64[n >> 18]! + B64[(n >> 12) & 63]! + B64[(n >> 6) & 63]! + B64[n & 63]!;
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = bytes[i]! << 16;
    out += B64[n >> 18]! + B64[(n >> 12) & 63]! + '==';
  } else if (rest === 2) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8);
    out += B64[n >> 18]! + B64[(n >> 12) & 63]! + B64[(n >> 6) & 63]! + '=';
  }
  return out;
}

export function fromBase64(text: string): Bytes {
  if (text.length % 4 !== 0)
    throw new CryptoError('MALFORMED', 'base64 length must be a multiple of 4');
  const padding = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  const out = new Uint8Array((text.length / 4) * 3 - padding);
  let o = 0;
  for (let i = 0; i < text.length; i += 4) {
    let n = 0;
    for (let j = 0; j < 4; j++) {
      const c = text.charCodeAt(i + j);
      const isPad = c === 61 && i + j >= text.length - padding;
      const v = isPad ? 0 : c < 128 ? B64_INDEX[c]! : -1;
      if (v < 0) throw new CryptoError('MALFORMED', 'invalid base64 character');
      n = (n << 6) | v;
    }
    if (o < out.length) out[o++] = (n >> 16) & 255;
    if (o < out.length) out[o++] = (n >> 8) & 255;
    if (o < out.length) out[o++] = n & 255;
  }
  return out;
}
