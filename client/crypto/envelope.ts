/**
 * Sealing and opening envelopes (DESIGN.md section 4, Envelope; format in envelope-header.ts).
 *
 * Seal: 3DES-EDE3-CBC (PKCS#7, random 8-byte IV) under this message's own key, then HMAC-SHA256
 * over exactly header ‖ IV ‖ ciphertext (encrypt-then-MAC), then an Ed25519 signature by the sender
 * over lengthPrefixed(domain tag, header ‖ IV ‖ ciphertext).
 *
 * Open (1:1), in this order, each step a typed rejection:
 *   1. structure: UNSUPPORTED_VERSION, TRUNCATED, MALFORMED
 *   2. header against what the caller knows: WRONG_TYPE (also a group message here),
 *      WRONG_SENDER (header sender or bundle ≠ server-authenticated sender), WRONG_RECIPIENT
 *   3. the sender's Ed25519 signature: BAD_SIGNATURE
 *   4. the named prekey: UNKNOWN_PREKEY; then the per-message keys and the MAC: BAD_MAC
 *   5. the authenticated timestamp: TOO_OLD (older than the inbox retention), TOO_NEW (more than
 *      MAX_CLOCK_SKEW_MS ahead of my clock)
 *   6. the seen store: REPLAY; otherwise the id is recorded (only now: after signature and MAC)
 *   7. decryption, then decoding the body (MALFORMED)
 * So no byte is decrypted before both the signature and the MAC have passed.
 */
import { type MessageKeys, recipientAgreement, senderAgreement } from './agreement';
import {
  type DirectHeader,
  type DirectMessageType,
  type EnvelopeHeader,
  type MessageType,
  type ParsedEnvelope,
  type UnsealedHeader,
  IV_BYTES,
  MAC_BYTES,
  SIGNATURE_BYTES,
  encodeHeader,
  isGroupHeader,
  isGroupType,
  parseEnvelope,
  withCiphertextLength,
} from './envelope-header';
import { type DirectBody, decodeBody, encodeBody } from './envelope-payloads';
import { CryptoError } from '../../protocol/crypto-error';
import {
  INBOX_RETENTION_MS,
  type LocalKeys,
  type VerifiedBundle,
  ed25519Sign,
  ed25519Verify,
} from './keys';
import { hmacKey, hmacSign, hmacVerify, randomBytes } from './primitives';
import { type SeenStore, seenKey } from './seen-store';
import { tdesCbcDecrypt, tdesCbcEncrypt } from './tdes';
import { type Bytes, concatBytes, lengthPrefixed, utf8 } from '../../protocol/bytes';

/**
 * The largest envelope a client sends inline (DESIGN.md section 3): its base64 form is then at
 * most 24 KiB (24 576 characters), which leaves about 8 KB of the 32 KB frame for the JSON around
 * it. Anything bigger goes through S3 as a file.
 */
export const MAX_INLINE_ENVELOPE_BYTES = 18 * 1024;
/** How far a sender's clock may run ahead of mine before its messages are refused (TOO_NEW). */
export const MAX_CLOCK_SKEW_MS = 24 * 60 * 60 * 1000;

const SIGNATURE_TAGS = {
  direct: utf8('cipherline/v1/envelope-signature/direct'),
  group: utf8('cipherline/v1/envelope-signature/group'),
} as const;

/** Bytes an envelope adds to a plaintext of `plaintextLength` bytes: header, IV, PKCS#7 padding
 * (1 to 8), MAC and signature. */
export function envelopeOverhead(header: UnsealedHeader, plaintextLength: number): number {
  return envelopeLength(header, plaintextLength) - plaintextLength;
}

/** The exact size of the sealed envelope. */
export function envelopeLength(header: UnsealedHeader, plaintextLength: number): number {
  const ciphertextLength = paddedLength(plaintextLength);
  const headerLength = encodeHeader(withCiphertextLength(header, ciphertextLength)).length;
  return headerLength + IV_BYTES + ciphertextLength + MAC_BYTES + SIGNATURE_BYTES;
}

