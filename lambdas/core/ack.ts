/** `ack`: a device says how far it has processed its inbox. */
import type { AckFrame } from '../../protocol/commands';
import type { ServerDeps } from '../runtime/deps';
import type { RouteContext } from '../runtime/route';
import type { InboxItem } from '../stores/ports';
import { settledCursor } from './cursor';
import { sendDeliveryReceipts } from './receipts';
import { CATCH_UP_PAGE, pushInboxPage, requireUser } from './session';

/** An ack settles at most this many pages of items; the device's next ack goes on from there. */
const MAX_PAGES_PER_ACK = 10;

/** The live items after `cursor` up to `acked`, ascending. */
async function storedUpTo(
  deps: ServerDeps,
  userId: string,
  cursor: number,
  acked: number,
): Promise<InboxItem[]> {
  const items: InboxItem[] = [];
  let after = cursor;
  for (let page = 0; page < MAX_PAGES_PER_ACK && after < acked; page++) {
    const stored = await deps.inbox.after(userId, after, CATCH_UP_PAGE, deps.now());
    items.push(...stored.filter((item) => item.seq <= acked));
    if (stored.length < CATCH_UP_PAGE) break;
    after = stored.at(-1)!.seq;
  }
  return items;
}

/**
 * Advances this device's cursor as far as is safe (lambdas/core/cursor.ts), sends delivery
 * receipts for the 1:1 messages it moved over, and pushes the next page after the acked number.
 */
export async function ack(deps: ServerDeps, frame: AckFrame, context: RouteContext) {
  const device = await requireUser(deps, context);
  const before = await deps.counters.getCursor(device.userId, device.deviceId);
  const covered =
    frame.seq > before ? await storedUpTo(deps, device.userId, before, frame.seq) : [];
  const cursor = settledCursor(before, covered, frame.seq, deps.now());
  if (cursor > before) await deps.counters.advanceCursor(device.userId, device.deviceId, cursor);
  // Receipts for what the cursor moved over: each once per device, however often it acks.
  const passed = covered.filter((item) => item.seq <= cursor);
  const receipts = await sendDeliveryReceipts(deps, context, device.userId, passed);
  // A number the cursor waits for is pushed live by its writer; the next page starts after the ack.
  const pushed = await pushInboxPage(deps, context, device.userId, Math.max(cursor, frame.seq));
  return { cursor, pushed, receipts };
}
