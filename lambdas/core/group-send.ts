/**
 * Group messages: the body is stored once, each member but the sender gets a small inbox
 * pointer (BatchWriteItem), then every member's live connections get the message through a
 * bounded pool. `sendgroupfile` reuses fanOutToGroup.
 */
import { ProtocolError } from '../../protocol/errors';
import type { SendGroupFrame } from '../../protocol/groups';
import { RETENTION_DAYS } from '../../infra/resources';
import type { ServerDeps } from '../runtime/deps';
import type { RouteContext } from '../runtime/route';
import type { GroupMessageBody } from '../stores/group-ports';
import { pushToConnections } from './delivery';
import { requireGroupMember } from './group-access';
import { toGroupMessageEvent } from './group-events';
import { FAN_OUT_CONCURRENCY, mapWithPool } from './group-pool';
import { requireUser } from './session';
import { assertWithinRate } from './throttle';

const RETENTION_MS = RETENTION_DAYS * 24 * 60 * 60 * 1000;

export interface GroupFanOutInput {
  /** The normalised group id. */
  readonly groupId: string;
  /** Must be the group's current epoch, else CONFLICT naming the current one. */
  readonly epoch: number;
  /** The authenticated sender. */
  readonly from: string;
  /** The client's id: a retry with the same id stores and delivers nothing twice. */
  readonly messageId: string;
  /** Opaque base64, stored once. */
  readonly envelope: string;
}

export interface GroupFanOutOptions {
  /**
   * Runs after every check passed and before anything is written (e.g. grant blob read access
   * to the recipients); if it throws, nothing is written.
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

/** Checks membership and epoch, stores the body once, writes a pointer per member, pushes. */
export async function fanOutToGroup(
  deps: ServerDeps,
  context: RouteContext,
  message: GroupFanOutInput,
  options: GroupFanOutOptions = {},
): Promise<GroupFanOutResult> {
  const group = await requireGroupMember(deps, message.groupId, message.from);
  if (message.epoch !== group.epoch)
    throw new ProtocolError(
      'CONFLICT',
      group.epoch === 0
        ? `Group "${group.groupId}" has no key yet (epoch 0): wait for its first epoch's key-share, then send.`
        : `Epoch ${message.epoch} is not current in group "${group.groupId}": the current epoch is ${group.epoch}. Encrypt for epoch ${group.epoch} and send again.`,
    );
  const recipients = group.memberIds.filter((userId) => userId !== message.from);
  await options.beforeDeliver?.(recipients);

  const now = deps.now();
  let body: GroupMessageBody = {
    groupId: group.groupId,
    epoch: message.epoch,
    from: message.from,
    messageId: message.messageId,
    envelope: message.envelope,
    sentAt: now,
    expiresAt: now + RETENTION_MS,
  };
  const stored = await deps.groups.putMessage(body);
  if (!stored) {
    // A retry: the first attempt's body (and its time) stands; pointers below are idempotent.
    body = (await deps.groups.getMessage(body.groupId, body.from, body.messageId, now)) ?? body;
  }
  // Connection lookups do not depend on the inbox writes, so they run alongside them.
  const [seqs, connections] = await Promise.all([
    deps.groupInbox.appendToMany(
      recipients,
      {
        kind: 'group-message',
        groupId: body.groupId,
        epoch: body.epoch,
        from: body.from,
        messageId: body.messageId,
        sentAt: body.sentAt,
      },
      now,
    ),
    mapWithPool(recipients, FAN_OUT_CONCURRENCY, (userId) =>
      deps.connections.listForUser(userId, now),
    ),
  ]);
  const pushed = await mapWithPool(recipients, FAN_OUT_CONCURRENCY, (userId, i) =>
    pushToConnections(
      deps,
      context,
      connections[i]!,
      toGroupMessageEvent(seqs.get(userId)!.seq, body),
    ).catch(
      () => 0, // stored in the inbox: the member gets it at its next catch-up
    ),
  );
  return {
    groupId: body.groupId,
    epoch: body.epoch,
    messageId: body.messageId,
    sentAt: body.sentAt,
    duplicate: !stored,
    recipients,
    deliveredTo: pushed.reduce((sum, count) => sum + count, 0),
  };
}

export async function sendGroup(deps: ServerDeps, frame: SendGroupFrame, context: RouteContext) {
  const sender = await requireUser(deps, context);
  await assertWithinRate(deps.counters, 'send', sender.userId, deps.now());
  const result = await fanOutToGroup(deps, context, {
    groupId: frame.groupId,
    epoch: frame.epoch,
    from: sender.userId,
    messageId: frame.messageId,
    envelope: frame.envelope,
  });
  return {
    groupId: result.groupId,
    epoch: result.epoch,
    messageId: result.messageId,
    sentAt: result.sentAt,
    duplicate: result.duplicate,
    recipients: result.recipients.length,
    deliveredTo: result.deliveredTo,
  };
}
