/** `ack`: a device says how far it has processed its inbox. */
import type { AckFrame } from '../../protocol/commands';
import type { ServerDeps } from '../runtime/deps';
import type { RouteContext } from '../runtime/route';
import { sendDeliveryReceipts } from './receipts';
import { pushInboxPage, requireUser } from './session';

/**
 * Advances this device's cursor, sends delivery receipts for the 1:1 messages it now covers, and
 * pushes the next page after it, if any.
 */
export async function ack(deps: ServerDeps, frame: AckFrame, context: RouteContext) {
  const device = await requireUser(deps, context);
  const before = await deps.counters.getCursor(device.userId, device.deviceId);
  await deps.counters.advanceCursor(device.userId, device.deviceId, frame.seq);
  // The cursor only moves forward, so it is now the larger of the two.
  const cursor = Math.max(before, frame.seq);
  const receipts =
    cursor > before ? await sendDeliveryReceipts(deps, context, device.userId, before, cursor) : 0;
  const pushed = await pushInboxPage(deps, context, device.userId, cursor);
  return { cursor, pushed, receipts };
}