/** The longest plaintext that still fits MAX_INLINE_ENVELOPE_BYTES with this header. */
export function maxInlinePlaintextLength(header: UnsealedHeader): number {
  const fixed = envelopeLength(header, 0) - 8; // a 0-byte plaintext still pads to one block
  const room = MAX_INLINE_ENVELOPE_BYTES - fixed; // bytes available for the ciphertext
  return Math.floor(room / 8) * 8 - 1; // PKCS#7 always adds at least one byte
}

const paddedLength = (plaintextLength: number): number => (Math.floor(plaintextLength / 8) + 1) * 8;

// ---------------------------------------------------------------- shared core (1:1 and group)

/** Encrypts, MACs and signs. The inline size limit guarantees far fewer than 2^20 blocks per key. */
export async function sealWithKeys(
  header: UnsealedHeader,
  keys: MessageKeys,
  signingKey: CryptoKey,
  plaintext: Uint8Array,
): Promise<Bytes> {
  const ciphertextLength = paddedLength(plaintext.length);
  const headerBytes = encodeHeader(withCiphertextLength(header, ciphertextLength));
  const total = headerBytes.length + IV_BYTES + ciphertextLength + MAC_BYTES + SIGNATURE_BYTES;
  if (total > MAX_INLINE_ENVELOPE_BYTES) {
    throw new CryptoError(
      'TOO_LARGE',
      `envelope would be ${total} bytes (inline limit ${MAX_INLINE_ENVELOPE_BYTES})`,
    );
  }
  const iv = randomBytes(IV_BYTES);
  const ciphertext = tdesCbcEncrypt(keys.encryptionKey, iv, plaintext);
  const authenticated = concatBytes(headerBytes, iv, ciphertext);
  const mac = await hmacSign(await hmacKey(keys.macKey), authenticated);
  const signature = await ed25519Sign(signingKey, signedMessage(header, authenticated));
  return concatBytes(authenticated, mac, signature);
}

function signedMessage(header: Pick<EnvelopeHeader, 'type'>, authenticated: Uint8Array): Bytes {
  const tag = isGroupType(header.type) ? SIGNATURE_TAGS.group : SIGNATURE_TAGS.direct;
  return lengthPrefixed(tag, authenticated);
}

export async function checkSignature(
  parsed: ParsedEnvelope,
  senderSignPublic: Uint8Array,
): Promise<void> {
  if (
    !(await ed25519Verify(
      senderSignPublic,
      parsed.signature,
      signedMessage(parsed.header, parsed.authenticated),
    ))
  ) {
    throw new CryptoError('BAD_SIGNATURE', 'the envelope is not signed by its sender');
  }
}

export async function checkMac(parsed: ParsedEnvelope, keys: MessageKeys): Promise<void> {
  if (!(await hmacVerify(await hmacKey(keys.macKey), parsed.mac, parsed.authenticated))) {
    throw new CryptoError('BAD_MAC', 'the envelope MAC does not verify');
  }
}

export function checkTimestamp(timestamp: number, now: number): void {
  if (timestamp < now - INBOX_RETENTION_MS)
    throw new CryptoError('TOO_OLD', 'older than the inbox retention');
  if (timestamp > now + MAX_CLOCK_SKEW_MS)
    throw new CryptoError('TOO_NEW', 'timestamp too far in the future');
}

/** Ids being recorded right now, per store: makes has-then-add atomic within this JS realm, so two
 * concurrent opens of the same envelope cannot both pass. */
const inFlight = new WeakMap<SeenStore, Set<string>>();

/** REPLAY if seen; otherwise records the id. Call only after signature and MAC passed. */
export async function recordOnce(
  seen: SeenStore,
  senderId: string,
  messageId: string,
  timestamp: number,
): Promise<void> {
  const key = seenKey(senderId, messageId);
  let pending = inFlight.get(seen);
  if (!pending) inFlight.set(seen, (pending = new Set()));
  if (pending.has(key))
    throw new CryptoError('REPLAY', `message ${messageId} is being opened already`);
  pending.add(key);
  try {
    if (await seen.has(key))
      throw new CryptoError('REPLAY', `message ${messageId} was seen before`);
    await seen.add(key, timestamp);
  } finally {
    pending.delete(key);
  }
}

export function decrypt(parsed: ParsedEnvelope, keys: MessageKeys): Bytes {
  return tdesCbcDecrypt(keys.encryptionKey, parsed.iv, parsed.ciphertext);
}

