/** Store-and-forward: the inbox first, then a push to every live connection of the recipient. */
import type { AckFrame, SendFrame } from '../../protocol/commands';
import { ProtocolError } from '../../protocol/errors';
import type { ServerEvent } from '../../protocol/frames';
import type { ServerDeps } from '../runtime/deps';
import type { RouteContext } from '../runtime/route';
import type { NewInboxItem } from '../stores/ports';
import { pushInboxPage, requireUser, toMessageEvent } from './session';
import { assertWithinRate } from './throttle';

/** Pushes to each live connection of a user at once; a gone connection's row is deleted. Returns how many got it. */
export async function pushToUser(
  deps: ServerDeps,
  context: RouteContext,
  userId: string,
  event: ServerEvent,
): Promise<number> {
  const connections = await deps.connections.listForUser(userId, deps.now());
  const results = await Promise.all(
    connections.map(async (connection) => {
      const delivered = await context.push(event, connection.connectionId);
      if (!delivered) await deps.connections.remove(connection.connectionId);
      return delivered;
    }),
  );
  return results.filter(Boolean).length;
}

/** Writes the item to the recipient's inbox (idempotent per message id), then pushes it live. */
export async function deliverToInbox(
  deps: ServerDeps,
  context: RouteContext,
  recipientId: string,
  item: NewInboxItem,
): Promise<{ seq: number; duplicate: boolean; pushed: number }> {
  const { seq, duplicate } = await deps.inbox.append(recipientId, item, deps.now());
  // A retry is stored once; pushing it again is harmless (clients drop duplicates by message id).
  const pushed = await pushToUser(
    deps,
    context,
    recipientId,
    toMessageEvent({ ...item, seq, userId: recipientId, expiresAt: 0 }),
  );
  return { seq, duplicate, pushed };
}

export async function send(deps: ServerDeps, frame: SendFrame, context: RouteContext) {
  const sender = await requireUser(deps, context);
  await assertWithinRate(deps.counters, 'send', sender.userId, deps.now());
  const recipient = await deps.users.get(frame.to.toLowerCase());
  if (!recipient) throw new ProtocolError('NOT_FOUND', `There is no user named "${frame.to}".`);
  const result = await deliverToInbox(deps, context, recipient.userId, {
    kind: 'message',
    from: sender.userId,
    messageId: frame.messageId,
    envelope: frame.envelope,
    sentAt: deps.now(),
  });
  return {
    messageId: frame.messageId,
    seq: result.seq,
    duplicate: result.duplicate,
    deliveredTo: result.pushed,
  };
}

/** Advances this device's cursor and pushes the next page after it, if any. */
export async function ack(deps: ServerDeps, frame: AckFrame, context: RouteContext) {
  const device = await requireUser(deps, context);
  await deps.counters.advanceCursor(device.userId, device.deviceId, frame.seq);
  const cursor = await deps.counters.getCursor(device.userId, device.deviceId);
  const pushed = await pushInboxPage(deps, context, device.userId, cursor);
  return { cursor, pushed };
}
