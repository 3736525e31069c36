/** Store-and-forward: the inbox first, then a push to every live connection of the recipient. */
import type { SendFrame } from '../../protocol/commands';
import { ProtocolError } from '../../protocol/errors';
import type { ServerEvent } from '../../protocol/frames';
import type { ServerDeps } from '../runtime/deps';
import type { RouteContext } from '../runtime/route';
import type { NewDirectInboxItem } from '../stores/ports';
import { requireUser, toMessageEvent } from './session';
import { assertWithinRate } from './throttle';

/**
 * Pushes to every live connection of a user (found through the user index) at once; a gone
 * connection's row is deleted. Returns how many got it.
 */
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

/**
 * Writes the item to the recipient's inbox (idempotent per message id), then pushes it live. The
 * connections are looked up after the write: a device that binds later reads the item in its
 * catch-up, one that bound earlier is found here, so none falls between the two.
 */
export async function deliverToInbox(
  deps: ServerDeps,
  context: RouteContext,
  recipientId: string,
  item: NewDirectInboxItem,
): Promise<{ seq: number; duplicate: boolean; pushed: number }> {
  const { seq, duplicate } = await deps.inbox.append(recipientId, item, deps.now());
  // A retry is stored once; pushing it again is harmless (clients drop duplicates by message id).
  const event = toMessageEvent({ ...item, seq, userId: recipientId, expiresAt: 0 });
  return { seq, duplicate, pushed: await pushToUser(deps, context, recipientId, event) };
}

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
  if (!recipient) throw new ProtocolError('NOT_FOUND', `There is no user named "${message.to}".`);
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
  const result = await deliverToInbox(deps, context, recipient.userId, {
    kind: 'message',
    from: sender.userId,
    messageId: message.messageId,
    envelope: message.envelope,
    sentAt: deps.now(),
  });
  return { messageId: message.messageId, duplicate: result.duplicate, deliveredTo: result.pushed };
}

export const send = (deps: ServerDeps, frame: SendFrame, context: RouteContext) =>
  sendToUser(deps, context, frame);
