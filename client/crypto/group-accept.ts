/**
 * acceptEpoch: what a member checks before it uses a new epoch (DESIGN.md section 4, Groups and
 * "Lessons from an independent review"), in this order:
 *
 *   1. another group                                             WRONG_GROUP
 *   2. an epoch number I hold: same hash → `unchanged`; else     EPOCH_FORK
 *   3. verifyNextStatement against my current epoch, with the history I hold (every code of
 *      protocol/group-verify.ts; FROM_THE_FUTURE is retryable: keep the key-share, try later)
 *   4. each member I pinned: the fingerprint is of my pinned keys;
 *      my own entry: the fingerprint is of my keys                FINGERPRINT_MISMATCH (names
 *                                                                the member; the UI warns)
 *   5. I am a member                                             NOT_A_MEMBER
 *   6. the key-share: a 1:1 key-share envelope from the maker to me (every 1:1 check), for
 *      exactly this group and epoch (BAD_EPOCH) and statement (EPOCH_FORK), whose key matches
 *      the statement's commitment                                KEY_COMMITMENT_MISMATCH
 *
 * Step 6 is what stops a maker from giving members different keys; step 4 is what catches a
 * server that fed the maker a false bundle for someone.
 */
import { type Bytes, bytesEqual } from '../../protocol/bytes';
import { CryptoError } from '../../protocol/crypto-error';
import {
  type GroupStatement,
  identityFingerprint,
  keyCommitment,
  statementHash,
} from '../../protocol/group-statement';
import { type VerifiedStatement, verifyNextStatement } from '../../protocol/group-verify';
import { openDirect } from './envelope';
import {
  FingerprintMismatchError,
  type GroupEpoch,
  type GroupView,
  type MemberBundles,
  currentEpoch,
  epochFrom,
  findEpoch,
  historyOf,
} from './group';
import type { LocalKeys, PinnedIdentity } from './keys';
import type { SeenStore } from './seen-store';

export interface AcceptEpochInput {
  /** My view; empty when someone else added me (then `previous` is needed). */
  readonly view: GroupView;
  readonly statement: GroupStatement;
  /** With an empty view: the statement before this one, as the server serves it. I cannot
   * check it further (trust on first use, as for a joiner); the members check me. */
  readonly previous?: GroupStatement;
  /** Verified bundles of the maker (its key-share is opened with it) and of the artefacts'
   * signers; a pinned contact's bundle must have been verified against the pin. */
  readonly bundles: MemberBundles;
  /** My pinned identity keys of a user, if I pinned that user. */
  readonly pinned: (userId: string) => PinnedIdentity | undefined;
  /** The key-share envelope addressed to me. */
  readonly keyShare: Uint8Array;
  /** The sender the server authenticated for the key-share. */
  readonly authenticatedSenderId: string;
  readonly me: LocalKeys;
  readonly seen: SeenStore;
  readonly now: number;
}

/** What to show: "X joined", "Y removed Z", "X is an admin now", "the group is closed". */
export type EpochChange =
  | (Omit<VerifiedStatement, 'statement' | 'hash'> & {
      readonly kind: 'change' | 'rekey';
      readonly by: string;
    })
  /** The same epoch again (redelivery): nothing changed. */
  | { readonly kind: 'unchanged' };

export interface AcceptedEpoch {
  readonly view: GroupView;
  readonly epoch: GroupEpoch;
  readonly change: EpochChange;
  /** Members whose keys I have not pinned: their fingerprints could not be checked here. */
  readonly unpinned: readonly string[];
}

