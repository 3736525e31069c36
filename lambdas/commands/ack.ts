/**
 * `ack {through}`: a device says how far it has processed each named stream. Each cursor moves to
 * the smaller of the acked number and what pages on this connection served (never back), so an
 * ack can only confirm what the device was given; the reply is where the cursors stand and the
 * next page of the named streams (protocol/catch-up.ts).
 *
 * Delivery receipts: when a device's inbox cursor passes 1:1 messages, each sender gets a receipt
 * in its inbox (so an offline sender gets it later) and live. Each message is marked receipted on
 * its inbox item, so a second device's ack, or a replayed one, finds the mark in what it reads and
 * writes nothing. Group messages get no per-member receipts: 255 of them per message would flood
 * the sender.
 
 */
import { AckFrame, type AckReply } from '../../protocol/catch-up';
import { INBOX_STREAM, type StreamName } from '../../protocol/events';
import { commandHandler } from '../runtime/command-handler';
import type { ServerDeps } from '../runtime/deps';
import type { RouteContext } from '../runtime/route';
import { servePage } from '../shared/catch-up';
import { appendToInbox, pushToUsers } from '../shared/delivery';
import { FAN_OUT_CONCURRENCY, mapWithPool } from '../shared/pool';
import { requireUser } from '../shared/sessions';
import { live, receiptEvent } from '../shared/stream-events';
import type { DirectInboxItem } from '../stores/inbox';

export async function ack(
  deps: ServerDeps,
  frame: AckFrame,
  context: RouteContext,
): Promise<AckReply & { receipts: number }> {
  const device = await requireUser(deps, context);
  const named = Object.entries(frame.through) as [StreamName, number][];
  const served = await servePage(deps, device, context.connectionId, {
    only: new Set(named.map(([stream]) => stream)),
    move: (cursors, marks) =>
      Object.fromEntries(
        named.map(([stream, acked]) => {
          const cursor = cursors[stream] ?? 0;
          return [stream, Math.max(cursor, Math.min(acked, marks[stream] ?? cursor))];
        }),
      ),
  });
  const cursors: Partial<Record<StreamName, number>> = {};
  for (const [stream] of named) {
    const position = served.known.get(stream);
    if (position !== undefined) cursors[stream] = position;
  }
  // Receipts for the 1:1 messages the inbox cursor passed.
  const passedFrom = served.before[INBOX_STREAM] ?? 0;
  const passedTo = served.cursors[INBOX_STREAM] ?? 0;
  // The cursors are saved by now: a failure from here on must not turn the reply into INTERNAL,
  // or the device would ack again for a page it already has. Receipts are best effort.
  const receipts =
    passedTo > passedFrom
      ? await sendDeliveryReceipts(deps, context, device.userId, passedFrom, passedTo).catch(
          (error: unknown) => {
            context.log.error('delivery receipts failed after the cursor moved', {
              error: error instanceof Error ? error.name : 'error',
            });
            return 0;
          },
        )
      : 0;
  return { cursors, page: served.page, receipts };
}

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

export const handler = commandHandler('ack', AckFrame, ack);
