/**
 * Epoch statements: the signed, public record of who is in a group epoch (DESIGN.md section 4,
 * Groups). The server stores them beside the key-shares; it can withhold them, not forge them.
 *
 *   members      = the member ids, sorted (JS string order, UTF-16 code units), no duplicates
 *   membersHash  = SHA-256(lengthPrefixed("cipherline/v1/group-members", group id, ...members))
 *   signed bytes = lengthPrefixed("cipherline/v1/epoch-statement", group id, u32 epoch, kind,
 *                                 actor, membersHash, previous statement hash, u64 createdAt)
 *   signature    = Ed25519 by the actor over the signed bytes
 *   hash         = SHA-256(signed bytes): the epoch's identity; key-shares name it
 *
 * kind 'create' (epoch 1, members = [actor]), 'join' (the actor is the joiner), 'rotate' (the
 * actor is a remaining member, the list lost at least one member). The previous statement's hash
 * chains epochs, so an epoch built on another branch is detected as a fork.
 *
 * Wire form: u8 format (1) ‖ lengthPrefixed(group id, u32 epoch, kind, actor, previous hash,
 * u64 createdAt, signature, ...members).
 */
import { CryptoError } from '../../protocol/crypto-error';
import { type VerifiedBundle, ed25519Sign, ed25519Verify } from './keys';
import {
  ByteReader,
  checkId,
  type Bytes,
  concatBytes,
  lengthPrefixed,
  sha256,
  u32,
  u64,
  utf8,
} from '../../protocol/bytes';

export type EpochKind = 'create' | 'join' | 'rotate';
/** The member cap of DESIGN.md section 5. */
export const MAX_GROUP_MEMBERS = 256;
export const NO_PREVIOUS_EPOCH: Bytes = new Uint8Array(32);
const STATEMENT_FORMAT = 1;
const MEMBERS_TAG = utf8('cipherline/v1/group-members');
const STATEMENT_TAG = utf8('cipherline/v1/epoch-statement');
const EPOCH_KINDS: readonly EpochKind[] = ['create', 'join', 'rotate'];

export interface EpochStatement {
  readonly groupId: string;
  readonly epoch: number;
  readonly kind: EpochKind;
  /** Who made (and signed) this epoch. */
  readonly actor: string;
  /** Sorted, no duplicates. */
  readonly members: readonly string[];
  /** Hash of the statement of epoch - 1; 32 zero bytes for epoch 1. */
  readonly previousHash: Uint8Array;
  readonly createdAt: number;
  readonly signature: Uint8Array;
}

export type UnsignedStatement = Omit<EpochStatement, 'signature'>;

export function sortMembers(members: Iterable<string>): string[] {
  return [...new Set(members)].sort();
}

export function sameMembers(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((member, i) => member === b[i]);
}

function checkMembers(members: readonly string[]): void {
  if (members.length === 0 || members.length > MAX_GROUP_MEMBERS) {
    throw new CryptoError('MALFORMED', `a group has 1 to ${MAX_GROUP_MEMBERS} members`);
  }
  for (let i = 1; i < members.length; i++) {
    if (!(members[i - 1]! < members[i]!))
      throw new CryptoError('MALFORMED', 'members must be sorted and distinct');
  }
}

export async function membersHash(groupId: string, members: readonly string[]): Promise<Bytes> {
  return sha256(lengthPrefixed(MEMBERS_TAG, utf8(groupId), ...members.map(utf8)));
}

async function signedBytes(statement: UnsignedStatement): Promise<Bytes> {
  checkMembers(statement.members);
  if (statement.previousHash.length !== 32)
    throw new CryptoError('MALFORMED', 'a previous hash has 32 bytes');
  return lengthPrefixed(
    STATEMENT_TAG,
    checkId(statement.groupId, 'group id'),
    u32(statement.epoch),
    utf8(statement.kind),
    checkId(statement.actor, 'actor'),
    await membersHash(statement.groupId, statement.members),
    statement.previousHash,
    u64(statement.createdAt),
  );
}

export async function signStatement(
  statement: UnsignedStatement,
  signingKey: CryptoKey,
): Promise<EpochStatement> {
  return { ...statement, signature: await ed25519Sign(signingKey, await signedBytes(statement)) };
}

export async function statementHash(statement: UnsignedStatement): Promise<Bytes> {
  return sha256(await signedBytes(statement));
}

/** Checks the statement is signed by its actor (whose verified bundle the caller fetched), and
 * that the actor is in its member list. */
export async function verifyStatement(
  statement: EpochStatement,
  actor: VerifiedBundle,
): Promise<void> {
  if (actor.userId !== statement.actor) {
    throw new CryptoError(
      'WRONG_SENDER',
      `statement by ${statement.actor}, checked with ${actor.userId}'s keys`,
    );
  }
  if (!statement.members.includes(statement.actor)) {
    throw new CryptoError('NOT_A_MEMBER', `${statement.actor} is not in the epoch it signed`);
  }
  if (
    !(await ed25519Verify(actor.identitySign, statement.signature, await signedBytes(statement)))
  ) {
    throw new CryptoError(
      'BAD_SIGNATURE',
      `epoch ${statement.epoch} is not signed by ${statement.actor}`,
    );
  }
}

export function encodeStatement(statement: EpochStatement): Bytes {
  return concatBytes(
    new Uint8Array([STATEMENT_FORMAT]),
    lengthPrefixed(
      utf8(statement.groupId),
      u32(statement.epoch),
      utf8(statement.kind),
      utf8(statement.actor),
      statement.previousHash,
      u64(statement.createdAt),
      statement.signature,
      ...statement.members.map(utf8),
    ),
  );
}

export function decodeStatement(bytes: Uint8Array): EpochStatement {
  const reader = new ByteReader(bytes);
  if (reader.u8() !== STATEMENT_FORMAT)
    throw new CryptoError('UNSUPPORTED_VERSION', 'unknown statement format');
  const groupId = reader.idField('group id');
  const epoch = reader.u32Field('epoch');
  const kind = reader.stringField('kind') as EpochKind;
  if (!EPOCH_KINDS.includes(kind)) throw new CryptoError('MALFORMED', 'unknown epoch kind');
  const actor = reader.idField('actor');
  const previousHash = reader.fixedField(32, 'previous hash').slice();
  const createdAt = reader.u64Field('created at');
  const signature = reader.fixedField(64, 'signature').slice();
  const members: string[] = [];
  while (reader.remaining > 0) members.push(reader.idField('member'));
  checkMembers(members);
  return { groupId, epoch, kind, actor, members, previousHash, createdAt, signature };
}
