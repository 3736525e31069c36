/**
 * Group messages, fanned out on read: one conditional update of the group item checks that the
 * sender is a member and the epoch current and takes the message's number in the group's log;
 * the body is written once into the log (claimed per sender and message id, so a retry writes
 * nothing twice); nothing is written per member. Then the members' mailboxes are read (one
 * BatchGetItem per 100) and each live connection gets a push. Used by `sendgroup` and
 * `sendgroupfile`.
 */
import { ProtocolError } from '../../protocol/errors';
import type { SendGroupReply } from '../../protocol/groups';
import type { ServerDeps } from '../runtime/deps';
import type { RouteContext } from '../runtime/route';
import type { GroupRecord } from '../stores/groups';
import { pushToUsers, takeNumberWhile } from './delivery';
import { requireGroupMember } from './group-access';
import { rosterState } from './group-roster';
import { groupMessageEvent, live } from './stream-events';

export interface GroupFanOutInput {
  /** The normalised group id. */
  readonly groupId: string;
  /** Must be the group's current epoch, else CONFLICT naming the current one. */
  readonly epoch: number;
  /** The authenticated sender. */
  readonly from: string;
  /** The client's id: a retry with the same id stores nothing twice. */
  readonly messageId: string;
  /** Opaque base64, stored once. */
  readonly envelope: string;
}

export interface GroupFanOutOptions {
  /**
   * A check (the sender's rate limit) that runs while the message's number is taken; if it
   * refuses, nothing is written but the number, as skipped.
   */
  readonly alongside?: () => Promise<void>;
  /**
   * Runs after every check passed and before the message is written (e.g. grant blob read access
   * to the recipients); if it throws, the message is not written (its number is passed over).
   */
  readonly beforeDeliver?: (recipients: readonly string[]) => Promise<void>;
}

export interface GroupFanOutResult {
  readonly groupId: string;
  readonly epoch: number;
  readonly messageId: string;
  readonly sentAt: number;
  readonly duplicate: boolean;
  /** Every member but the sender, at send time. */
  readonly recipients: readonly string[];
  /** Live connections that got the push. */
  readonly deliveredTo: number;
}

/** Why the group item refused to take a number: no such group, not a member, or a stale epoch. */
async function refusal(
  deps: ServerDeps,
  message: GroupFanOutInput,
  group: GroupRecord | undefined,
): Promise<ProtocolError> {
  try {
    // The same answers as any group route for a missing group or a non-member.
    await requireGroupMember(deps, message.groupId, message.from);
  } catch (error) {
    if (error instanceof ProtocolError) return error;
    throw error;
  }
  const epoch = group?.epoch ?? 0;
  return new ProtocolError(
    'CONFLICT',
    epoch === 0
      ? `Group "${message.groupId}" has no key yet (epoch 0): wait for its first epoch's key-share, then send.`
      : `Epoch ${message.epoch} is not current in group "${message.groupId}": the current epoch is ${epoch}. Encrypt for epoch ${epoch} and send again.`,
  );
}

/** Checks membership and epoch, writes the message once into the group's log, pushes it. */
export async function fanOutToGroup(
  deps: ServerDeps,
  context: RouteContext,
  message: GroupFanOutInput,
  options: GroupFanOutOptions = {},
): Promise<GroupFanOutResult> {
  const now = deps.now();
  const skip = (seq: number) =>
    deps.groupLog.putEntry(
      seq,
      { kind: 'skipped', groupId: message.groupId, messageId: message.messageId, sentAt: now },
      now,
    );
  const taken = await takeNumberWhile(
    options.alongside,
    () => deps.groups.takeMessageSeq(message.groupId, message.from, message.epoch),
    async (result) => {
      if (result.outcome === 'taken') await skip(result.seq);
    },
  );
  if (taken.outcome === 'refused') throw await refusal(deps, message, taken.group);
  const { group } = taken;
  // A member of this epoch left or was removed: its key must not carry another message, even from
  // a sender that has not heard of the departure yet. The sender's client rotates and resends.
  const { pendingRemovals } = rosterState(group);
  if (pendingRemovals.length > 0) {
    await skip(taken.seq);
    throw new ProtocolError(
      'CONFLICT',
      `${pendingRemovals.join(', ')} left group "${group.groupId}" after epoch ${group.epoch} began: make the next epoch without them, then send again.`,
    );
  }
  const recipients = group.memberIds.filter((userId) => userId !== message.from);
  const entry = {
    kind: 'message',
    groupId: group.groupId,
    from: message.from,
    messageId: message.messageId,
    epoch: message.epoch,
    envelope: message.envelope,
    sentAt: now,
  } as const;
  try {
    await options.beforeDeliver?.(recipients);
  } catch (error) {
    await skip(taken.seq); // readers pass the number at once instead of waiting for it to settle
    throw error;
  }
  const stored = await deps.groupLog.appendMessage(taken.seq, entry, now);
  // Every member's devices but the sending connection; a retry pushes again (clients drop duplicates).
  const event = live(groupMessageEvent({ ...entry, seq: stored.seq, sentAt: stored.sentAt }));
  const deliveredTo = await pushToUsers(deps, context, group.memberIds, event);
  return {
    groupId: group.groupId,
    epoch: message.epoch,
    messageId: message.messageId,
    sentAt: stored.sentAt,
    duplicate: stored.duplicate,
    recipients,
    deliveredTo,
  };
}

/** The `sendgroup` reply (and the base of `sendgroupfile`'s) for a fan-out's result. */
export const sendGroupReply = (result: GroupFanOutResult): SendGroupReply => ({
  groupId: result.groupId,
  epoch: result.epoch,
  messageId: result.messageId,
  sentAt: result.sentAt,
  duplicate: result.duplicate,
  recipients: result.recipients.length,
  deliveredTo: result.deliveredTo,
});
