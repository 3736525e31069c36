/**
 * Ed25519 with WebCrypto (Node 20, browsers, Web Workers): the signatures on prekeys, envelopes,
 * group statements and their artefacts. In protocol/ because the server checks statements and
 * artefacts with the same code as the clients, using public keys only.
 */
import type { Bytes } from './bytes';
import { CryptoError } from './crypto-error';

export const PUBLIC_KEY_BYTES = 32;
export const SIGNATURE_BYTES = 64;

const subtle = (): SubtleCrypto => globalThis.crypto.subtle;

export function checkPublicKeyLength(raw: Uint8Array, what: string): void {
  if (raw.length !== PUBLIC_KEY_BYTES)
    throw new CryptoError('BAD_KEY', `${what} must be ${PUBLIC_KEY_BYTES} bytes`);
}

export async function importEd25519Public(raw: Uint8Array): Promise<CryptoKey> {
  checkPublicKeyLength(raw, 'an Ed25519 public key');
  try {
    return await subtle().importKey('raw', raw as Bytes, { name: 'Ed25519' }, true, ['verify']);
  } catch {
    throw new CryptoError('BAD_KEY', 'not a valid Ed25519 public key');
  }
}

export async function ed25519Sign(privateKey: CryptoKey, message: Uint8Array): Promise<Bytes> {
  return new Uint8Array(await subtle().sign({ name: 'Ed25519' }, privateKey, message as Bytes));
}

/** False for a wrong signature; BAD_KEY for a public key that is not a key at all. */
export async function ed25519Verify(
  publicKey: Uint8Array,
  signature: Uint8Array,
  message: Uint8Array,
): Promise<boolean> {
  if (signature.length !== SIGNATURE_BYTES) return false;
  const key = await importEd25519Public(publicKey);
  return subtle().verify({ name: 'Ed25519' }, key, signature as Bytes, message as Bytes);
}
