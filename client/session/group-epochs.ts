/**
 * Group epochs on this device (DESIGN.md section 4, Groups): accepting the epochs the group's log
 * brings (each with my key-share), making epochs (create, join, leave rotation, admin removal,
 * rekey) and storing them with `sharekey`, and making sure the view is current before a send:
 *
 * - Several devices share one identity, and group keys are not backed up: a device without a
 *   group's key opens the key-shares of its account with the shared identity (from the log, then
 *   `sharekey fetch`), and only when both fail makes a rekey epoch, one group at a time, when the
 *   group is first used. History before that stays on the devices that had it.
 * - An epoch made by another device of my account (its statement signed by my own identity key)
 *   is adopted without the statement before it; any other epoch is accepted only on top of the
 *   one before it (acceptEpoch), so an empty view fills from my own join epoch onwards.
 * - After a leave or removal the next sender whose view differs from the server's roster rotates
 *   first (changesToCarry).
 */
import { bytesEqual, fromBase64, toBase64 } from '../../protocol/bytes';
import { CryptoError } from '../../protocol/crypto-error';
import {
  artefactFromBase64,
  artefactSignatureValid,
  artefactSigner,
  isAddition,
  type AdditionArtefact,
  type AdminAddition,
  type GroupArtefact,
  type RemovalArtefact,
} from '../../protocol/group-artefacts';
import type { ServerRoster } from '../../protocol/group-roster';
import {
  identityFingerprint,
  keyCommitment,
  statementFromBase64,
  statementHash,
  statementSignedBytes,
  statementToBase64,
  type GroupStatement,
} from '../../protocol/group-statement';
import type { KeyShareRecordWire, MembersReply, SharekeyFetchReply } from '../../protocol/groups';
import { ed25519Verify } from '../../protocol/signatures';
import { openDirect } from '../crypto/envelope';
import {
  createChangeEpoch,
  createGroup,
  createJoinEpoch,
  createRekeyEpoch,
  currentEpoch,
  epochFrom,
  pruneGroupView,
  type GroupView,
  type MemberBundles,
  type NewEpoch,
} from '../crypto/group';
import { acceptEpoch, type EpochChange } from '../crypto/group-accept';
import { changesToCarry, makeJoinRequest } from '../crypto/group-membership';
import type { PinnedIdentity, VerifiedBundle } from '../crypto/keys';
import type { Contacts } from './contacts';
import type { DeviceState } from './device-state';
import { CipherlineError, ServerError } from './errors';
import type { EventStream } from './events';
import type { KeySync } from './key-sync';
import type { Clock } from './ports';
import type { CallServer } from './rpc';

export interface EpochDeps {
  readonly state: DeviceState;
  readonly call: CallServer<'members' | 'sharekey' | 'join'>;
  readonly clock: Clock;
  readonly events: EventStream;
  readonly keys: KeySync;
  readonly contacts: Contacts;
}

/** The server's view of a group, from `members` (every page). */
export interface Roster {
  readonly groupId: string;
  readonly epoch: number;
  readonly statement?: GroupStatement;
  readonly members: ReadonlyMap<string, MembersReply['members'][number]['bundle']>;
  readonly server: ServerRoster;
}

/** Most bytes of key-shares per `sharekey store` frame (the statement travels with each frame). */
const SHARE_FRAME_BUDGET = 28 * 1024;

export class GroupEpochs {
  constructor(private readonly deps: EpochDeps) {}

