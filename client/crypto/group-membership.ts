/**
 * Membership artefacts as a client makes them (DESIGN.md section 4, Groups): the signed join
 * request, leave, admin removal and admin addition that the server's roster and the next
 * statement carry (format: protocol/group-artefacts.ts), and what the next epoch must carry to
 * catch up with the server's roster.
 */
import {
  type AdditionArtefact,
  type AdminAddition,
  type AdminRemoval,
  type JoinRequest,
  type Leave,
  NO_STATEMENT_HASH,
  type RemovalArtefact,
  signArtefact,
} from '../../protocol/group-artefacts';
import type { ServerRoster } from '../../protocol/group-roster';
import { type GroupView, currentEpoch } from './group';
import type { LocalKeys } from './keys';

export const makeJoinRequest = (input: {
  groupId: string;
  me: LocalKeys;
  /** The hash of the latest statement I was served, if any. */
  knownHash?: Uint8Array;
  now: number;
}): Promise<JoinRequest> =>
  signArtefact(
    {
      kind: 'join',
      groupId: input.groupId,
      userId: input.me.userId,
      knownHash: input.knownHash ?? NO_STATEMENT_HASH,
      time: input.now,
    },
    input.me.identitySign.privateKey,
  );

export const makeLeave = (input: { groupId: string; me: LocalKeys; now: number }): Promise<Leave> =>
  signArtefact(
    { kind: 'leave', groupId: input.groupId, userId: input.me.userId, time: input.now },
    input.me.identitySign.privateKey,
  );

export function makeAdminChange(input: {
  kind: 'admin-remove';
  groupId: string;
  me: LocalKeys;
  target: string;
  now: number;
}): Promise<AdminRemoval>;
export function makeAdminChange(input: {
  kind: 'admin-add';
  groupId: string;
  me: LocalKeys;
  target: string;
  now: number;
}): Promise<AdminAddition>;
export function makeAdminChange(input: {
  kind: 'admin-remove' | 'admin-add';
  groupId: string;
  me: LocalKeys;
  target: string;
  now: number;
}): Promise<AdminRemoval | AdminAddition> {
  const { kind, groupId, me, target, now } = input;
  return signArtefact(
    { kind, groupId, admin: me.userId, target, time: now },
    me.identitySign.privateKey,
  ) as Promise<AdminRemoval | AdminAddition>;
}

/**
 * What the next epoch must carry to match the server's roster: the pending additions of users
 * not in my current epoch, and the departures of users still in it. Non-empty means "make an
 * epoch first" (DESIGN.md: the next sender whose view differs from the roster rotates first).
 */
export function changesToCarry(
  view: GroupView,
  roster: ServerRoster,
): { additions: AdditionArtefact[]; removals: RemovalArtefact[] } {
  const current = new Set(currentEpoch(view).members);
  const additions = [...roster.members]
    .filter(([userId, member]) => member.pending && !current.has(userId))
    .map(([, member]) => member.pending!);
  const removals = [...roster.departed]
    .filter(([userId]) => current.has(userId))
    .map(([, artefact]) => artefact);
  return { additions, removals };
}
