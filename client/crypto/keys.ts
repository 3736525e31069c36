/**
 * Long-term keys, made on the device (DESIGN.md section 4, Identity): an X25519 identity pair for
 * Diffie-Hellman, an Ed25519 pair for signatures, and signed X25519 prekeys, rotated weekly.
 *
 * Public keys travel as raw 32-byte values. Private keys are WebCrypto CryptoKeys, created
 * extractable because the backup (backup.ts) must be able to export them; `exportLocalKeys` gives
 * the serialised form (JSON with PKCS#8 private keys, as UTF-8 bytes) that the backup seals.
 *
 * A signed prekey's signature is Ed25519 over
 *   lengthPrefixed("cipherline/v1/signed-prekey", u32 id, u64 createdAt, public key)
 * so neither the key nor its id or age can be swapped by the server that serves the bundle.
 */
import { CryptoError } from '../../protocol/crypto-error';
import { CLOCK_SLACK_MS } from '../../protocol/limits';
import { checkPublicKeyLength, ed25519Sign, ed25519Verify } from '../../protocol/signatures';
import {
  type Bytes,
  bytesEqual,
  fromBase64,
  fromUtf8,
  lengthPrefixed,
  toBase64,
  u32,
  u64,
  utf8,
} from '../../protocol/bytes';

const subtle = (): SubtleCrypto => globalThis.crypto.subtle;
const DAY_MS = 24 * 60 * 60 * 1000;

/** How long the server keeps an undelivered message (DESIGN.md section 5; protocol/limits.ts). */
export const INBOX_RETENTION_MS = RETENTION_MS;
/** A signed prekey is replaced once it is this old. */
export const SIGNED_PREKEY_ROTATION_MS = 7 * DAY_MS;
/** Senders must refetch a contact's bundle once their copy is this old (so a superseded prekey
 * is used for at most this long after its successor was published). */
export const BUNDLE_MAX_CACHE_AGE_MS = 7 * DAY_MS;
/** A superseded prekey is kept this long after its successor was made, then deleted: a message
 * sent to it (at most BUNDLE_MAX_CACHE_AGE_MS after supersession) can still wait in the inbox for
 * INBOX_RETENTION_MS and must still open. */
export const SIGNED_PREKEY_GRACE_MS = INBOX_RETENTION_MS + BUNDLE_MAX_CACHE_AGE_MS;
/** Senders refuse a signed prekey older than this: its owner rotates weekly, so an older one is
 * either a copy a server kept (and may be able to open) or its owner has been offline longer
 * than the inbox keeps messages for (issue 9 point 3). */
export const SIGNED_PREKEY_MAX_AGE_MS = SIGNED_PREKEY_ROTATION_MS + INBOX_RETENTION_MS;

const MAX_PREKEY_ID = 0xffffffff;
const SIGNED_PREKEY_TAG = utf8('cipherline/v1/signed-prekey');
const LOCAL_KEYS_FORMAT = 'cipherline-local-keys';
const LOCAL_KEYS_VERSION = 1;

export interface KeyPair {
  /** Raw public key, 32 bytes. */
  readonly publicKey: Bytes;
  readonly privateKey: CryptoKey;
}

export interface LocalSignedPrekey {
  /** Unsigned 32-bit id, named in every envelope sent to this prekey. */
  readonly id: number;
  /** Epoch milliseconds. */
  readonly createdAt: number;
  /** When its successor was made; absent for the current prekey. */
  readonly supersededAt?: number;
  readonly keyPair: KeyPair;
  readonly signature: Bytes;
}

/** This device's keys. `signedPrekeys` is ordered oldest first; the last one is current. */
export interface LocalKeys {
  readonly userId: string;
  readonly identityDh: KeyPair;
  readonly identitySign: KeyPair;
  readonly signedPrekeys: readonly LocalSignedPrekey[];
}

/** What a user publishes (the `keys` route); all keys raw. */
export interface PublicBundle {
  readonly userId: string;
  readonly identityDh: Uint8Array;
  readonly identitySign: Uint8Array;
  readonly signedPrekey: {
    readonly id: number;
    readonly publicKey: Uint8Array;
    readonly signature: Uint8Array;
    readonly createdAt: number;
  };
}

declare const verifiedBrand: unique symbol;
/** A bundle whose prekey signature was checked (and identity compared with the pinned one). Only
 * `verifyBundle` makes one, so sealing to an unchecked bundle does not type-check. */
