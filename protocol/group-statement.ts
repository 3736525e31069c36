/**
 * The group statement, version 2 (DESIGN.md section 4, Groups and "Lessons from an independent
 * review"; docs/protocol.md section 4): the signed, public record of one epoch of a group. The
 * server checks it before it stores it and every member before it uses the epoch, both with
 * group-verify.ts; neither needs anything secret.
 *
 *   signed bytes = lengthPrefixed("cipherline/v2/group-statement", group id, u32 epoch, kind,
 *                    maker, previous hash (32; zeros for epoch 1), u64 createdAt, u8 closed,
 *                    lengthPrefixed(member…), key commitment (32),
 *                    lengthPrefixed(addition artefact…), lengthPrefixed(removal artefact…))
 *   member       = u8 role (1 admin, 0 not) ‖ fingerprint (16) ‖ UTF-8 user id
 *   hash         = SHA-256(signed bytes): the epoch's identity (key-shares and the next
 *                  statement name it)
 *   wire         = u8 format (2) ‖ lengthPrefixed(signed bytes, Ed25519 signature by the maker)
 *
 * Members are sorted (JS string order) and distinct; additions and removals are sorted by the
 * user they concern, each with its artefact (group-artefacts.ts). Admins are a flag on members,
 * so they are always members and cost one byte each: a 256-member statement with 32-byte ids
 * takes 13.6 KB, which leaves room for about 20 artefacts in MAX_STATEMENT_BYTES.
 */
import {
  ByteReader,
  type Bytes,
  bytesEqual,
  checkId,
  concatBytes,
  fromBase64,
  lengthPrefixed,
  sha256,
  toBase64,
  u32,
  u64,
  utf8,
} from './bytes';
import { CryptoError } from './crypto-error';
import {
  type AdditionArtefact,
  type GroupArtefact,
  HASH_BYTES,
  type RemovalArtefact,
  artefactSubject,
  decodeArtefact,
  encodeArtefact,
  isAddition,
} from './group-artefacts';
import { SIGNATURE_BYTES, ed25519Sign } from './signatures';

export type StatementKind = 'create' | 'change' | 'rekey';
/** The member cap of DESIGN.md section 5. */
export const MAX_GROUP_MEMBERS = 256;
export const FINGERPRINT_BYTES = 16;
export const NO_PREVIOUS_STATEMENT: Bytes = new Uint8Array(HASH_BYTES);
/** A statement's wire form is at most this long: 24 KB of base64, the inline budget of DESIGN.md
 * section 3 (the frame that carries it has 8 KB left for everything else). */
export const MAX_STATEMENT_BYTES = 18 * 1024;
export const MAX_STATEMENT_BASE64_CHARS = (MAX_STATEMENT_BYTES / 3) * 4;

const STATEMENT_FORMAT = 2;
const STATEMENT_TAG = utf8('cipherline/v2/group-statement');
const FINGERPRINT_TAG = utf8('cipherline/v2/identity-fingerprint');
const COMMITMENT_TAG = utf8('cipherline/v2/group-key-commitment');
const KINDS: readonly StatementKind[] = ['create', 'change', 'rekey'];
const ROLE_MEMBER = 0;
const ROLE_ADMIN = 1;

export interface StatementMember {
  readonly userId: string;
  /** identityFingerprint() of the member's identity keys as the maker saw them. */
  readonly fingerprint: Uint8Array;
  readonly admin: boolean;
}

export interface GroupStatement {
  readonly groupId: string;
  readonly epoch: number;
  readonly kind: StatementKind;
  /** Who made the epoch and signs the statement. */
  readonly maker: string;
  /** Hash of the statement of epoch - 1; NO_PREVIOUS_STATEMENT for epoch 1. */
  readonly previousHash: Uint8Array;
  /** The maker's clock, epoch milliseconds. */
  readonly createdAt: number;
  /** Closed to joins: only an admin's addition brings someone in. */
  readonly closed: boolean;
  /** Sorted by user id, distinct, 1 to MAX_GROUP_MEMBERS. */
  readonly members: readonly StatementMember[];
  /** keyCommitment() of the epoch's group key: binds every key-share to one key. */
  readonly keyCommitment: Uint8Array;
  /** Who this epoch adds, each with a join request or an admin's addition; sorted by user. */
  readonly additions: readonly AdditionArtefact[];
  /** Who this epoch drops, each with a leave or an admin's removal; sorted by user. */
  readonly removals: readonly RemovalArtefact[];
  readonly signature: Uint8Array;
}

export type UnsignedStatement = Omit<GroupStatement, 'signature'>;

