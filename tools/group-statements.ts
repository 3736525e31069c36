/**
 * Building group statements and artefacts by hand, as any client (honest or not) could: the
 * protocol tests use these to make every statement the rules must refuse.
 */
import { generateEd25519KeyPair, type KeyPair } from '../client/crypto/keys';
import { randomBytes } from '../client/crypto/primitives';
import {
  type AdditionArtefact,
  type AdminAddition,
  type AdminRemoval,
  type JoinRequest,
  type Leave,
  NO_STATEMENT_HASH,
  type RemovalArtefact,
  artefactSubject,
  signArtefact,
  sortBySubject,
} from '../protocol/group-artefacts';
import {
  type GroupStatement,
  NO_PREVIOUS_STATEMENT,
  type StatementKind,
  type StatementMember,
  type UnsignedStatement,
  adminIds,
  identityFingerprint,
  memberIds,
  signStatement,
  statementHash,
} from '../protocol/group-statement';
import type { StatementContext } from '../protocol/group-verify';

export interface Signer {
  readonly id: string;
  readonly sign: KeyPair;
  readonly identityDh: Uint8Array;
}

export async function makeSigners<const N extends string>(
  names: readonly N[],
): Promise<Record<N, Signer>> {
  const out = {} as Record<N, Signer>;
  for (const id of names)
    out[id] = { id, sign: await generateEd25519KeyPair(), identityDh: randomBytes(32) };
  return out;
}

/** A directory of published signing keys, as the server (or a client's pins) would answer. */
export function contextOf(
  signers: Iterable<Signer>,
  now: number,
  extra: Partial<StatementContext> = {},
): StatementContext {
  const keys = new Map([...signers].map((s) => [s.id, s.sign.publicKey]));
  return { signingKeyOf: (userId) => keys.get(userId), now, ...extra };
}

export const joinRequest = (
  joiner: Signer,
  groupId: string,
  time: number,
  knownHash: Uint8Array = NO_STATEMENT_HASH,
): Promise<JoinRequest> =>
  signArtefact(
    { kind: 'join', groupId, userId: joiner.id, knownHash, time },
    joiner.sign.privateKey,
  );

export const leaveOf = (leaver: Signer, groupId: string, time: number): Promise<Leave> =>
  signArtefact({ kind: 'leave', groupId, userId: leaver.id, time }, leaver.sign.privateKey);

export const adminRemoval = (
  admin: Signer,
  target: string,
  groupId: string,
  time: number,
): Promise<AdminRemoval> =>
  signArtefact(
    { kind: 'admin-remove', groupId, admin: admin.id, target, time },
    admin.sign.privateKey,
  );

export const adminAddition = (
  admin: Signer,
  target: string,
  groupId: string,
  time: number,
): Promise<AdminAddition> =>
  signArtefact(
    { kind: 'admin-add', groupId, admin: admin.id, target, time },
    admin.sign.privateKey,
  );

async function membersOf(
  ids: readonly string[],
  admins: readonly string[],
  signers: ReadonlyMap<string, Signer>,
): Promise<StatementMember[]> {
  return Promise.all(
    [...ids].sort().map(async (userId) => {
      const signer = signers.get(userId);
      return {
        userId,
        admin: admins.includes(userId),
        fingerprint: signer
          ? await identityFingerprint({
              identityDh: signer.identityDh,
              identitySign: signer.sign.publicKey,
            })
          : randomBytes(16),
      };
    }),
  );
}

export interface StatementDraft {
  readonly kind?: StatementKind;
  readonly createdAt: number;
  readonly additions?: readonly AdditionArtefact[];
  readonly removals?: readonly RemovalArtefact[];
  /** Default: the previous admins still in the group. */
  readonly admins?: readonly string[];
  readonly closed?: boolean;
  /** Default: previous + additions − removals (override to lie). */
  readonly members?: readonly string[];
  readonly epoch?: number;
  readonly previousHash?: Uint8Array;
  readonly groupId?: string;
}

/** Statement-building with the rules applied by default; every field can be overridden. */
export class StatementBuilder {
  readonly signers: Map<string, Signer>;
  constructor(signers: Iterable<Signer>) {
    this.signers = new Map([...signers].map((s) => [s.id, s]));
  }

  async create(maker: Signer, groupId: string, createdAt: number): Promise<GroupStatement> {
    return this.sign(maker, {
      groupId,
      epoch: 1,
      kind: 'create',
      maker: maker.id,
      previousHash: NO_PREVIOUS_STATEMENT,
      createdAt,
      closed: false,
      members: await membersOf([maker.id], [maker.id], this.signers),
      keyCommitment: randomBytes(32),
      additions: [],
      removals: [],
    });
  }

  async next(
    previous: GroupStatement,
    maker: Signer,
    draft: StatementDraft,
  ): Promise<GroupStatement> {
    const additions = sortBySubject(draft.additions ?? []);
    const removals = sortBySubject(draft.removals ?? []);
    const removed = new Set(removals.map(artefactSubject));
    const ids = draft.members ?? [
      ...memberIds(previous).filter((id) => !removed.has(id)),
      ...additions.map(artefactSubject),
    ];
    const admins = draft.admins ?? adminIds(previous).filter((id) => ids.includes(id));
    return this.sign(maker, {
      groupId: draft.groupId ?? previous.groupId,
      epoch: draft.epoch ?? previous.epoch + 1,
      kind: draft.kind ?? (additions.length + removals.length > 0 ? 'change' : 'rekey'),
      maker: maker.id,
      previousHash: draft.previousHash ?? (await statementHash(previous)),
      createdAt: draft.createdAt,
      closed: draft.closed ?? previous.closed,
      members: await membersOf(ids, admins, this.signers),
      keyCommitment: randomBytes(32),
      additions,
      removals,
    });
  }

  sign(maker: Signer, unsigned: UnsignedStatement): Promise<GroupStatement> {
    return signStatement(unsigned, maker.sign.privateKey);
  }
}
