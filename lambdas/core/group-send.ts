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
import { ATTEMPT_MAX_MS } from './cursor';
import { pushToUser } from './delivery';
import { requireGroupMember } from './group-access';
import { toGroupMessageEvent } from './inbox-events';
import {
  FAN_OUT_CONCURRENCY,
  POINTERS_PER_BATCH,
  POINTER_BATCHES_AT_ONCE,
  createLimiter,
  mapWithPool,
} from './group-pool';
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

/**
 * Each recipient's inbox sequence number for this message, decided once: numbers are allocated,
 * then recorded on the body with a conditional write that only the first attempt wins. Pointers
 * are written only at recorded numbers, so a retry (or two racing attempts) rewrites the same
 * items instead of adding new ones; an attempt that lost stores its numbers as skipped, so that
 * no cursor waits for them (lambdas/core/cursor.ts).
 */
async function sequenceNumbersFor(
  deps: ServerDeps,
  body: GroupMessageBody,
  recipients: readonly string[],
  now: number,
): Promise<Readonly<Record<string, number>>> {
  if (body.seqs) {
    const recordedLongAgo = now - (body.seqsAt ?? 0) > ATTEMPT_MAX_MS;
    return recordedLongAgo ? renumberMissing(deps, body, body.seqs, now) : body.seqs;
  }
  const allocated = await deps.groupInbox.allocateSeqs(recipients);
  const recorded = await deps.groupMessages.recordSeqs(body, allocated, now);
  if (recorded !== allocated) await storeSkipped(deps, body, allocated);
  return recorded;
}

/**
 * A retry long after the numbers were recorded: a recipient whose pointer is still missing (the
 * attempt that recorded it died first) gets a new number, since a cursor may have crossed the
 * empty one by now. Of racing retries, the body's conditional writes pick one number each.
 */
async function renumberMissing(
  deps: ServerDeps,
  body: GroupMessageBody,
  seqs: Readonly<Record<string, number>>,
  now: number,
): Promise<Readonly<Record<string, number>>> {
  const missing = await deps.groupInbox.missingItems(seqs);
  if (missing.length === 0) return seqs;
  const fresh = await deps.groupInbox.allocateSeqs(missing);
  const moves = Object.fromEntries(
    missing.map((userId) => [userId, { from: seqs[userId]!, to: fresh[userId]! }]),
  );
  const recorded = await deps.groupMessages.moveSeqs(body, moves, now);
  const unused = missing.filter((userId) => recorded[userId] !== fresh[userId]);
  if (unused.length > 0)
    await storeSkipped(deps, body, Object.fromEntries(unused.map((u) => [u, fresh[u]!])));
  return recorded;
}

/** Numbers an attempt took and will not use, stored so that no cursor waits for them. */
async function storeSkipped(
  deps: ServerDeps,
  body: GroupMessageBody,
  seqs: Readonly<Record<string, number>>,
): Promise<void> {
  const { from, messageId, sentAt } = body;
  await deps.groupInbox.writePointers(
    seqs,
    { kind: 'skipped', from, messageId, sentAt },
    deps.now(),
  );
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
  const stored = await deps.groupMessages.putMessage(body);
  if (!stored) {
    // A retry: the first attempt's body (its time, its recorded sequence numbers) stands.
    body =
      (await deps.groupMessages.getMessage(body.groupId, body.from, body.messageId, now)) ?? body;
  }
  const seqs = await sequenceNumbersFor(deps, body, recipients, now);
  const pointer = {
    kind: 'group-message',
    groupId: body.groupId,
    epoch: body.epoch,
    from: body.from,
    messageId: body.messageId,
    sentAt: body.sentAt,
  } as const;
  // Inbox first, then push, one BatchWriteItem's worth at a time: a batch's members are looked up
  // only once their pointers are stored (as in deliverToInbox). Batches are written a few at a
  // time, so pushes to the first batch's members run while later batches are still being written.
  // Members recorded by a first attempt who have left since are not pushed.
  const pushes: Promise<number>[] = [];
  const limit = createLimiter(FAN_OUT_CONCURRENCY);
  const current = new Set(recipients);
  const pointed = Object.keys(seqs);
  const batches = Array.from({ length: Math.ceil(pointed.length / POINTERS_PER_BATCH) }, (_, i) =>
    pointed.slice(i * POINTERS_PER_BATCH, (i + 1) * POINTERS_PER_BATCH),
  );
  await mapWithPool(batches, POINTER_BATCHES_AT_ONCE, async (batch) => {
    await deps.groupInbox.writePointers(
      Object.fromEntries(batch.map((userId) => [userId, seqs[userId]!])),
      pointer,
      now,
    );
    for (const userId of batch) {
      if (!current.has(userId)) continue;
      const event = toGroupMessageEvent(seqs[userId]!, body);
      pushes.push(
        // Stored in the inbox already: on failure the member gets it at its next catch-up.
        limit(() => pushToUser(deps, context, userId, event)).catch(() => 0),
      );
    }
  });
  const pushed = await Promise.all(pushes);
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
  await assertWithinRate(deps, 'send', sender.userId, deps.now());
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