export function expectType<T extends MessageType>(
  actual: MessageType,
  expected: T | readonly T[],
): T {
  const allowed: readonly MessageType[] = typeof expected === 'string' ? [expected] : expected;
  if (!allowed.includes(actual)) {
    throw new CryptoError(
      'WRONG_TYPE',
      `a ${actual} envelope where ${allowed.join(' or ')} was expected`,
    );
  }
  return actual as T;
}

// ---------------------------------------------------------------- 1:1

export interface SealDirectInput {
  readonly sender: LocalKeys;
  readonly recipient: VerifiedBundle;
  /** Unique per sender (a UUID); also the inbox's idempotency key. */
  readonly messageId: string;
  /** Epoch milliseconds, the sender's clock (also what the recipient's prekey age is judged by). */
  readonly timestamp: number;
  /** Its type is the envelope's type. */
  readonly body: DirectBody;
}

/** A new ephemeral key, so a new message key, for every call. */
export async function sealDirect(input: SealDirectInput): Promise<Bytes> {
  const { sender, recipient, messageId, timestamp, body } = input;
  const agreement = await senderAgreement(sender, recipient, body.type, messageId, timestamp);
  const header: Omit<DirectHeader, 'ciphertextLength'> = {
    type: body.type,
    senderId: sender.userId,
    recipientId: recipient.userId,
    messageId,
    timestamp,
    ephemeralPublic: agreement.ephemeralPublic,
    signedPrekeyId: agreement.signedPrekeyId,
  };
  return sealWithKeys(header, agreement.keys, sender.identitySign.privateKey, encodeBody(body));
}

export interface OpenDirectInput {
  readonly envelope: Uint8Array;
  readonly me: LocalKeys;
  /** The sender's bundle, verified against the pinned keys. */
  readonly sender: VerifiedBundle;
  /** The sender the server authenticated (its push names it). */
  readonly authenticatedSenderId: string;
  /** What the caller is prepared to receive here. */
  readonly expectedType: DirectMessageType | readonly DirectMessageType[];
  readonly seen: SeenStore;
  readonly now: number;
}

export interface OpenedDirect {
  readonly header: DirectHeader;
  readonly body: DirectBody;
}

export async function openDirect(input: OpenDirectInput): Promise<OpenedDirect> {
  const { me, sender, authenticatedSenderId } = input;
  const parsed = parseEnvelope(input.envelope);
  const header = directHeaderOf(parsed.header, input.expectedType);
  if (header.senderId !== authenticatedSenderId || sender.userId !== authenticatedSenderId) {
    throw new CryptoError(
      'WRONG_SENDER',
      `envelope from ${header.senderId}, delivered as from ${authenticatedSenderId}`,
    );
  }
  if (header.type === 'backup-note' && header.senderId !== me.userId) {
    throw new CryptoError('WRONG_SENDER', `a backup note from ${header.senderId}, not from myself`);
  }
  if (header.recipientId !== me.userId) {
    throw new CryptoError(
      'WRONG_RECIPIENT',
      `envelope for ${header.recipientId}, not for ${me.userId}`,
    );
  }
  await checkSignature(parsed, sender.identitySign);
  const keys = await recipientAgreement(me, {
    type: header.type,
    sender,
    ephemeralPublic: header.ephemeralPublic,
    signedPrekeyId: header.signedPrekeyId,
    messageId: header.messageId,
  });
  await checkMac(parsed, keys);
  checkTimestamp(header.timestamp, input.now);
  await recordOnce(input.seen, header.senderId, header.messageId, header.timestamp);
  return { header, body: decodeBody(header.type, decrypt(parsed, keys)) };
}

function directHeaderOf(
  header: EnvelopeHeader,
  expected: DirectMessageType | readonly DirectMessageType[],
): DirectHeader {
  if (isGroupHeader(header)) {
    throw new CryptoError(
      'WRONG_TYPE',
      `a ${header.type} envelope cannot be opened as a 1:1 message`,
    );
  }
  expectType(header.type, expected);
  return header;
}

/** The header WITHOUT any check of its authenticity: only for routing (whose bundle to fetch,
 * which group view to open with) before openDirect / openGroup do the real checks. */
export function peekEnvelopeHeader(envelope: Uint8Array): EnvelopeHeader {
  return parseEnvelope(envelope).header;
}
