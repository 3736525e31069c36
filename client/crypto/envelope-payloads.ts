/**
 * What an envelope's plaintext holds, per message type (all integers big-endian):
 *
 *   text, group-text   : the UTF-8 text itself
 *   file, group-file   : u8 format (1) ‖ lengthPrefixed(blob id, file key (32), name, MIME type,
 *                        size u64, digest (SHA-256 of the plaintext file, 32))
 *   receipt            : u8 kind (1 delivered, 2 read) ‖ lengthPrefixed(message id, ...) (≥ 1 id)
 *   key-share          : u8 format (1) ‖ lengthPrefixed(group id, epoch u32,
 *                        epoch statement hash (32), group key (32))
 *   backup-note        : u8 format (1) ‖ lengthPrefixed(version u64, backup hash (32),
 *                        previous backup hash (32)); only from an account to itself
 *
 * Payloads are authenticated before they are decoded, so a payload that does not fit its format
 * was sent that way by an authentic sender: MALFORMED.
 */
import { type DirectMessageType, type GroupMessageType, type MessageType } from './envelope-header';
import { CryptoError } from '../../protocol/crypto-error';
import {
  ByteReader,
  checkId,
  type Bytes,
  concatBytes,
  fromUtf8,
  lengthPrefixed,
  u32,
  u64,
  utf8,
} from '../../protocol/bytes';
import { missingCase } from '../../protocol/missing-case';

const FILE_PAYLOAD_FORMAT = 1;
const KEY_SHARE_FORMAT = 1;
const BACKUP_NOTE_FORMAT = 1;
export const FILE_KEY_BYTES = 32;
export const DIGEST_BYTES = 32;
export const GROUP_KEY_BYTES = 32;
export const STATEMENT_HASH_BYTES = 32;

export interface FileDescriptor {
  /** The S3 blob holding the encrypted chunks. */
  readonly blobId: string;
  /** Random per file (file-format.ts derives the chunk keys from it). */
  readonly fileKey: Uint8Array;
  readonly name: string;
  readonly mimeType: string;
  /** Plaintext size in bytes. */
  readonly size: number;
  /** SHA-256 of the plaintext file. */
  readonly digest: Uint8Array;
}

export type ReceiptKind = 'delivered' | 'read';

export interface Receipt {
  readonly kind: ReceiptKind;
  readonly messageIds: readonly string[];
}

/** One member's copy of an epoch's group key, bound to the exact epoch statement. */
export interface KeySharePayload {
  readonly groupId: string;
  readonly epoch: number;
  readonly statementHash: Uint8Array;
  readonly groupKey: Uint8Array;
}

/** A note to my other devices: the backup I just wrote (backup-sync.ts checks the chain). */
export interface BackupNote {
  readonly version: number;
  readonly hash: Uint8Array;
  readonly previousHash: Uint8Array;
}

export type DirectBody =
  | { readonly type: 'text'; readonly text: string }
  | { readonly type: 'file'; readonly file: FileDescriptor }
  | { readonly type: 'receipt'; readonly receipt: Receipt }
  | { readonly type: 'key-share'; readonly keyShare: KeySharePayload }
  | { readonly type: 'backup-note'; readonly note: BackupNote };

export type GroupBody =
  | { readonly type: 'group-text'; readonly text: string }
  | { readonly type: 'group-file'; readonly file: FileDescriptor };

export type MessageBody = DirectBody | GroupBody;

const RECEIPT_CODES: Readonly<Record<ReceiptKind, number>> = { delivered: 1, read: 2 };

function requireLength(bytes: Uint8Array, length: number, what: string): void {
  if (bytes.length !== length)
    throw new CryptoError('BAD_INPUT', `${what} must be ${length} bytes`);
}

function encodeFile(file: FileDescriptor): Bytes {
  requireLength(file.fileKey, FILE_KEY_BYTES, 'a file key');
  requireLength(file.digest, DIGEST_BYTES, 'a file digest');
  return concatBytes(
    new Uint8Array([FILE_PAYLOAD_FORMAT]),
    lengthPrefixed(
      checkId(file.blobId, 'blob id'),
      file.fileKey,
      utf8(file.name),
      utf8(file.mimeType),
      u64(file.size),
      file.digest,
    ),
  );
}

function decodeFile(payload: Uint8Array): FileDescriptor {
  const reader = new ByteReader(payload);
  if (reader.u8() !== FILE_PAYLOAD_FORMAT)
    throw new CryptoError('MALFORMED', 'unknown file payload format');
  const file: FileDescriptor = {
    blobId: reader.idField('blob id'),
    fileKey: reader.fixedField(FILE_KEY_BYTES, 'file key').slice(),
    name: reader.stringField('file name'),
    mimeType: reader.stringField('MIME type'),
    size: reader.u64Field('file size'),
    digest: reader.fixedField(DIGEST_BYTES, 'digest').slice(),
  };
  if (reader.remaining !== 0) throw new CryptoError('MALFORMED', 'bytes after the file payload');
  return file;
}