export async function acceptEpoch(input: AcceptEpochInput): Promise<AcceptedEpoch> {
  const { view, statement } = input;
  if (statement.groupId !== view.groupId) {
    throw new CryptoError(
      'WRONG_GROUP',
      `a statement of group ${statement.groupId}, not ${view.groupId}`,
    );
  }
  const held = findEpoch(view, statement.epoch);
  if (held) {
    if (bytesEqual(held.statementHash, await statementHash(statement)))
      return { view, epoch: held, change: { kind: 'unchanged' }, unpinned: [] };
    throw new CryptoError(
      'EPOCH_FORK',
      `two different epochs ${statement.epoch} in ${view.groupId}`,
    );
  }
  const previous = view.epochs.length > 0 ? currentEpoch(view).statement : input.previous;
  if (!previous && statement.epoch !== 1) {
    throw new CryptoError(
      'BAD_EPOCH',
      `epoch ${statement.epoch} needs the statement before it (I hold no epoch of ${view.groupId})`,
    );
  }
  const verified = await verifyNextStatement(previous, statement, {
    // A bundle that differs from its pin is caught below, naming the member.
    signingKeyOf: (userId) =>
      input.bundles.get(userId)?.identitySign ?? input.pinned(userId)?.identitySign,
    now: input.now,
    history: historyOf(view),
  });
  const unpinned = await checkFingerprints(statement, previous, input);
  const groupKey = await openKeyShare(input, verified.hash);
  const epoch = epochFrom(statement, verified.hash, groupKey);
  const { statement: _statement, hash: _hash, ...changes } = verified;
  return {
    view: { groupId: view.groupId, epochs: [...view.epochs, epoch] },
    epoch,
    change: {
      kind: statement.kind === 'rekey' ? 'rekey' : 'change',
      by: statement.maker,
      ...changes,
    },
    unpinned,
  };
}

/** Each member's fingerprint against my keys (for me), my pin, or else the fingerprint the
 * previous statement named (identity keys never change silently); the rest are `unpinned`. */
async function checkFingerprints(
  statement: GroupStatement,
  previous: GroupStatement | undefined,
  input: AcceptEpochInput,
): Promise<string[]> {
  const unpinned: string[] = [];
  let inIt = false;
  for (const member of statement.members) {
    const mine = member.userId === input.me.userId;
    inIt ||= mine;
    const keys = mine
      ? { identityDh: input.me.identityDh.publicKey, identitySign: input.me.identitySign.publicKey }
      : input.pinned(member.userId);
    const expected = keys
      ? await identityFingerprint(keys)
      : previous?.members.find((m) => m.userId === member.userId)?.fingerprint;
    if (!keys) unpinned.push(member.userId);
    if (expected && !bytesEqual(member.fingerprint, expected))
      throw new FingerprintMismatchError(member.userId, statement.epoch);
  }
  if (!inIt)
    throw new CryptoError('NOT_A_MEMBER', `${input.me.userId} is not in epoch ${statement.epoch}`);
  return unpinned;
}

async function openKeyShare(input: AcceptEpochInput, hash: Uint8Array): Promise<Bytes> {
  const { statement } = input;
  const maker = input.bundles.get(statement.maker);
  if (!maker)
    throw new CryptoError('BAD_INPUT', `no verified bundle for the maker ${statement.maker}`);
  const opened = await openDirect({
    envelope: input.keyShare,
    me: input.me,
    sender: maker,
    authenticatedSenderId: input.authenticatedSenderId,
    expectedType: 'key-share',
    seen: input.seen,
    now: input.now,
  });
  if (opened.body.type !== 'key-share') throw new CryptoError('WRONG_TYPE', 'not a key-share');
  const share = opened.body.keyShare;
  if (share.groupId !== statement.groupId || share.epoch !== statement.epoch) {
    throw new CryptoError(
      'BAD_EPOCH',
      `the key-share is for ${share.groupId} epoch ${share.epoch}, not epoch ${statement.epoch}`,
    );
  }
  if (!bytesEqual(share.statementHash, hash))
    throw new CryptoError(
      'EPOCH_FORK',
      `the key-share belongs to another epoch ${statement.epoch}`,
    );
  const commitment = await keyCommitment(statement.groupId, statement.epoch, share.groupKey);
  if (!bytesEqual(commitment, statement.keyCommitment)) {
    throw new CryptoError(
      'KEY_COMMITMENT_MISMATCH',
      `${statement.maker} gave me another key than the one epoch ${statement.epoch} commits to`,
    );
  }
  return share.groupKey as Bytes;
}
