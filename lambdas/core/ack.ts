/**
 * `ack {through}`: a device says how far it has processed each named stream. Each cursor moves to
 * the smaller of the acked number and what pages on this connection served (never back), so an
 * ack can only confirm what the device was given; the reply is where the cursors stand and the
 * next page of the named streams (protocol/catch-up.ts).
 */
import {
  INBOX_STREAM,
  type AckFrame,
  type AckReply,
  type StreamName,
} from '../../protocol/catch-up';
import type { ServerDeps } from '../runtime/deps';
import type { RouteContext } from '../runtime/route';
import { servePage } from './catch-up';
import { sendDeliveryReceipts } from './receipts';
import { requireUser } from './session';

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
  const receipts =
    passedTo > passedFrom
      ? await sendDeliveryReceipts(deps, context, device.userId, passedFrom, passedTo)
      : 0;
  return { cursors, page: served.page, receipts };
}