export type VerifiedBundle = PublicBundle & { readonly [verifiedBrand]: true };

/** A contact's identity keys as first seen (trust on first use) or as confirmed by safety number.
 * The same shape as backup.ts's PinnedContactKeys. */
export interface PinnedIdentity {
  readonly identityDh: Uint8Array;
  readonly identitySign: Uint8Array;
}

/** The bundle as JSON-safe values (base64), for the wire and for storage. */
export interface PublicBundleWire {
  userId: string;
  identityDh: string;
  identitySign: string;
  signedPrekey: { id: number; publicKey: string; signature: string; createdAt: number };
}

// Ed25519 lives in protocol/signatures.ts (the server verifies statements with it); re-exported
// here because it is part of what the key module offers its callers.
export {
  SIGNATURE_BYTES,
  ed25519Sign,
  ed25519Verify,
  importEd25519Public,
} from '../../protocol/signatures';
import { RETENTION_MS } from '../../protocol/limits';

// ---------------------------------------------------------------- raw key operations

export async function generateX25519KeyPair(): Promise<KeyPair> {
  const pair = (await subtle().generateKey({ name: 'X25519' }, true, [
    'deriveBits',
  ])) as CryptoKeyPair;
  return {
    publicKey: new Uint8Array(await subtle().exportKey('raw', pair.publicKey)),
    privateKey: pair.privateKey,
  };
}

export async function generateEd25519KeyPair(): Promise<KeyPair> {
  const pair = (await subtle().generateKey({ name: 'Ed25519' }, true, [
    'sign',
    'verify',
  ])) as CryptoKeyPair;
  return {
    publicKey: new Uint8Array(await subtle().exportKey('raw', pair.publicKey)),
    privateKey: pair.privateKey,
  };
}

export async function importX25519Public(raw: Uint8Array): Promise<CryptoKey> {
  checkPublicKeyLength(raw, 'an X25519 public key');
  try {
    return await subtle().importKey('raw', raw as Bytes, { name: 'X25519' }, true, []);
  } catch {
    throw new CryptoError('BAD_KEY', 'not a valid X25519 public key');
  }
}

/** X25519(private, peer public) → 32-byte shared secret. A low-order peer key (all-zero result)
 * is refused by WebCrypto; it answers BAD_KEY. */
export async function x25519(privateKey: CryptoKey, peerPublic: Uint8Array): Promise<Bytes> {
  const peer = await importX25519Public(peerPublic);
  try {
    return new Uint8Array(
      await subtle().deriveBits({ name: 'X25519', public: peer }, privateKey, 256),
    );
  } catch {
    throw new CryptoError('BAD_KEY', 'X25519 agreement failed (low-order or invalid public key)');
  }
}

// ---------------------------------------------------------------- generation and rotation

function signedPrekeyMessage(id: number, createdAt: number, publicKey: Uint8Array): Bytes {
  return lengthPrefixed(SIGNED_PREKEY_TAG, u32(id), u64(createdAt), publicKey);
}

async function makeSignedPrekey(
  identitySign: KeyPair,
  id: number,
  createdAt: number,
): Promise<LocalSignedPrekey> {
  const keyPair = await generateX25519KeyPair();
  const signature = await ed25519Sign(
    identitySign.privateKey,
    signedPrekeyMessage(id, createdAt, keyPair.publicKey),
  );
  return { id, createdAt, keyPair, signature };
}

/** A new device identity: identity DH pair, signing pair and a first signed prekey (id 1). */
export async function generateLocalKeys(userId: string, now: number): Promise<LocalKeys> {
  const identityDh = await generateX25519KeyPair();
  const identitySign = await generateEd25519KeyPair();
  const first = await makeSignedPrekey(identitySign, 1, now);
  return { userId, identityDh, identitySign, signedPrekeys: [first] };
}

export function currentSignedPrekey(keys: LocalKeys): LocalSignedPrekey {
  const current = keys.signedPrekeys[keys.signedPrekeys.length - 1];
  if (!current) throw new CryptoError('UNKNOWN_PREKEY', 'this device has no signed prekey');
  return current;
}

