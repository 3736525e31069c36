/**
 * The server's roster (DESIGN.md section 4, Groups): the members (each pending addition with its
 * signed join request or admin addition), the pending removals (each with its leave or admin
 * removal), the admins and the closed flag. Derived from the group item and the artefacts stored
 * beside it: a member is a pending addition while the current epoch does not name it (or names
 * it from before a departure), a departure is pending while the current epoch names the user.
 * Also: reading artefacts off frames, and how a refused statement or artefact is answered.
 */
import { fromBase64 } from '../../protocol/bytes';
import { CryptoError } from '../../protocol/crypto-error';
import { type ErrorCode, ProtocolError } from '../../protocol/errors';
import {
  type AdditionArtefact,
  artefactFromBase64,
  type ArtefactKind,
  artefactSigner,
  artefactSubject,
  checkFreshArtefact,
  type GroupArtefact,
  type RemovalArtefact,
} from '../../protocol/group-artefacts';
import type { ServerRoster } from '../../protocol/group-roster';
import type { ServerDeps } from '../runtime/deps';
import type { GroupRecord } from '../stores/groups';

export interface RosterState {
  /** Members the current epoch does not carry yet (or carries from before they left). */
  readonly pendingAdditions: readonly string[];
  /** Departed users the current epoch still names. */
  readonly pendingRemovals: readonly string[];
  /** Departures a statement must respect: pending removals, and pending members who left. */
  readonly departed: readonly string[];
}

export function rosterState(group: GroupRecord): RosterState {
  const inEpoch = new Set(group.epochMembers);
  const departed = new Set(group.departed);
  const members = new Set(group.memberIds);
  return {
    pendingAdditions: group.memberIds.filter((id) => !inEpoch.has(id) || departed.has(id)),
    pendingRemovals: group.departed.filter((id) => inEpoch.has(id)),
    departed: group.departed.filter((id) => inEpoch.has(id) || !members.has(id)),
  };
}

/** The roster in decideRoster's shape, with the stored artefacts decoded. */
export async function serverRoster(
  deps: ServerDeps,
  group: GroupRecord,
  state: RosterState,
): Promise<ServerRoster> {
  const [additions, departures] = await Promise.all([
    deps.groupEpochs.artefactsOf(group.groupId, 'addition', state.pendingAdditions),
    deps.groupEpochs.artefactsOf(group.groupId, 'departure', state.departed),
  ]);
  const decoded = <T extends GroupArtefact>(text: string | undefined): T | undefined =>
    text === undefined ? undefined : (artefactFromBase64(text) as T);
  const pending = new Set(state.pendingAdditions);
  return {
    // A pending member without a stored artefact (a join that stopped half-way) stays pending
    // all the same: no statement can add it without one, and none need drop it.
    members: new Map(
      group.memberIds.flatMap((id) => {
        if (!pending.has(id)) return [[id, {}] as const];
        const artefact = decoded<AdditionArtefact>(additions.get(id)?.artefact);
        return artefact ? [[id, { pending: artefact }] as const] : [];
      }),
    ),
    departed: new Map(
      state.departed.flatMap((id) => {
        const artefact = decoded<RemovalArtefact>(departures.get(id)?.artefact);
        return artefact ? [[id, artefact] as const] : [];
      }),
    ),
  };
}

/** Published Ed25519 keys of these users (a user without a bundle is left out). */
export async function signingKeysOf(
  deps: ServerDeps,
  userIds: Iterable<string>,
): Promise<Map<string, Uint8Array>> {
  const bundles = await deps.users.bundlesOf([...new Set(userIds)]);
  return new Map([...bundles].map(([id, bundle]) => [id, fromBase64(bundle.identitySign)]));
}

const PROTOCOL_CODE: Partial<Record<string, ErrorCode>> = {
  BAD_EPOCH: 'CONFLICT',
  EPOCH_FORK: 'CONFLICT',
  NOT_AN_ADMIN: 'FORBIDDEN',
  GROUP_CLOSED: 'FORBIDDEN',
  NOT_A_MEMBER: 'FORBIDDEN',
};

const HINTS: Partial<Record<string, string>> = {
  BAD_EPOCH: 'Fetch `members` and build on the current epoch.',
  EPOCH_FORK: 'Fetch `members` and build on the current epoch.',
  FROM_THE_FUTURE: "Check this device's clock, then retry.",
  STALE_ARTEFACT: 'Sign a new one and retry.',
  UNKNOWN_SIGNER: 'Every signer must publish its keys (`keys {op:"publish"}`) first.',
  GROUP_CLOSED: 'Ask an admin to add you.',
};

/** A refused statement or artefact as the answer to the frame; anything else is rethrown. */
export function refused(error: unknown, what: string): ProtocolError {
  if (!(error instanceof CryptoError)) throw error;
  const code = PROTOCOL_CODE[error.code] ?? 'BAD_REQUEST';
  const hint = HINTS[error.code] ?? 'Nothing was stored.';
  return new ProtocolError(code, `${what} is refused (${error.code}): ${error.message}. ${hint}`);
}

/** Reads an artefact off a frame and checks it is `kind` by `signer`, fresh, and signed by the
 * signer's published key (checkFreshArtefact); BAD_REQUEST, FORBIDDEN... otherwise. */
export async function freshArtefact(
  deps: ServerDeps,
  text: string,
  expected: {
    readonly groupId: string;
    readonly kind: ArtefactKind;
    readonly signer: string;
    readonly subject: string;
  },
): Promise<GroupArtefact> {
  let artefact: GroupArtefact;
  try {
    artefact = artefactFromBase64(text);
  } catch (error) {
    throw refused(error, 'The artefact');
  }
  const signer = artefactSigner(artefact);
  const subject = artefactSubject(artefact);
  if (signer !== expected.signer || subject !== expected.subject)
    throw new ProtocolError(
      'BAD_REQUEST',
      `The ${artefact.kind} artefact is signed by ${signer} about ${subject}; this frame needs one signed by ${expected.signer} about ${expected.subject}.`,
    );
  try {
    const keys = await signingKeysOf(deps, [signer]);
    await checkFreshArtefact(
      artefact,
      { groupId: expected.groupId, kinds: [expected.kind] },
      { signingKeyOf: (id) => keys.get(id), now: deps.now() },
    );
  } catch (error) {
    throw refused(error, `The ${artefact.kind} artefact`);
  }
  return artefact;
}