  get #me() {
    return this.deps.keys.keys;
  }

  async view(groupId: string): Promise<GroupView> {
    return (await this.deps.state.group(groupId)) ?? { groupId, epochs: [] };
  }

  /** The server's roster of a group (members page by page; pending additions carry their
   * artefact, pending removals come in `removals`: docs/protocol.md section 4). */
  async roster(groupId: string): Promise<Roster> {
    let after: string | undefined;
    const members = new Map<string, MembersReply['members'][number]['bundle']>();
    const pending = new Map<string, string>();
    const departed = new Map<string, string>();
    let first: MembersReply | undefined;
    do {
      const reply: MembersReply = await this.deps.call('members', {
        groupId,
        ...(after && { after }),
      });
      first ??= reply;
      for (const member of reply.members) {
        members.set(member.userId, member.bundle);
        if (member.artefact) pending.set(member.userId, member.artefact);
      }
      for (const removal of reply.removals ?? []) departed.set(removal.userId, removal.artefact);
      after = reply.next;
    } while (after);
    return rosterFrom(first, members, pending, departed);
  }

  /** A key-share event (or a fetched key-share record) for me. Resolves with what changed
   * (undefined for an epoch this device cannot place yet: it needs the one before). */
  async acceptKeyShare(
    groupId: string,
    record: Pick<KeyShareRecordWire, 'epoch' | 'from' | 'envelope' | 'statement'>,
  ): Promise<{ change: EpochChange | undefined; statement: GroupStatement } | undefined> {
    const statement = statementFromBase64(record.statement);
    if (statement.groupId !== groupId || statement.epoch !== record.epoch)
      throw new CipherlineError('PROTOCOL', 'a key-share whose statement is for another epoch');
    const view = await this.view(groupId);
    const keyShare = fromBase64(record.envelope);
    if (view.epochs.length === 0 && statement.epoch > 1) {
      // My first epoch: one my account made (a join), or one that adds me by an admin's signed
      // addition; any other needs the epoch before it.
      if (statement.maker !== this.#me.userId && !adminAdditionOf(statement, this.#me.userId))
        return undefined;
      await this.#save(await this.#adoptFirstEpoch(statement, keyShare, record.from));
      return { change: undefined, statement };
    }
    const bundles = await this.#bundlesFor([
      statement.maker,
      ...statement.additions.map(artefactSigner),
      ...statement.removals.map(artefactSigner),
    ]);
    const accepted = await acceptEpoch({
      view,
      statement,
      bundles,
      pinned: await this.#pinLookup(),
      keyShare,
      authenticatedSenderId: record.from,
      me: this.#me,
      seen: this.deps.state.seen,
      now: this.deps.clock.now(),
    });
    if (accepted.change.kind !== 'unchanged') await this.#save(accepted.view);
    return { change: accepted.change, statement };
  }

  /** My key-shares of a group the server still holds (a device that missed them in the log). */
  async fetchKeyShares(groupId: string): Promise<void> {
    const view = await this.view(groupId);
    let after = view.epochs.length > 0 ? currentEpoch(view).epoch : undefined;
    for (;;) {
      const reply = await this.deps.call<'sharekey', SharekeyFetchReply>('sharekey', {
        op: 'fetch',
        groupId,
        ...(after !== undefined && { after }),
      });
      for (const record of reply.keyShares) {
        try {
          await this.acceptKeyShare(groupId, record);
        } catch {
          // Sealed to a retired prekey, or not acceptable here: the rekey fallback covers it.
        }
      }
      if (reply.next === undefined || reply.next === after) return;
      after = reply.next;
    }
  }

  /** Epoch 1 of a group I just created. */
  async createFirstEpoch(groupId: string): Promise<GroupView> {
    const made = await createGroup({ groupId, me: this.#me, now: this.deps.clock.now() });
    await this.#store(made);
    return made.view;
  }

  /** Joining: a new epoch on the server's latest statement, adding me (and carrying pending joiners). */
  async makeJoinEpoch(
    roster: Roster,
    request: AdditionArtefact & { kind: 'join' },
  ): Promise<GroupView> {
    if (!roster.statement)
      throw new CipherlineError(
        'CONFLICT',
        `Group ${roster.groupId} has no first epoch yet: try again in a moment.`,
      );
    const latest = roster.statement;
    const others = [...roster.server.members]
      .filter(([userId, member]) => member.pending && userId !== this.#me.userId)
      .map(([, member]) => member.pending!)
      .filter((artefact) => artefact.kind === 'join') as (AdditionArtefact & { kind: 'join' })[];
    const made = await createJoinEpoch({
      me: this.#me,
      latest,
      request,
      otherJoiners: others,
      memberBundles: await this.#bundlesFor([...roster.members.keys()], roster),
      now: this.deps.clock.now(),
    });
    await this.#store(made);
    return made.view;
  }

  /** A change epoch carrying removals (a leave, an admin removal) and the roster's pending additions. */
  async makeChangeEpoch(
    view: GroupView,
    roster: Roster,
    removals: readonly RemovalArtefact[] = [],
    change: { readonly closed?: boolean } = {},
  ): Promise<GroupView> {
    const carry = changesToCarry(view, roster.server);
    const all = [
      ...carry.removals,
      ...removals.filter((r) => !carry.removals.some((c) => bytesEqual(c.signature, r.signature))),
    ];
    const made = await createChangeEpoch({
      view,
      me: this.#me,
      additions: carry.additions,
      removals: all,
      ...(change.closed !== undefined && { closed: change.closed }),
      memberBundles: await this.#bundlesFor(
        [
          ...roster.members.keys(),
          ...all.map(artefactSigner),
          ...carry.additions.map(artefactSigner),
        ],
        roster,
      ),
      now: this.deps.clock.now(),
    });
    await this.#store(made);
    return made.view;
  }

  /**
   * The view to send with: current on the server, with the roster's changes carried (rotate
   * first after a leave), and a key this device holds (fetched, else a rekey).
   */
  async current(groupId: string, options: { checkRoster: boolean }): Promise<GroupView> {
    let view = await this.view(groupId);
    if (view.epochs.length > 0 && !options.checkRoster) return view;
    const roster = await this.roster(groupId);
    if (!roster.members.has(this.#me.userId))
      throw new ServerError('FORBIDDEN', `You are not a member of ${groupId}: JOIN it first.`);
    if (roster.epoch === 0) {
      if (roster.members.size === 1) return this.createFirstEpoch(groupId);
      throw new CipherlineError(
        'CONFLICT',
        `Group ${groupId} has no first epoch yet: try again in a moment.`,
      );
    }
    if (view.epochs.length === 0 || currentEpoch(view).epoch < roster.epoch) {
      await this.fetchKeyShares(groupId);
      view = await this.view(groupId);
    }
    if (view.epochs.length === 0 || currentEpoch(view).epoch < roster.epoch) {
      // No key-share of the current epoch opens here (e.g. sealed to a prekey retired before this
      // device was restored): make a new key for everyone, on the server's latest statement.
      view = await this.#rekey(roster);
    }
    const carry = changesToCarry(view, roster.server);
    if (carry.additions.length > 0 || carry.removals.length > 0)
      view = await this.makeChangeEpoch(view, roster);
    return view;
  }

  async #rekey(roster: Roster): Promise<GroupView> {
    if (!roster.statement)
      throw new CipherlineError('CONFLICT', 'The group has no epoch to rekey.');
    const hash = await statementHash(roster.statement);
    // The statement is the server's latest; its key is unknown here (never used: only the
    // statement is built on), and that epoch is dropped from the view afterwards.
    const placeholder = epochFrom(roster.statement, hash, new Uint8Array(32));
    const made = await createRekeyEpoch({
      view: { groupId: roster.groupId, epochs: [placeholder] },
      me: this.#me,
      memberBundles: await this.#bundlesFor([...roster.members.keys()], roster),
      now: this.deps.clock.now(),
    });
    const view = { groupId: roster.groupId, epochs: [made.epoch] };
    await this.#store({ ...made, view });
    return view;
  }

  /** Sends the statement and key-shares (several frames for a big group), then keeps the view. */
  async #store(made: NewEpoch): Promise<void> {
    const statement = statementToBase64(made.statement);
    const shares = made.keyShares.map((share) => ({
      to: share.recipientId,
      messageId: share.messageId,
      envelope: toBase64(share.envelope),
    }));
    let frame: typeof shares = [];
    let bytes = 0;
    const flush = async () => {
      await this.deps.call(
        'sharekey',
        {
          op: 'store',
          groupId: made.statement.groupId,
          epoch: made.statement.epoch,
          statement,
          keyShares: frame,
        },
        { retry: true },
      );
      frame = [];
      bytes = 0;
    };
    for (const share of shares) {
      const size = share.envelope.length + share.to.length + share.messageId.length + 64;
      if (frame.length > 0 && bytes + size + statement.length > SHARE_FRAME_BUDGET) await flush();
      frame.push(share);
      bytes += size;
    }
    if (frame.length > 0) await flush();
    await this.#save(made.view);
  }

  async #save(view: GroupView): Promise<void> {
    await this.deps.state.setGroup(pruneGroupView(view, this.deps.clock.now()));
  }

  /**
   * My first epoch of a group: one my own account made (another device of mine joined), signed by
   * my identity key; or one that adds me, carrying an admin's signed addition of me, signed by its
   * maker, naming my own identity keys. Both makers' keys are trusted on first use (pinned), as a
   * joiner trusts the statement it joins on.
   */
  async #adoptFirstEpoch(
    statement: GroupStatement,
    keyShare: Uint8Array,
    from: string,
  ): Promise<GroupView> {
    const me = this.#me;
    const maker = await this.deps.contacts.bundle(statement.maker);
    if (
      !(await ed25519Verify(
        maker.identitySign,
        statement.signature,
        statementSignedBytes(statement),
      ))
    )
      throw new CryptoError('BAD_SIGNATURE', `epoch ${statement.epoch} is not signed by its maker`);
    const addition = adminAdditionOf(statement, me.userId);
    if (statement.maker !== me.userId) {
      const admin = addition && (await this.deps.contacts.bundle(addition.admin));
      if (!addition || !admin || !(await artefactSignatureValid(addition, admin.identitySign)))
        throw new CryptoError('BAD_ARTEFACT_SIGNATURE', `epoch ${statement.epoch} does not add me`);
    }
    const mine = statement.members.find((member) => member.userId === me.userId);
    if (!mine) throw new CryptoError('NOT_A_MEMBER', `I am not in epoch ${statement.epoch}`);
    const myFingerprint = await identityFingerprint({
      identityDh: me.identityDh.publicKey,
      identitySign: me.identitySign.publicKey,
    });
    if (!bytesEqual(mine.fingerprint, myFingerprint))
      throw new CryptoError(
        'FINGERPRINT_MISMATCH',
        `epoch ${statement.epoch} names other keys for me`,
      );
    const opened = await openDirect({
      envelope: keyShare,
      me,
      sender: await this.deps.contacts.bundle(from),
      authenticatedSenderId: from,
      expectedType: 'key-share',
      seen: this.deps.state.seen,
      now: this.deps.clock.now(),
    });
    if (opened.body.type !== 'key-share') throw new CryptoError('WRONG_TYPE', 'not a key-share');
    const share = opened.body.keyShare;
    const hash = await statementHash(statement);
    const commitment = await keyCommitment(statement.groupId, statement.epoch, share.groupKey);
    if (
      share.groupId !== statement.groupId ||
      share.epoch !== statement.epoch ||
      !bytesEqual(share.statementHash, hash) ||
      !bytesEqual(commitment, statement.keyCommitment)
    )
      throw new CryptoError(
        'KEY_COMMITMENT_MISMATCH',
        'the key-share does not belong to this epoch',
      );
    return {
      groupId: statement.groupId,
      epochs: [epochFrom(statement, hash, share.groupKey as Uint8Array<ArrayBuffer>)],
    };
  }

  /** My pins (and my own keys) as acceptEpoch asks for them. */
  async #pinLookup(): Promise<(userId: string) => PinnedIdentity | undefined> {
    const pins = await this.deps.state.pins();
    const me = this.#me;
    const mine = { identityDh: me.identityDh.publicKey, identitySign: me.identitySign.publicKey };
    return (userId) => (userId === me.userId ? mine : pins.get(userId));
  }

  /** Verified bundles (against the pins) of these users; from the roster when it carries them. */
  async #bundlesFor(userIds: readonly string[], roster?: Roster): Promise<MemberBundles> {
    const bundles = new Map<string, VerifiedBundle>();
    for (const userId of new Set(userIds)) {
      if (userId === this.#me.userId) continue;
      const served = roster?.members.get(userId);
      bundles.set(userId, await this.deps.contacts.bundle(userId, served ? { served } : {}));
    }
    return bundles;
  }

  /** A join request for `groupId`, knowing the roster's latest statement if any. */
  async joinRequest(groupId: string, latest?: GroupStatement) {
    return makeJoinRequest({
      groupId,
      me: this.#me,
      ...(latest && { knownHash: await statementHash(latest) }),
      now: this.deps.clock.now(),
    });
  }
}