/** The (current or still-kept) prekey an envelope names; UNKNOWN_PREKEY if never made or deleted. */
export function findSignedPrekey(keys: LocalKeys, id: number): LocalSignedPrekey {
  const found = keys.signedPrekeys.find((prekey) => prekey.id === id);
  if (!found)
    throw new CryptoError(
      'UNKNOWN_PREKEY',
      `no signed prekey with id ${id} (never made, or deleted)`,
    );
  return found;
}

export interface RotationResult {
  readonly keys: LocalKeys;
  /** True when a new prekey was made: publish the new bundle. */
  readonly rotated: boolean;
  /** Prekeys past their grace period, now deleted. */
  readonly deletedIds: readonly number[];
}

/**
 * Call at start-up and then daily. Makes a new signed prekey when the current one is at least
 * SIGNED_PREKEY_ROTATION_MS old or dated after `now` (or at once with `force`: a device of the
 * account was removed, DESIGN.md section 4), and deletes prekeys superseded more than
 * SIGNED_PREKEY_GRACE_MS ago. Ids count up (wrapping after 2^32 - 1, skipping ids still kept).
 */
export async function rotateSignedPrekeyIfDue(
  keys: LocalKeys,
  now: number,
  options: { readonly force?: boolean } = {},
): Promise<RotationResult> {
  const current = currentSignedPrekey(keys);
  let prekeys: LocalSignedPrekey[] = [...keys.signedPrekeys];
  let rotated = false;
  // A creation time in the future (a clock that ran ahead) is due too: otherwise a wrong clock
  // would turn rotation off, and senders refuse such a prekey anyway.
  const due = now - current.createdAt >= SIGNED_PREKEY_ROTATION_MS || current.createdAt > now;
  if (due || options.force) {
    const nextId = (id: number): number => (id >= MAX_PREKEY_ID ? 1 : id + 1);
    let id = nextId(current.id);
    while (prekeys.some((prekey) => prekey.id === id)) id = nextId(id);
    const next = await makeSignedPrekey(keys.identitySign, id, now);
    prekeys = [...prekeys.slice(0, -1), { ...current, supersededAt: now }, next];
    rotated = true;
  }
  const expired = (prekey: LocalSignedPrekey): boolean =>
    prekey.supersededAt !== undefined && now - prekey.supersededAt > SIGNED_PREKEY_GRACE_MS;
  const deletedIds = prekeys.filter(expired).map((prekey) => prekey.id);
  prekeys = prekeys.filter((prekey) => !expired(prekey));
  return { keys: { ...keys, signedPrekeys: prekeys }, rotated, deletedIds };
}

/**
 * What a sender checks before sealing to a prekey, at its own clock `now`: PREKEY_TOO_OLD past
 * SIGNED_PREKEY_MAX_AGE_MS, FROM_THE_FUTURE (retryable: one of the two clocks is off) when created
 * more than CLOCK_SLACK_MS ahead. The creation time is signed, so the server cannot fake it.
 */
export function checkSignedPrekeyAge(
  bundle: Pick<PublicBundle, 'userId' | 'signedPrekey'>,
  now: number,
): void {
  const { createdAt, id } = bundle.signedPrekey;
  if (now - createdAt > SIGNED_PREKEY_MAX_AGE_MS) {
    throw new CryptoError(
      'PREKEY_TOO_OLD',
      `the signed prekey ${id} of ${bundle.userId} is ${Math.floor((now - createdAt) / DAY_MS)} days old: fetch the bundle again, or wait until ${bundle.userId} comes back online`,
    );
  }
  if (createdAt > now + CLOCK_SLACK_MS) {
    throw new CryptoError(
      'FROM_THE_FUTURE',
      `the signed prekey ${id} of ${bundle.userId} is dated ${Math.round((createdAt - now) / 60_000)} minutes ahead of this clock`,
    );
  }
}

// ---------------------------------------------------------------- bundles

export function publicBundle(keys: LocalKeys): PublicBundle {
  const prekey = currentSignedPrekey(keys);
  return {
    userId: keys.userId,
    identityDh: keys.identityDh.publicKey,
    identitySign: keys.identitySign.publicKey,
    signedPrekey: {
      id: prekey.id,
      publicKey: prekey.keyPair.publicKey,
      signature: prekey.signature,
      createdAt: prekey.createdAt,
    },
  };
}

/** My own bundle, verified: what I seal key-shares to myself with. */
export async function ownVerifiedBundle(keys: LocalKeys): Promise<VerifiedBundle> {
  return verifyBundle(publicBundle(keys));
}

