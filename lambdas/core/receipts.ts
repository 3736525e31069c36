/**
 * Delivery receipts: when a device's inbox cursor passes 1:1 messages, each sender gets a receipt
 * in its inbox (so an offline sender gets it later) and live. Each message is marked receipted on
 * its inbox item, so a second device's ack, or a replayed one, finds the mark in what it reads and
 * writes nothing. Group messages get no per-member receipts: 255 of them per message would flood
 * the sender.
 */
import type { ServerDeps } from '../runtime/deps';
import type { RouteContext } from '../runtime/route';
import type { DirectInboxItem } from '../stores/inbox';
import { appendToInbox, pushToUsers } from './delivery';
import { FAN_OUT_CONCURRENCY, mapWithPool } from './group-pool';
import { live, receiptEvent } from './stream-events';

/** Inbox items read per call while looking for messages to receipt. */
const RECEIPT_READ = 1000;

/**
 * Sends a receipt for each 1:1 message from someone else with `from` < seq ≤ `to` in the
 * recipient's inbox that no device has receipted yet; returns how many were sent.
 */
export async function sendDeliveryReceipts(
  deps: ServerDeps,
  context: RouteContext,
  recipientId: string,
  from: number,
  to: number,
): Promise<number> {
  const due: DirectInboxItem[] = [];
  for (let after = from; after < to;) {
    const read = await deps.inbox.after(
      recipientId,
      after,
      Math.min(RECEIPT_READ, to - after),
      deps.now(),
    );
    for (const item of read.items)
      if (item.seq <= to && item.kind === 'message' && item.from !== recipientId && !item.receiptAt)
        due.push(item);
    if (!read.more || read.items.length === 0) break;
    after = read.items.at(-1)!.seq;
  }
  const sent = await mapWithPool(due, FAN_OUT_CONCURRENCY, async (item) => {
    const receipt = {
      kind: 'receipt',
      from: recipientId,
      messageId: `receipt-${recipientId}-${item.messageId}`,
      ofMessageId: item.messageId,
      sentAt: deps.now(),
    } as const;
    // Stored before the mark: a crash in between repeats the append, which its claim makes a duplicate.
    const stored = await appendToInbox(deps, item.from, receipt);
    await deps.inbox.markReceipted(recipientId, item.seq, deps.now());
    if (!stored || stored.duplicate) return false;
    await pushToUsers(
      deps,
      context,
      [item.from],
      live(receiptEvent({ ...receipt, seq: stored.seq, sentAt: stored.sentAt })),
    );
    return true;
  });
  return sent.filter(Boolean).length;
}
