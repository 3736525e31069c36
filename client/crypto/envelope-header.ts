/**
 * The binary envelope, version 1 (DESIGN.md section 4, Envelope). All integers big-endian.
 *
 *   envelope = header ‖ IV (8) ‖ ciphertext (3DES-EDE3-CBC, PKCS#7) ‖ HMAC-SHA256 (32) ‖ Ed25519 (64)
 *   header   = version u8 ‖ type u8 ‖ lengthPrefixed(fields...)
 *   1:1 fields   : sender id, recipient id, message id, timestamp u64 (ms), EK (32), SPK id u32,
 *                  ciphertext length u32
 *   group fields : sender id, group id, epoch u32, message id, timestamp u64 (ms),
 *                  ciphertext length u32
 *
 * The MAC covers exactly header ‖ IV ‖ ciphertext; the signature covers
 * lengthPrefixed(domain tag, header ‖ IV ‖ ciphertext). The ciphertext length in the header makes
 * a cut-off envelope TRUNCATED and extra bytes MALFORMED before any cryptography runs. Ids are
 * UTF-8, 1 to 256 bytes. Message envelopes carry no chunk index: files travel as chunks in their
 * own format (file-format.ts) and the envelope carries the file key.
 */
import { CryptoError } from '../../protocol/crypto-error';
import { SIGNATURE_BYTES } from '../../protocol/signatures';
import {
  ByteReader,
  type Bytes,
  checkId,
  concatBytes,
  lengthPrefixed,
  u32,
  u64,
} from '../../protocol/bytes';

export const ENVELOPE_VERSION = 1;
export const IV_BYTES = 8;
export const MAC_BYTES = 32;
export { SIGNATURE_BYTES };
export const EPHEMERAL_KEY_BYTES = 32;

export type DirectMessageType = 'text' | 'key-share' | 'file' | 'receipt' | 'backup-note';
export type GroupMessageType = 'group-text' | 'group-file';
export type MessageType = DirectMessageType | GroupMessageType;

export const DIRECT_MESSAGE_TYPES: readonly DirectMessageType[] = [
  'text',
  'key-share',
  'file',
  'receipt',
  'backup-note',
];
export const GROUP_MESSAGE_TYPES: readonly GroupMessageType[] = ['group-text', 'group-file'];

/** The type byte. Group types have bit 4 set. Never reuse a code. */
const TYPE_CODES: Readonly<Record<MessageType, number>> = {
  text: 0x01,
  'key-share': 0x02,
  file: 0x03,
  receipt: 0x04,
  'backup-note': 0x05,
  'group-text': 0x11,
  'group-file': 0x12,
};

export function isGroupType(type: MessageType): type is GroupMessageType {
  return (GROUP_MESSAGE_TYPES as readonly string[]).includes(type);
}

function typeFromCode(code: number): MessageType {
  for (const [type, value] of Object.entries(TYPE_CODES))
    if (value === code) return type as MessageType;
  throw new CryptoError('MALFORMED', `unknown message type code ${code}`);
}

export interface DirectHeader {
  readonly type: DirectMessageType;
  readonly senderId: string;
  readonly recipientId: string;
  readonly messageId: string;
  /** Sender's clock, epoch milliseconds. */
  readonly timestamp: number;
  readonly ephemeralPublic: Uint8Array;
  readonly signedPrekeyId: number;
  readonly ciphertextLength: number;
}

export interface GroupHeader {
  readonly type: GroupMessageType;
  readonly senderId: string;
  readonly groupId: string;
  readonly epoch: number;
  readonly messageId: string;
  readonly timestamp: number;
  readonly ciphertextLength: number;
}

export type EnvelopeHeader = DirectHeader | GroupHeader;

/** A header before sealing: the ciphertext length is filled in by the sealer. */
export type UnsealedHeader =
  Omit<DirectHeader, 'ciphertextLength'> | Omit<GroupHeader, 'ciphertextLength'>;

export function withCiphertextLength(
  header: UnsealedHeader,
  ciphertextLength: number,
): EnvelopeHeader {
  return { ...header, ciphertextLength } as EnvelopeHeader;
}