export function pinnedIdentityOf(bundle: PublicBundle): PinnedIdentity {
  return { identityDh: bundle.identityDh.slice(), identitySign: bundle.identitySign.slice() };
}

/**
 * Checks a fetched bundle before anything is sealed to it: key sizes, the prekey signature
 * (BAD_SIGNATURE) and, when the contact is pinned, both identity keys (IDENTITY_CHANGED: the
 * caller warns the user and never replaces the pinned keys silently).
 */
export async function verifyBundle(
  bundle: PublicBundle,
  pinned?: PinnedIdentity,
): Promise<VerifiedBundle> {
  const { signedPrekey } = bundle;
  checkPublicKeyLength(bundle.identityDh, 'an identity DH key');
  checkPublicKeyLength(bundle.identitySign, 'an identity signing key');
  checkPublicKeyLength(signedPrekey.publicKey, 'a signed prekey');
  if (
    !Number.isInteger(signedPrekey.id) ||
    signedPrekey.id < 0 ||
    signedPrekey.id > MAX_PREKEY_ID
  ) {
    throw new CryptoError('MALFORMED', 'a signed prekey id is an unsigned 32-bit integer');
  }
  if (!Number.isSafeInteger(signedPrekey.createdAt) || signedPrekey.createdAt < 0) {
    throw new CryptoError('MALFORMED', 'a signed prekey creation time is a non-negative integer');
  }
  const message = signedPrekeyMessage(
    signedPrekey.id,
    signedPrekey.createdAt,
    signedPrekey.publicKey,
  );
  if (!(await ed25519Verify(bundle.identitySign, signedPrekey.signature, message))) {
    throw new CryptoError(
      'BAD_SIGNATURE',
      `the signed prekey of ${bundle.userId} is not signed by its identity key`,
    );
  }
  if (
    pinned &&
    !(
      bytesEqual(pinned.identityDh, bundle.identityDh) &&
      bytesEqual(pinned.identitySign, bundle.identitySign)
    )
  ) {
    throw new CryptoError(
      'IDENTITY_CHANGED',
      `the identity key of ${bundle.userId} differs from the pinned one`,
    );
  }
  return bundle as VerifiedBundle;
}

export function bundleToWire(bundle: PublicBundle): PublicBundleWire {
  const { signedPrekey } = bundle;
  return {
    userId: bundle.userId,
    identityDh: toBase64(bundle.identityDh),
    identitySign: toBase64(bundle.identitySign),
    signedPrekey: {
      id: signedPrekey.id,
      publicKey: toBase64(signedPrekey.publicKey),
      signature: toBase64(signedPrekey.signature),
      createdAt: signedPrekey.createdAt,
    },
  };
}

/** Decodes only; the result still has to go through verifyBundle. */
export function bundleFromWire(wire: PublicBundleWire): PublicBundle {
  const { signedPrekey } = wire;
  return {
    userId: wire.userId,
    identityDh: fromBase64(wire.identityDh),
    identitySign: fromBase64(wire.identitySign),
    signedPrekey: {
      id: signedPrekey.id,
      publicKey: fromBase64(signedPrekey.publicKey),
      signature: fromBase64(signedPrekey.signature),
      createdAt: signedPrekey.createdAt,
    },
  };
}

// ---------------------------------------------------------------- serialised private keys (for the backup)

interface SerialisedPair {
  publicKey: string;
  privateKey: string;
}

interface SerialisedLocalKeys {
  format: typeof LOCAL_KEYS_FORMAT;
  version: typeof LOCAL_KEYS_VERSION;
  userId: string;
  identityDh: SerialisedPair;
  identitySign: SerialisedPair;
  signedPrekeys: (SerialisedPair & {
    id: number;
    createdAt: number;
    supersededAt?: number;
    signature: string;
  })[];
}

async function serialisePair(pair: KeyPair): Promise<SerialisedPair> {
  const pkcs8 = new Uint8Array(await subtle().exportKey('pkcs8', pair.privateKey));
  return { publicKey: toBase64(pair.publicKey), privateKey: toBase64(pkcs8) };
}

/** Private and public keys as bytes (UTF-8 JSON, private keys PKCS#8): what backup.ts seals.
 * These bytes are as secret as the keys themselves. */
