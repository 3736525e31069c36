/**
 * API Gateway delivers no message over 128 KB, route replies included (docs/local-cloud.md), so
 * replies that list things are paged by bytes, not only by count.
 */
import { WS_LIMITS } from '../../protocol/limits';

/** Room left for the reply frame's own fields (`type`, `replyTo`, `next`...) besides what we count. */
const FRAME_MARGIN_BYTES = 2 * 1024;

const jsonBytes = (value: unknown) => Buffer.byteLength(JSON.stringify(value), 'utf8');

/**
 * The longest prefix of `items` (at least one, so paging always moves on) that fits in one reply
 * next to `fixed`, the reply's other fields.
 */
export function fitInReply<T>(items: readonly T[], fixed: object): T[] {
  const budget = WS_LIMITS.maxMessageBytes - FRAME_MARGIN_BYTES - jsonBytes(fixed);
  const fitted: T[] = [];
  let used = 0;
  for (const item of items) {
    used += jsonBytes(item) + 1; // and its comma
    if (fitted.length > 0 && used > budget) break;
    fitted.push(item);
  }
  return fitted;
}
