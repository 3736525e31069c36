/**
 * Delivery receipts: when a device acknowledges 1:1 messages, each sender gets a receipt in its
 * inbox (so an offline sender gets it later) and live. The receipt's inbox key is derived from
 * (recipient, message id), so a second device's ack, or a retried ack, adds nothing. Group
 * messages get no per-member receipts: 255 of them per message would flood the sender.
 */
import type { ServerDeps } from '../runtime/deps';
import type { RouteContext } from '../runtime/route';
import type { InboxItem } from '../stores/ports';
import { pushToUser } from './delivery';
import { toReceiptEvent } from './inbox-events';

/** Sends a receipt for each 1:1 message from someone else among `acked`; returns how many were new. */
export async function sendDeliveryReceipts(
  deps: ServerDeps,
  context: RouteContext,
  recipientId: string,
  acked: readonly InboxItem[],
): Promise<number> {
  let sent = 0;
  for (const item of acked) {
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
  return sent;
}
