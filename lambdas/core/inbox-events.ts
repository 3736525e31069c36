/**
 * Inbox items to push events. A group message's inbox item is a pointer: its body is stored
 * once and read back here; a key-share gets its epoch's signed statement. Used by catch-up
 * (pushInboxPage) and by live fan-out alike, so both push the same event.
 */
import type { MessageEvent, ReceiptEvent } from '../../protocol/commands';
import type { GroupMessageEvent, KeyShareEvent } from '../../protocol/groups';
import type { ServerEvent } from '../../protocol/frames';
import type { ServerDeps } from '../runtime/deps';
import type {
  DirectInboxItem,
  InboxItem,
  KeyShareInboxItem,
  ReceiptInboxItem,
} from '../stores/ports';
import type { GroupMessageBody } from '../stores/group-ports';

export const toMessageEvent = (item: DirectInboxItem): MessageEvent => ({
  type: 'message',
  seq: item.seq,
  from: item.from,
  messageId: item.messageId,
  envelope: item.envelope,
  sentAt: item.sentAt,
});

export const toReceiptEvent = (item: ReceiptInboxItem): ReceiptEvent => ({
  type: 'receipt',
  seq: item.seq,
  from: item.from,
  messageId: item.ofMessageId,
  status: 'delivered',
  at: item.sentAt,
});

export const toGroupMessageEvent = (seq: number, body: GroupMessageBody): GroupMessageEvent => ({
  type: 'group-message',
  seq,
  groupId: body.groupId,
  epoch: body.epoch,
  from: body.from,
  messageId: body.messageId,
  envelope: body.envelope,
  sentAt: body.sentAt,
});

export const toKeyShareEvent = (
  item: Pick<
    KeyShareInboxItem,
    'seq' | 'groupId' | 'epoch' | 'from' | 'messageId' | 'envelope' | 'sentAt'
  >,
  statement: string,
): KeyShareEvent => ({
  type: 'key-share',
  seq: item.seq,
  groupId: item.groupId,
  epoch: item.epoch,
  from: item.from,
  messageId: item.messageId,
  envelope: item.envelope,
  statement,
  sentAt: item.sentAt,
});

/** The event an inbox item stands for; undefined for a skipped number or when what it points to is gone (expired). */
export async function inboxEvent(
  deps: ServerDeps,
  item: InboxItem,
): Promise<ServerEvent | undefined> {
  switch (item.kind) {
    case 'message':
      return toMessageEvent(item);
    case 'group-message': {
      const body = await deps.groupMessages.getMessage(
        item.groupId,
        item.from,
        item.messageId,
        deps.now(),
      );
      return body && toGroupMessageEvent(item.seq, body);
    }
    case 'key-share': {
      const epoch = await deps.groups.getEpoch(item.groupId, item.epoch);
      return epoch && toKeyShareEvent(item, epoch.statement);
    }
    case 'receipt':
      return toReceiptEvent(item);
    case 'skipped':
      return undefined;
    default: {
      const unknownKind: never = item;
      throw new Error(`Unknown inbox item ${JSON.stringify(unknownKind)}`);
    }
  }
}
