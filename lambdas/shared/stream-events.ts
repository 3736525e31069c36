/**
 * Stored entries to events: an inbox item or a group log entry becomes the event a page serves
 * (with `stream` and `seq`), and the same event without `seq` is what a live push carries
 * (protocol/catch-up.ts), so both paths send the same fields.
 */
import {
  type DurableEvent,
  groupStream,
  INBOX_STREAM,
  type LiveEvent,
} from '../../protocol/events';
import type { MessageEvent, ReceiptEvent } from '../../protocol/events';
import type {
  EpochEvent,
  GroupMessageEvent,
  KeyShareEvent,
  MemberJoinedEvent,
  MemberLeftEvent,
} from '../../protocol/events';
import type { KeyShareRecord } from '../stores/group-epochs';
import type {
  EpochLogEntry,
  GroupLogEntry,
  MembershipLogEntry,
  MessageLogEntry,
} from '../stores/group-log';
import type { DirectInboxItem, InboxItem, ReceiptInboxItem } from '../stores/inbox';
import { missingCase } from '../../protocol/missing-case';

/** The event without its position, as pushed live. */
export function live<E extends DurableEvent>(event: E): LiveEvent<E> {
  const { seq: _seq, ...rest } = event;
  return rest as LiveEvent<E>;
}

export const messageEvent = (
  item: Omit<DirectInboxItem, 'userId' | 'expiresAt'>,
): MessageEvent => ({
  type: 'message',
  stream: INBOX_STREAM,
  seq: item.seq,
  from: item.from,
  messageId: item.messageId,
  envelope: item.envelope,
  sentAt: item.sentAt,
});

export const receiptEvent = (
  item: Omit<ReceiptInboxItem, 'userId' | 'expiresAt'>,
): ReceiptEvent => ({
  type: 'receipt',
  stream: INBOX_STREAM,
  seq: item.seq,
  from: item.from,
  messageId: item.ofMessageId,
  status: 'delivered',
  at: item.sentAt,
});

/** The event an inbox item stands for; undefined for a skipped number. */
export function inboxEvent(item: InboxItem): MessageEvent | ReceiptEvent | undefined {
  switch (item.kind) {
    case 'message':
      return messageEvent(item);
    case 'receipt':
      return receiptEvent(item);
    case 'skipped':
      return undefined;
    default: {
      return missingCase(item);
    }
  }
}

type Logged<E> = Omit<E, 'storedAt'>;

export const groupMessageEvent = (entry: Logged<MessageLogEntry>): GroupMessageEvent => ({
  type: 'group-message',
  stream: groupStream(entry.groupId),
  seq: entry.seq,
  groupId: entry.groupId,
  epoch: entry.epoch,
  from: entry.from,
  messageId: entry.messageId,
  envelope: entry.envelope,
  sentAt: entry.sentAt,
});

/** A key-share is served only with the statement it was made for (an overtaken claim leaves
 * shares of another); records from before statement hashes match anything. */
export const sameStatement = (share: Pick<KeyShareRecord, 'statementHash'>, hash?: string) =>
  share.statementHash === undefined || hash === undefined || share.statementHash === hash;

/** An epoch's entry for one reader: with its key-share when one is stored for it. */
export function epochEvent(
  entry: Logged<EpochLogEntry>,
  share: Pick<KeyShareRecord, 'messageId' | 'envelope' | 'from'> | undefined,
): KeyShareEvent | EpochEvent {
  const common = {
    stream: groupStream(entry.groupId),
    seq: entry.seq,
    groupId: entry.groupId,
    epoch: entry.epoch,
    statement: entry.statement,
    sentAt: entry.sentAt,
  };
  return share
    ? {
        type: 'key-share',
        ...common,
        from: share.from,
        messageId: share.messageId,
        envelope: share.envelope,
      }
    : { type: 'epoch', ...common, from: entry.from, messageId: entry.messageId };
}

export const membershipEvent = (
  entry: Logged<MembershipLogEntry>,
): MemberJoinedEvent | MemberLeftEvent => ({
  type: entry.kind,
  stream: groupStream(entry.groupId),
  seq: entry.seq,
  groupId: entry.groupId,
  messageId: entry.messageId,
  userId: entry.userId,
  memberCount: entry.memberCount,
  epoch: entry.epoch,
  sentAt: entry.sentAt,
});

/** The server-made message id of a notice or an epoch entry (clients drop duplicates by it). */
export const noticeId = (
  kind: Exclude<GroupLogEntry['kind'], 'message' | 'skipped'>,
  groupId: string,
  n: number,
) => `${kind}:${groupId}:${n}`;
