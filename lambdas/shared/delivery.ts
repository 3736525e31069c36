/**
 * Store-and-forward: a message is written into its stream first (the recipient's inbox, or a
 * group's log), then pushed live to the connections listed in the recipients' mailboxes. The
 * mailboxes are read after the write, never alongside it: a device that binds before the read is
 * found by it, one that binds after reads the entry in its first page, so none falls in between.
 */
import { ProtocolError } from '../../protocol/errors';
import type { ServerEvent } from '../../protocol/events';
import type { ServerDeps } from '../runtime/deps';
import type { RouteContext } from '../runtime/route';
import type { NewInboxItem } from '../stores/inbox';
import type { MailboxConnection } from '../stores/mailboxes';
import type { Appended } from '../stores/message-claims';
import { FAN_OUT_CONCURRENCY, mapWithPool } from './pool';
import { assertWithinRate } from './rate-limits';
import { forgetConnection, requireUser } from './sessions';
import { live, messageEvent } from './stream-events';

/**
 * The one failure policy of pushes: a push never fails a command, because what matters is stored
 * and reaches the device in its next page. A connection that is gone (410) is forgotten; any other
 * failure, after the retries of lambdas/runtime/management-api.ts, is logged with the request id
 * and counts as not delivered.
 */
export async function pushToConnection(
  deps: ServerDeps,
  context: RouteContext,
  target: { readonly userId: string; readonly connectionId: string },
  event: ServerEvent,
): Promise<boolean> {
  try {
    if (await context.push(event, target.connectionId)) return true;
    await forgetConnection(deps, target.userId, target.connectionId);
  } catch (error) {
    context.log.warn('push failed', { error: errorName(error) });
  }
  return false;
}

/**
 * Pushes an event to every live connection of these users (their mailboxes: one BatchGetItem per
 * 100 users), a bounded pool at a time, except the connection that caused it; answers how many got
 * it. Best effort as pushToConnection says: a mailbox read that fails delivers to nobody.
 */
export async function pushToUsers(
  deps: ServerDeps,
  context: RouteContext,
  userIds: readonly string[],
  event: ServerEvent,
): Promise<number> {
  if (userIds.length === 0) return 0;
  let mailboxes: Map<string, MailboxConnection[]>;
  try {
    mailboxes = await deps.mailboxes.connectionsOf(userIds, deps.now());
  } catch (error) {
    context.log.warn('push failed', { error: errorName(error) });
    return 0;
  }
  const targets = [...mailboxes].flatMap(([userId, connections]) =>
    connections
      .filter((connection) => connection.connectionId !== context.connectionId)
      .map((connection) => ({ userId, connectionId: connection.connectionId })),
  );
  const delivered = await mapWithPool(targets, FAN_OUT_CONCURRENCY, (target) =>
    pushToConnection(deps, context, target, event),
  );
  return delivered.filter(Boolean).length;
}

const errorName = (error: unknown): string => (error instanceof Error ? error.name : 'error');

/**
 * Runs `check` (a rate limit) while `take` takes a stream's next number: one round trip less
 * before the message is stored. If the check refuses, `skip` writes the number as skipped, so no
 * page waits for it, and the refusal stands.
 */
export async function takeNumberWhile<N>(
  check: (() => Promise<void>) | undefined,
  take: () => Promise<N>,
  skip: (taken: N) => Promise<void>,
): Promise<N> {
  const [checked, taken] = await Promise.allSettled([check?.(), take()]);
  if (taken.status === 'rejected') throw taken.reason;
  if (checked.status === 'rejected') {
    await skip(taken.value);
    throw checked.reason;
  }
  return taken.value;
}

/**
 * Appends to a user's inbox at the next number of its mailbox; makes the mailbox of a user from
 * before mailboxes on first use. Undefined when there is no such user.
 */
export async function appendToInbox(
  deps: ServerDeps,
  userId: string,
  item: NewInboxItem,
): Promise<Appended | undefined> {
  let seq = await deps.mailboxes.takeInboxSeq(userId);
  if (seq === undefined) {
    if (!(await deps.users.get(userId))) return undefined;
    await deps.mailboxes.ensure(userId);
    seq = (await deps.mailboxes.takeInboxSeq(userId))!;
  }
  return deps.inbox.appendAt(userId, seq, item, deps.now());
}

const noSuchUser = (name: string) =>
  new ProtocolError('NOT_FOUND', `There is no user named "${name}".`);

/**
 * The 1:1 path shared by `send` and `sendfile`: the sender must be signed in and under its rate
 * limit, the recipient must exist, then `check` (e.g. the blob) must pass; `beforeDeliver` (e.g. a
 * blob grant) runs before anything is delivered. A sender the recipient blocked passes the same
 * checks and gets the same reply as any other, and nothing is stored, granted or pushed. The reply
 * has no sequence number: the recipient's numbers would tell the sender how much its inbox holds,
 * and their absence would reveal a block.
 */
export async function sendToUser(
  deps: ServerDeps,
  context: RouteContext,
  message: { readonly to: string; readonly messageId: string; readonly envelope: string },
  hooks: {
    check?: (senderId: string) => Promise<void>;
    beforeDeliver?: (senderId: string, recipientId: string) => Promise<void>;
  } = {},
): Promise<{ messageId: string; duplicate: boolean; deliveredTo: number }> {
  const [sender, recipient] = await Promise.all([
    requireUser(deps, context),
    deps.users.get(message.to),
  ]);
  await assertWithinRate(deps, 'send', sender.userId, deps.now());
  if (!recipient) throw noSuchUser(message.to);
  await hooks.check?.(sender.userId);
  if (recipient.blocked?.includes(sender.userId)) {
    const duplicate = await deps.inbox.recordDropped(
      recipient.userId,
      sender.userId,
      message.messageId,
      deps.now(),
    );
    // Offline recipients get nothing pushed either, so `deliveredTo: 0` gives nothing away.
    return { messageId: message.messageId, duplicate, deliveredTo: 0 };
  }
  await hooks.beforeDeliver?.(sender.userId, recipient.userId);
  const item = {
    kind: 'message',
    from: sender.userId,
    messageId: message.messageId,
    envelope: message.envelope,
    sentAt: deps.now(),
  } as const;
  const stored = await appendToInbox(deps, recipient.userId, item);
  if (!stored) throw noSuchUser(message.to);
  // A retry is stored once; pushing it again is harmless (clients drop duplicates by message id).
  const event = live(messageEvent({ ...item, seq: stored.seq, sentAt: stored.sentAt }));
  return {
    messageId: message.messageId,
    duplicate: stored.duplicate,
    deliveredTo: await pushToUsers(deps, context, [recipient.userId], event),
  };
}