export async function exportLocalKeys(keys: LocalKeys): Promise<Bytes> {
  const serialised: SerialisedLocalKeys = {
    format: LOCAL_KEYS_FORMAT,
    version: LOCAL_KEYS_VERSION,
    userId: keys.userId,
    identityDh: await serialisePair(keys.identityDh),
    identitySign: await serialisePair(keys.identitySign),
    signedPrekeys: await Promise.all(
      keys.signedPrekeys.map(async (prekey) => ({
        id: prekey.id,
        createdAt: prekey.createdAt,
        ...(prekey.supersededAt === undefined ? {} : { supersededAt: prekey.supersededAt }),
        signature: toBase64(prekey.signature),
        ...(await serialisePair(prekey.keyPair)),
      })),
    ),
  };
  return utf8(JSON.stringify(serialised));
}

const malformed = (why: string): CryptoError =>
  new CryptoError('MALFORMED', `serialised keys: ${why}`);

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function stringField(record: Record<string, unknown>, name: string): string {
  const value = record[name];
  if (typeof value !== 'string') throw malformed(`${name} must be a string`);
  return value;
}

function integerField(record: Record<string, unknown>, name: string): number {
  const value = record[name];
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0)
    throw malformed(`${name} must be an integer`);
  return value;
}

/** Imports a PKCS#8 private key and checks it belongs to the stored public key (via its JWK `x`). */
async function deserialisePair(value: unknown, algorithm: 'X25519' | 'Ed25519'): Promise<KeyPair> {
  if (!isRecord(value)) throw malformed('a key pair must be an object');
  const publicKey = fromBase64(stringField(value, 'publicKey'));
  checkPublicKeyLength(publicKey, `an ${algorithm} public key`);
  const usages: KeyUsage[] = algorithm === 'X25519' ? ['deriveBits'] : ['sign'];
  let privateKey: CryptoKey;
  try {
    privateKey = await subtle().importKey(
      'pkcs8',
      fromBase64(stringField(value, 'privateKey')),
      { name: algorithm },
      true,
      usages,
    );
  } catch {
    throw new CryptoError('BAD_KEY', `not a valid PKCS#8 ${algorithm} private key`);
  }
  const jwk = await subtle().exportKey('jwk', privateKey);
  const derivedPublic = fromBase64(base64UrlToBase64(jwk.x ?? ''));
  if (!bytesEqual(derivedPublic, publicKey))
    throw new CryptoError('BAD_KEY', `${algorithm} private key does not match its public key`);
  return { publicKey, privateKey };
}

function base64UrlToBase64(text: string): string {
  const standard = text.replace(/-/g, '+').replace(/_/g, '/');
  return standard + '='.repeat((4 - (standard.length % 4)) % 4);
}

/** The inverse of exportLocalKeys; MALFORMED or BAD_KEY for anything else. */
export async function importLocalKeys(bytes: Uint8Array): Promise<LocalKeys> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(fromUtf8(bytes));
  } catch {
    throw malformed('not UTF-8 JSON');
  }
  if (!isRecord(parsed) || parsed.format !== LOCAL_KEYS_FORMAT)
    throw malformed('not a Cipherline key file');
  if (parsed.version !== LOCAL_KEYS_VERSION)
    throw new CryptoError('UNSUPPORTED_VERSION', 'unknown key file version');
  const rawPrekeys = parsed.signedPrekeys;
  if (!Array.isArray(rawPrekeys) || rawPrekeys.length === 0)
    throw malformed('signedPrekeys must be a non-empty list');
  const signedPrekeys: LocalSignedPrekey[] = [];
  for (const raw of rawPrekeys as unknown[]) {
    if (!isRecord(raw)) throw malformed('a signed prekey must be an object');
    const supersededAt =
      raw.supersededAt === undefined ? undefined : integerField(raw, 'supersededAt');
    signedPrekeys.push({
      id: integerField(raw, 'id'),
      createdAt: integerField(raw, 'createdAt'),
      ...(supersededAt === undefined ? {} : { supersededAt }),
      signature: fromBase64(stringField(raw, 'signature')),
      keyPair: await deserialisePair(raw, 'X25519'),
    });
  }
  return {
    userId: stringField(parsed, 'userId'),
    identityDh: await deserialisePair(parsed.identityDh, 'X25519'),
    identitySign: await deserialisePair(parsed.identitySign, 'Ed25519'),
    signedPrekeys,
  };
}