export const memberIds = (statement: UnsignedStatement): string[] =>
  statement.members.map((member) => member.userId);

export const adminIds = (statement: UnsignedStatement): string[] =>
  statement.members.filter((member) => member.admin).map((member) => member.userId);

/** 16 bytes of SHA-256(lengthPrefixed(tag, identityDh, identitySign)): which identity keys the
 * maker sealed a member's key-share to. 128 bits: a second preimage is out of reach. */
export async function identityFingerprint(keys: {
  readonly identityDh: Uint8Array;
  readonly identitySign: Uint8Array;
}): Promise<Bytes> {
  const digest = await sha256(lengthPrefixed(FINGERPRINT_TAG, keys.identityDh, keys.identitySign));
  return digest.slice(0, FINGERPRINT_BYTES);
}

/** SHA-256(lengthPrefixed(tag, group id, u32 epoch, group key)): public, binding, reveals
 * nothing about a 32-byte random key. */
export async function keyCommitment(
  groupId: string,
  epoch: number,
  groupKey: Uint8Array,
): Promise<Bytes> {
  if (groupKey.length !== 32) throw new CryptoError('BAD_KEY', 'a group key has 32 bytes');
  return sha256(lengthPrefixed(COMMITMENT_TAG, checkId(groupId, 'group id'), u32(epoch), groupKey));
}

/** Structure every statement must have, whoever made it (MALFORMED, BAD_ARTEFACT). */
function checkShape(statement: UnsignedStatement): void {
  const { members, additions, removals } = statement;
  if (!Number.isInteger(statement.epoch) || statement.epoch < 1 || statement.epoch > 0xffffffff)
    throw new CryptoError('MALFORMED', 'an epoch is 1 to 2^32 - 1');
  if (members.length === 0 || members.length > MAX_GROUP_MEMBERS)
    throw new CryptoError('MALFORMED', `a group has 1 to ${MAX_GROUP_MEMBERS} members`);
  checkSortedDistinct(
    members.map((member) => member.userId),
    'members',
  );
  for (const member of members) {
    if (member.fingerprint.length !== FINGERPRINT_BYTES)
      throw new CryptoError('MALFORMED', `a fingerprint has ${FINGERPRINT_BYTES} bytes`);
  }
  if (statement.previousHash.length !== HASH_BYTES || statement.keyCommitment.length !== HASH_BYTES)
    throw new CryptoError('MALFORMED', `hashes and commitments have ${HASH_BYTES} bytes`);
  checkSortedDistinct(additions.map(artefactSubject), 'additions');
  checkSortedDistinct(removals.map(artefactSubject), 'removals');
  if (additions.some((artefact) => !isAddition(artefact)))
    throw new CryptoError('BAD_ARTEFACT', 'an addition needs a join request or an admin addition');
  if (removals.some((artefact: GroupArtefact) => isAddition(artefact)))
    throw new CryptoError('BAD_ARTEFACT', 'a removal needs a leave or an admin removal');
  for (const artefact of [...additions, ...removals]) {
    if (artefact.groupId !== statement.groupId) {
      throw new CryptoError(
        'BAD_ARTEFACT',
        `an artefact for group ${artefact.groupId} in a statement of ${statement.groupId}`,
      );
    }
  }
}

function checkSortedDistinct(ids: readonly string[], what: string): void {
  for (let i = 1; i < ids.length; i++) {
    if (!(ids[i - 1]! < ids[i]!))
      throw new CryptoError('MALFORMED', `${what} must be sorted by user and distinct`);
  }
}

/** The canonical bytes the maker signs; their SHA-256 is the statement's hash. */
export function statementSignedBytes(statement: UnsignedStatement): Bytes {
  checkShape(statement);
  if (!KINDS.includes(statement.kind)) throw new CryptoError('MALFORMED', 'unknown kind');
  return lengthPrefixed(
    STATEMENT_TAG,
    checkId(statement.groupId, 'group id'),
    u32(statement.epoch),
    utf8(statement.kind),
    checkId(statement.maker, 'maker'),
    statement.previousHash,
    u64(statement.createdAt),
    new Uint8Array([statement.closed ? 1 : 0]),
    lengthPrefixed(
      ...statement.members.map((member) =>
        concatBytes(
          new Uint8Array([member.admin ? ROLE_ADMIN : ROLE_MEMBER]),
          member.fingerprint,
          checkId(member.userId, 'member'),
        ),
      ),
    ),
    statement.keyCommitment,
    lengthPrefixed(...statement.additions.map(encodeArtefact)),
    lengthPrefixed(...statement.removals.map(encodeArtefact)),
  );
}

