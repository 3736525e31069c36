/**
 * The catch-up contract (docs/protocol.md section 2). Everything durable a device receives sits in
 * a stream with its own numbers: the user's `inbox` (1:1 messages, receipts) and one log per group
 * (`g:<groupId>`: group messages, epochs with my key-share, joins and leaves). Positions come only
 * from pages: durable events carry `stream` and `seq` in a page, and only `stream` when pushed
 * live, so a client can only ever acknowledge what it was given in a page.
 */
import { z } from 'zod';
import { BaseFrame } from './frames';
import { GROUP_NAME_PATTERN } from './groups';
import { INBOX_STREAM, type Page, type StreamName } from './events';

const GROUP_STREAM_PATTERN = new RegExp(`^g:${GROUP_NAME_PATTERN.source.slice(1)}`);

/** A stream name as the server wrote it in a page's `through` (group ids are already normalised). */
export const StreamNameSchema = z
  .string()
  .refine(
    (name) => name === INBOX_STREAM || GROUP_STREAM_PATTERN.test(name),
    'a stream is "inbox" or "g:<group id>", as a page\'s `through` names it',
  )
  .transform((name) => name as StreamName);

/** A position in a stream: 0 means "before the first event". */
export const StreamSeq = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

/** Most events in one page, and about how many bytes of JSON a page's events and `through` take. */
export const PAGE_MAX_EVENTS = 100;
export const PAGE_MAX_BYTES = 96 * 1024;
/** Most streams one `ack` may name (a 32 KB frame holds about 350 group streams anyway). */
export const MAX_ACK_STREAMS = 512;

/**
 * `ack {through}`: the whole contract for a client, in three sentences.
 * 1. The replies to signup, signin, resume and ack carry a `page`: process its events in order,
 *    then send `ack` with exactly that page's `through`; the reply is the next page; repeat while
 *    `more` is true (waiting `retryAfterMs` first when the page names it).
 * 2. Process pushed events whenever they arrive (dropping duplicates by type and message id), and
 *    after a push (a short debounce is fine) ack that event's stream with the last `through` you
 *    had for it: the reply is the page that holds the pushed event with its number.
 * 3. Never invent numbers: the server moves each named stream's cursor to the smaller of your
 *    number and the highest `through` it has put in a page for this device on this connection,
 *    never back, so acking a number from nowhere, or too early, loses nothing.
 */
export const AckFrame = BaseFrame.extend({
  action: z.literal('ack'),
  /** For each stream, how far this device has processed: a page's `through` (or part of it). */
  through: z
    .record(StreamNameSchema, StreamSeq)
    .refine((through) => Object.keys(through).length >= 1, 'name at least one stream')
    .refine(
      (through) => Object.keys(through).length <= MAX_ACK_STREAMS,
      `name at most ${MAX_ACK_STREAMS} streams per ack`,
    ),
});
export type AckFrame = z.infer<typeof AckFrame>;

export interface AckReply {
  /** Where each named stream's cursor stands now (streams this device cannot read are left out). */
  readonly cursors: Partial<Record<StreamName, number>>;
  readonly page: Page;
  /** Senders told by a receipt that their messages reached this device. */
  readonly receipts: number;
}
