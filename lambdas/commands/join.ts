/**
 * `join` with a signed join request, creating the group when it is missing. Membership changes
 * are written as shared/group-membership.ts says.
 */
import { ProtocolError } from '../../protocol/errors';
import { JoinFrame, type JoinReply } from '../../protocol/groups';
import { commandHandler } from '../runtime/command-handler';
import type { ServerDeps } from '../runtime/deps';
import type { RouteContext } from '../runtime/route';
import {
  addToGroup,
  assertCooledDown,
  logMembership,
  membersReply,
} from '../shared/group-membership';
import { freshArtefact } from '../shared/group-roster';
import { assertWithinRate } from '../shared/rate-limits';
import { requireUser } from '../shared/sessions';

/**
 * Joins with my signed join request, creating the group first when it does not exist. Exactly
 * one of two racing clients gets `created: true` (a conditional put); the other joins the same
 * group. The request is checked (signature against my published key, a time within minutes of
 * the server's clock) before the roster changes, and stays on the roster as my pending addition
 * until an epoch carries it.
 */
export async function joinGroup(
  deps: ServerDeps,
  frame: JoinFrame,
  context: RouteContext,
): Promise<JoinReply> {
  const me = (await requireUser(deps, context)).userId;
  await assertWithinRate(deps, 'join', me, deps.now());
  const existing = await deps.groups.get(frame.groupId);
  if (existing?.memberIds.includes(me)) {
    // Idempotent: repair the row in case a first attempt stopped before writing it (its
    // position is lost with that attempt, so the member reads on from the log's head).
    await deps.memberships.repairMembership(me, frame.groupId, existing.logSeq + 1, deps.now());
    return { ...(await membersReply(deps, existing)), created: false, joined: false };
  }
  await freshArtefact(deps, frame.request, {
    groupId: frame.groupId,
    kind: 'join',
    signer: me,
    subject: me,
  });
  if (existing?.closed)
    throw new ProtocolError(
      'FORBIDDEN',
      `Group "${frame.groupId}" is closed to joins: ask an admin to add you.`,
    );
  if (existing) await assertCooledDown(deps, frame.groupId, me);
  await deps.groupEpochs.putArtefact(frame.groupId, 'addition', me, frame.request, deps.now());
  const created = existing ? undefined : await deps.groups.create(frame.groupId, me, deps.now());
  if (created) {
    await logMembership(deps, context, 'member-joined', me, created, []);
    return { ...(await membersReply(deps, created)), created: true, joined: true };
  }
  return addToGroup(deps, context, frame.groupId, me);
}

export const handler = commandHandler('join', JoinFrame, joinGroup);