export function encodeHeader(header: EnvelopeHeader): Bytes {
  const prefix = new Uint8Array([ENVELOPE_VERSION, TYPE_CODES[header.type]]);
  if (isGroupHeader(header)) {
    return concatBytes(
      prefix,
      lengthPrefixed(
        checkId(header.senderId, 'sender id'),
        checkId(header.groupId, 'group id'),
        u32(header.epoch),
        checkId(header.messageId, 'message id'),
        u64(header.timestamp),
        u32(header.ciphertextLength),
      ),
    );
  }
  if (header.ephemeralPublic.length !== EPHEMERAL_KEY_BYTES)
    throw new CryptoError('BAD_KEY', 'EK must be 32 bytes');
  return concatBytes(
    prefix,
    lengthPrefixed(
      checkId(header.senderId, 'sender id'),
      checkId(header.recipientId, 'recipient id'),
      checkId(header.messageId, 'message id'),
      u64(header.timestamp),
      header.ephemeralPublic,
      u32(header.signedPrekeyId),
      u32(header.ciphertextLength),
    ),
  );
}

export function isGroupHeader(header: EnvelopeHeader): header is GroupHeader {
  return isGroupType(header.type);
}

export interface ParsedEnvelope {
  readonly header: EnvelopeHeader;
  /** header ‖ IV ‖ ciphertext: what the MAC and the signature cover. */
  readonly authenticated: Uint8Array;
  readonly iv: Uint8Array;
  readonly ciphertext: Uint8Array;
  readonly mac: Uint8Array;
  readonly signature: Uint8Array;
}

/** Splits an envelope without trusting it: version first (UNSUPPORTED_VERSION), then structure
 * (TRUNCATED when bytes are missing, MALFORMED when they do not fit the format). */
export function parseEnvelope(envelope: Uint8Array): ParsedEnvelope {
  const reader = new ByteReader(envelope, 'TRUNCATED');
  const version = reader.u8();
  if (version !== ENVELOPE_VERSION)
    throw new CryptoError('UNSUPPORTED_VERSION', `envelope version ${version}`);
  const type = typeFromCode(reader.u8());
  let header: EnvelopeHeader;
  if (isGroupType(type)) {
    header = {
      type,
      senderId: reader.idField('sender id'),
      groupId: reader.idField('group id'),
      epoch: reader.u32Field('epoch'),
      messageId: reader.idField('message id'),
      timestamp: reader.u64Field('timestamp'),
      ciphertextLength: reader.u32Field('ciphertext length'),
    };
  } else {
    header = {
      type,
      senderId: reader.idField('sender id'),
      recipientId: reader.idField('recipient id'),
      messageId: reader.idField('message id'),
      timestamp: reader.u64Field('timestamp'),
      ephemeralPublic: reader.fixedField(EPHEMERAL_KEY_BYTES, 'EK'),
      signedPrekeyId: reader.u32Field('signed prekey id'),
      ciphertextLength: reader.u32Field('ciphertext length'),
    };
  }
  const { ciphertextLength } = header;
  if (ciphertextLength === 0 || ciphertextLength % 8 !== 0) {
    throw new CryptoError('MALFORMED', 'the ciphertext length must be a non-zero multiple of 8');
  }
  const headerLength = reader.offset;
  const expected = headerLength + IV_BYTES + ciphertextLength + MAC_BYTES + SIGNATURE_BYTES;
  if (envelope.length < expected)
    throw new CryptoError('TRUNCATED', `envelope has ${envelope.length} of ${expected} bytes`);
  if (envelope.length > expected) throw new CryptoError('MALFORMED', 'bytes after the signature');
  const iv = reader.take(IV_BYTES);
  const ciphertext = reader.take(ciphertextLength);
  const authenticated = envelope.subarray(0, reader.offset);
  const mac = reader.take(MAC_BYTES);
  const signature = reader.take(SIGNATURE_BYTES);
  return { header, authenticated, iv, ciphertext, mac, signature };
}