function encodeReceipt(receipt: Receipt): Bytes {
  if (receipt.messageIds.length === 0)
    throw new CryptoError('BAD_INPUT', 'a receipt names at least one message');
  return concatBytes(
    new Uint8Array([RECEIPT_CODES[receipt.kind]]),
    lengthPrefixed(...receipt.messageIds.map((id) => checkId(id, 'message id'))),
  );
}

function decodeReceipt(payload: Uint8Array): Receipt {
  const reader = new ByteReader(payload);
  const code = reader.u8();
  const kind = (Object.keys(RECEIPT_CODES) as ReceiptKind[]).find((k) => RECEIPT_CODES[k] === code);
  if (!kind) throw new CryptoError('MALFORMED', `unknown receipt kind ${code}`);
  const messageIds: string[] = [];
  while (reader.remaining > 0) messageIds.push(reader.idField('message id'));
  if (messageIds.length === 0)
    throw new CryptoError('MALFORMED', 'a receipt names at least one message');
  return { kind, messageIds };
}

export function encodeKeyShare(share: KeySharePayload): Bytes {
  requireLength(share.statementHash, STATEMENT_HASH_BYTES, 'a statement hash');
  requireLength(share.groupKey, GROUP_KEY_BYTES, 'a group key');
  return concatBytes(
    new Uint8Array([KEY_SHARE_FORMAT]),
    lengthPrefixed(
      checkId(share.groupId, 'group id'),
      u32(share.epoch),
      share.statementHash,
      share.groupKey,
    ),
  );
}

export function decodeKeyShare(payload: Uint8Array): KeySharePayload {
  const reader = new ByteReader(payload);
  if (reader.u8() !== KEY_SHARE_FORMAT)
    throw new CryptoError('MALFORMED', 'unknown key-share format');
  const share: KeySharePayload = {
    groupId: reader.idField('group id'),
    epoch: reader.u32Field('epoch'),
    statementHash: reader.fixedField(STATEMENT_HASH_BYTES, 'statement hash').slice(),
    groupKey: reader.fixedField(GROUP_KEY_BYTES, 'group key').slice(),
  };
  if (reader.remaining !== 0) throw new CryptoError('MALFORMED', 'bytes after the key-share');
  return share;
}

function encodeBackupNote(note: BackupNote): Bytes {
  requireLength(note.hash, STATEMENT_HASH_BYTES, 'a backup hash');
  requireLength(note.previousHash, STATEMENT_HASH_BYTES, 'a previous backup hash');
  return concatBytes(
    new Uint8Array([BACKUP_NOTE_FORMAT]),
    lengthPrefixed(u64(note.version), note.hash, note.previousHash),
  );
}

function decodeBackupNote(payload: Uint8Array): BackupNote {
  const reader = new ByteReader(payload);
  if (reader.u8() !== BACKUP_NOTE_FORMAT)
    throw new CryptoError('MALFORMED', 'unknown backup note format');
  const note: BackupNote = {
    version: reader.u64Field('version'),
    hash: reader.fixedField(32, 'backup hash').slice(),
    previousHash: reader.fixedField(32, 'previous backup hash').slice(),
  };
  reader.end('backup note');
  return note;
}

function decodeText(payload: Uint8Array): string {
  try {
    return fromUtf8(payload);
  } catch {
    throw new CryptoError('MALFORMED', 'text is not UTF-8');
  }
}

/** The plaintext for a body; its type becomes the envelope's type. */
export function encodeBody(body: MessageBody): Bytes {
  switch (body.type) {
    case 'text':
    case 'group-text':
      return utf8(body.text);
    case 'file':
    case 'group-file':
      return encodeFile(body.file);
    case 'receipt':
      return encodeReceipt(body.receipt);
    case 'key-share':
      return encodeKeyShare(body.keyShare);
    case 'backup-note':
      return encodeBackupNote(body.note);
    default: {
      return missingCase(body, new CryptoError('BAD_INPUT', `unknown body ${String(body)}`));
    }
  }
}

export function decodeBody(type: DirectMessageType, payload: Uint8Array): DirectBody;
export function decodeBody(type: GroupMessageType, payload: Uint8Array): GroupBody;
export function decodeBody(type: MessageType, payload: Uint8Array): MessageBody;
export function decodeBody(type: MessageType, payload: Uint8Array): MessageBody {
  switch (type) {
    case 'text':
    case 'group-text':
      return { type, text: decodeText(payload) };
    case 'file':
    case 'group-file':
      return { type, file: decodeFile(payload) };
    case 'receipt':
      return { type, receipt: decodeReceipt(payload) };
    case 'key-share':
      return { type, keyShare: decodeKeyShare(payload) };
    case 'backup-note':
      return { type, note: decodeBackupNote(payload) };
    default: {
      return missingCase(
        type,
        new CryptoError('MALFORMED', `unknown message type ${String(type)}`),
      );
    }
  }
}