/** What a v2 roster adds to `members` (docs/protocol.md section 4); absent from older servers. */
function rosterFrom(
  reply: MembersReply | undefined,
  members: Map<string, MembersReply['members'][number]['bundle']>,
  pending: ReadonlyMap<string, string>,
  departedArtefacts: ReadonlyMap<string, string>,
): Roster {
  if (!reply) throw new CipherlineError('PROTOCOL', 'no members reply');
  const server: ServerRoster = {
    members: new Map(
      [...members.keys()].map((userId) => {
        const artefact = pending.get(userId);
        return [userId, artefact ? { pending: decodeAddition(artefact) } : {}];
      }),
    ),
    departed: new Map(
      [...departedArtefacts].map(([userId, artefact]) => [userId, decodeRemoval(artefact)]),
    ),
  };
  return {
    groupId: reply.groupId,
    epoch: reply.epoch,
    ...(reply.statement && { statement: statementFromBase64(reply.statement) }),
    members,
    server,
  };
}

function decodeAddition(text: string): AdditionArtefact {
  const artefact: GroupArtefact = artefactFromBase64(text);
  if (!isAddition(artefact))
    throw new CipherlineError('PROTOCOL', 'a pending addition that is not one');
  return artefact;
}

function decodeRemoval(text: string): RemovalArtefact {
  const artefact: GroupArtefact = artefactFromBase64(text);
  if (isAddition(artefact))
    throw new CipherlineError('PROTOCOL', 'a departure that is an addition');
  return artefact;
}

/** The admin's signed addition of `userId` a statement carries, if any. */
function adminAdditionOf(statement: GroupStatement, userId: string): AdminAddition | undefined {
  return statement.additions.find(
    (artefact): artefact is AdminAddition =>
      artefact.kind === 'admin-add' && artefact.target === userId,
  );
}
