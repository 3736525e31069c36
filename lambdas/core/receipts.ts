/**
 * Delivery receipts: when a device acknowledges 1:1 messages, each sender gets a receipt in its
 * inbox (so an offline sender gets it later) and live. The receipt's inbox key is derived from
 * (recipient, message id), so a second device's ack, or a retried ack, adds nothing. Group
 * messages get no per-member receipts: 255 of them per message would flood the sender.
 */
import type { ServerDeps } from '../runtime/deps';
import type { RouteContext } from '../runtime/route';
import { pushToUser } from './delivery';
import { toReceiptEvent } from './inbox-events';

/** Inbox items read per page while looking for what an ack covered. */
const PAGE = 100;

export async function sendDeliveryReceipts(
  deps: ServerDeps,
  context: RouteContext,
  recipientId: string,
  fromSeq: number,
  toSeq: number,
): Promise<number> {
  let sent = 0;
  for (let after = fromSeq; after < toSeq;) {
    const items = await deps.inbox.after(recipientId, after, PAGE, deps.now());
    if (items.length === 0) break;
    for (const item of items) {
      if (item.seq > toSeq) return sent;
      if (item.kind !== 'message' || item.from === recipientId) continue;
      const receipt = {
        kind: 'receipt',
        from: recipientId,
        messageId: `receipt-${recipientId}-${item.messageId}`,
        ofMessageId: item.messageId,
        sentAt: deps.now(),
      } as const;
      const { seq, duplicate } = await deps.inbox.append(item.from, receipt, deps.now());
      if (!duplicate) {
        const event = toReceiptEvent({ ...receipt, seq, userId: item.from, expiresAt: 0 });
        await pushToUser(deps, context, item.from, event);
        sent++;
      }
    }
    after = items.at(-1)!.seq;
  }
  return sent;
}