export async function statementHash(statement: UnsignedStatement): Promise<Bytes> {
  return sha256(statementSignedBytes(statement));
}

export async function signStatement(
  statement: UnsignedStatement,
  signingKey: CryptoKey,
): Promise<GroupStatement> {
  const signature = await ed25519Sign(signingKey, statementSignedBytes(statement));
  const signed = { ...statement, signature };
  encodeStatement(signed); // TOO_LARGE now, not when the server refuses it
  return signed;
}

export function encodeStatement(statement: GroupStatement): Bytes {
  if (statement.signature.length !== SIGNATURE_BYTES)
    throw new CryptoError('BAD_INPUT', `a signature has ${SIGNATURE_BYTES} bytes`);
  const wire = concatBytes(
    new Uint8Array([STATEMENT_FORMAT]),
    lengthPrefixed(statementSignedBytes(statement), statement.signature),
  );
  if (wire.length > MAX_STATEMENT_BYTES) {
    throw new CryptoError(
      'TOO_LARGE',
      `a statement of ${wire.length} bytes exceeds ${MAX_STATEMENT_BYTES}: carry fewer additions and removals (the rest stay pending for the next epoch)`,
    );
  }
  return wire;
}

/** Reads a statement without trusting it (verifyNextStatement does that): UNSUPPORTED_VERSION,
 * TOO_LARGE, MALFORMED or BAD_ARTEFACT for anything that is not exactly one valid statement. */
export function decodeStatement(bytes: Uint8Array): GroupStatement {
  if (bytes.length > MAX_STATEMENT_BYTES)
    throw new CryptoError('TOO_LARGE', `a statement has at most ${MAX_STATEMENT_BYTES} bytes`);
  const outer = new ByteReader(bytes);
  if (outer.u8() !== STATEMENT_FORMAT)
    throw new CryptoError('UNSUPPORTED_VERSION', 'unknown statement format');
  const signed = outer.field();
  const signature = outer.fixedField(SIGNATURE_BYTES, 'signature').slice();
  outer.end('statement');
  const reader = new ByteReader(signed);
  const tag = reader.field();
  if (!bytesEqual(tag, STATEMENT_TAG)) throw new CryptoError('MALFORMED', 'not a group statement');
  const groupId = reader.idField('group id');
  const epoch = reader.u32Field('epoch');
  const kind = reader.stringField('kind') as StatementKind;
  if (!KINDS.includes(kind)) throw new CryptoError('MALFORMED', `unknown kind ${kind}`);
  const maker = reader.idField('maker');
  const previousHash = reader.fixedField(HASH_BYTES, 'previous hash').slice();
  const createdAt = reader.u64Field('created at');
  const closedByte = reader.u8Field('closed');
  if (closedByte > 1) throw new CryptoError('MALFORMED', 'the closed flag is 0 or 1');
  const members = fieldsOf(reader.field()).map(decodeMember);
  const commitment = reader.fixedField(HASH_BYTES, 'key commitment').slice();
  const additions = fieldsOf(reader.field()).map(decodeArtefact) as AdditionArtefact[];
  const removals = fieldsOf(reader.field()).map(decodeArtefact) as RemovalArtefact[];
  reader.end('statement');
  const statement: GroupStatement = {
    groupId,
    epoch,
    kind,
    maker,
    previousHash,
    createdAt,
    closed: closedByte === 1,
    members,
    keyCommitment: commitment,
    additions,
    removals,
    signature,
  };
  checkShape(statement);
  return statement;
}

function fieldsOf(block: Uint8Array): Uint8Array[] {
  const reader = new ByteReader(block);
  const fields: Uint8Array[] = [];
  while (reader.remaining > 0) fields.push(reader.field());
  return fields;
}

function decodeMember(bytes: Uint8Array): StatementMember {
  const reader = new ByteReader(bytes);
  const role = reader.u8();
  if (role !== ROLE_MEMBER && role !== ROLE_ADMIN)
    throw new CryptoError('MALFORMED', `unknown member role ${role}`);
  const fingerprint = reader.take(FINGERPRINT_BYTES).slice();
  return { userId: reader.restAsId('member'), fingerprint, admin: role === ROLE_ADMIN };
}

export const statementToBase64 = (statement: GroupStatement): string =>
  toBase64(encodeStatement(statement));

export function statementFromBase64(text: string): GroupStatement {
  if (text.length > MAX_STATEMENT_BASE64_CHARS)
    throw new CryptoError(
      'TOO_LARGE',
      `a statement has at most ${MAX_STATEMENT_BASE64_CHARS} base64 characters`,
    );
  return decodeStatement(fromBase64(text));
}
