/**
 * What a device receives: the streams (its `inbox` and one log per group), the durable events in
 * them, pages of them, and what the server pushes. Imports nothing of ours: frames (the replies
 * that carry pages) build on it, never the other way (docs/protocol.md section 2).
 */

export const INBOX_STREAM = 'inbox';
export type GroupStreamName = `g:${string}`;
export type StreamName = typeof INBOX_STREAM | GroupStreamName;

export const groupStream = (groupId: string): GroupStreamName => `g:${groupId}`;

/** The group id of a group stream; undefined for the inbox. */
export const groupIdOf = (stream: StreamName): string | undefined =>
  stream === INBOX_STREAM ? undefined : stream.slice(2);

/** A 1:1 envelope in the recipient's inbox (`seq` in pages only, see protocol/catch-up.ts). */
export interface MessageEvent {
  type: 'message';
  stream: 'inbox';
  seq: number;
  from: string;
  messageId: string;
  envelope: string;
  sentAt: number;
}

/**
 * A delivery receipt in the sender's inbox, made once a device of the recipient has acknowledged
 * the message (its inbox cursor passed it). One per recipient and message.
 */
export interface ReceiptEvent {
  type: 'receipt';
  stream: 'inbox';
  seq: number;
  /** The recipient who received it. */
  from: string;
  /** The sender's own message id. */
  messageId: string;
  status: 'delivered';
  at: number;
}

/**
 * Events of a group's log (stream `g:<groupId>`), in pages with `seq` and pushed live without it
 * (protocol/catch-up.ts). A member reads its group's log from its join to its leave.
 */
interface GroupLogEvent {
  stream: `g:${string}`;
  seq: number;
  groupId: string;
  /** The sender's id for a message or key-share; a server-made id for notices and epochs. */
  messageId: string;
  sentAt: number;
}
export interface GroupMessageEvent extends GroupLogEvent {
  type: 'group-message';
  epoch: number;
  from: string;
  envelope: string;
}
/** An epoch became current: my wrapped group key for it, with its signed statement. */
export interface KeyShareEvent extends GroupLogEvent {
  type: 'key-share';
  epoch: number;
  from: string;
  envelope: string;
  statement: string;
}
/**
 * An epoch became current and no key-share of it is stored for me (its maker never stored it):
 * fetch it (`sharekey` op `fetch`) or make the next epoch.
 */
export interface EpochEvent extends GroupLogEvent {
  type: 'epoch';
  epoch: number;
  from: string;
  statement: string;
}
/** Someone joined: with the member count after it and the current epoch the joiner builds on. */
export interface MemberJoinedEvent extends GroupLogEvent {
  type: 'member-joined';
  userId: string;
  memberCount: number;
  epoch: number;
}
export interface MemberLeftEvent extends GroupLogEvent {
  type: 'member-left';
  userId: string;
  memberCount: number;
  epoch: number;
}
export type GroupEvent =
  GroupMessageEvent | KeyShareEvent | EpochEvent | MemberJoinedEvent | MemberLeftEvent;

/** Every event that has a place in a stream: in a page with `seq`, pushed live without. */
export type DurableEvent =
  | MessageEvent
  | ReceiptEvent
  | GroupMessageEvent
  | KeyShareEvent
  | EpochEvent
  | MemberJoinedEvent
  | MemberLeftEvent;

/** A durable event as it is pushed live: the same fields without `seq`. */
export type LiveEvent<E extends DurableEvent = DurableEvent> = E extends unknown
  ? Omit<E, 'seq'>
  : never;

export interface Page {
  /** In `seq` order within each stream; streams are not ordered against each other. */
  readonly events: DurableEvent[];
  /**
   * For every stream the page looked at, the highest number it covers: numbers that will never be
   * delivered (lost retries) are covered too; a number still being written stops it.
   */
  readonly through: Partial<Record<StreamName, number>>;
  /** Ask again (ack this `through`): there is more, or a number is still being written. */
  readonly more: boolean;
  /** A number is still being written: ask again after this many milliseconds (or after a push). */
  readonly retryAfterMs?: number;
}

/** Server pushes, sent through the @connections management API: never with a stream position. */
export type PongEvent = { type: 'pong'; echo?: string; serverTime: number };
export type ServerEvent = PongEvent | LiveEvent;
