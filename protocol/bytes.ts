/**
 * Byte helpers shared by the client crypto core and by everything in protocol/ that encodes or
 * checks signed bytes (group statements and their artefacts), so server and clients agree on every
 * byte. Runtime-neutral: only `globalThis.crypto.subtle` (Node 20, browsers, Web Workers).
 *
 * Integers are big-endian. A length-prefixed field is a u32 length and its bytes, so a
 * concatenation of fields is unambiguous (KDF info, signed messages, wire formats).
 */
import { CryptoError, type CryptoErrorCode } from './crypto-error';

/** TypeScript 6's WebCrypto typings want ArrayBuffer-backed views. */
export type Bytes = Uint8Array<ArrayBuffer>;

/** Ids (users, groups, messages, blobs) are 1 to 256 bytes of UTF-8 in every binary format. */
export const MAX_ID_BYTES = 256;

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

export async function sha256(data: Uint8Array): Promise<Bytes> {
  return new Uint8Array(await globalThis.crypto.subtle.digest('SHA-256', data as Bytes));
}

/** Constant-time equality for values of equal, known length (keys, ids, hashes). */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/** Checks an id before it goes into a binary format (BAD_INPUT for the writer's own mistakes). */
export function checkId(id: string, what: string): Bytes {
  const bytes = utf8(id);
  if (bytes.length === 0 || bytes.length > MAX_ID_BYTES) {
    throw new CryptoError('BAD_INPUT', `${what} must be 1 to ${MAX_ID_BYTES} bytes of UTF-8`);
  }
  return bytes;
}

/** Reads length-prefixed fields; running past the end throws `overrun` (TRUNCATED for whole
 * envelopes, MALFORMED inside an authenticated payload). */
export class ByteReader {
  #offset = 0;
  readonly #view: DataView;

  constructor(
    readonly bytes: Uint8Array,
    private readonly overrun: CryptoErrorCode = 'MALFORMED',
  ) {
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get offset(): number {
    return this.#offset;
  }

  get remaining(): number {
    return this.bytes.length - this.#offset;
  }

  take(length: number): Uint8Array {
    if (length > this.remaining)
      throw new CryptoError(this.overrun, 'input ends before the field does');
    const out = this.bytes.subarray(this.#offset, this.#offset + length);
    this.#offset += length;
    return out;
  }

  u8(): number {
    return this.take(1)[0]!;
  }

  /** A bare big-endian u32 (not length-prefixed). */
  u32(): number {
    const bytes = this.take(4);
    return new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0, false);
  }

  /** One length-prefixed field. */
  field(): Uint8Array {
    if (this.remaining < 4)
      throw new CryptoError(this.overrun, 'input ends inside a length prefix');
    const length = this.#view.getUint32(this.#offset, false);
    this.#offset += 4;
    return this.take(length);
  }

  fixedField(length: number, what: string): Uint8Array {
    const field = this.field();
    if (field.length !== length)
      throw new CryptoError('MALFORMED', `${what} must be ${length} bytes`);
    return field;
  }

  u8Field(what: string): number {
    return this.fixedField(1, what)[0]!;
  }

  u32Field(what: string): number {
    const field = this.fixedField(4, what);
    return new DataView(field.buffer, field.byteOffset, 4).getUint32(0, false);
  }

  u64Field(what: string): number {
    const field = this.fixedField(8, what);
    const value = new DataView(field.buffer, field.byteOffset, 8).getBigUint64(0, false);
    if (value > BigInt(Number.MAX_SAFE_INTEGER))
      throw new CryptoError('MALFORMED', `${what} is out of range`);
    return Number(value);
  }

  idField(what: string): string {
    const field = this.field();
    if (field.length === 0 || field.length > MAX_ID_BYTES)
      throw new CryptoError('MALFORMED', `${what} has a bad length`);
    return decodeUtf8(field, what);
  }

  /** Every byte left, as an id (for a field whose last part is an id). */
  restAsId(what: string): string {
    const rest = this.take(this.remaining);
    if (rest.length === 0 || rest.length > MAX_ID_BYTES)
      throw new CryptoError('MALFORMED', `${what} has a bad length`);
    return decodeUtf8(rest, what);
  }

  stringField(what: string): string {
    return decodeUtf8(this.field(), what);
  }

  /** MALFORMED unless every byte was read. */
  end(what: string): void {
    if (this.remaining !== 0) throw new CryptoError('MALFORMED', `bytes after the ${what}`);
  }
}

function decodeUtf8(bytes: Uint8Array, what: string): string {
  try {
    return fromUtf8(bytes);
  } catch {
    throw new CryptoError('MALFORMED', `${what} is not UTF-8`);
  }
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
