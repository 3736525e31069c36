/**
 * How the terminal client shows events: one plain line each (no colours, nothing redrawn), so the
 * same text serves a person and a script. Pure: formatting only.
 */
import type { ClientEvent, Conversation } from '../session/events';

export function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value < 10 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`;
}

export function formatTime(epochMs: number): string {
  const date = new Date(epochMs);
  return `${String(date.getHours()).padStart(2, '0')}:${String(date.getMinutes()).padStart(2, '0')}`;
}

const where = (conversation: Conversation): string =>
  conversation.kind === 'group' ? `#${conversation.groupId} ` : '';

/** Short form of a message id for receipts ("delivered to bob (1a2b3c4d)"). */
export const shortId = (messageId: string): string => messageId.slice(0, 8);

/** The line for an event, or undefined for events the terminal does not show as a line. */
export function formatEvent(event: ClientEvent): string | undefined {
  switch (event.type) {
    case 'message':
      return `[${formatTime(event.sentAt)}] ${where(event.conversation)}${event.from}: ${event.text}${event.late ? ' (late)' : ''}`;
    case 'file':
      return `[${formatTime(event.sentAt)}] ${where(event.conversation)}${event.from} sent ${event.file.name} (${formatSize(event.file.size)}, ${event.file.mimeType})`;
    case 'file-saved':
      return `saved ${event.file.name} from ${event.from}${event.conversation.kind === 'group' ? ` in #${event.conversation.groupId}` : ''}: ${event.location}`;
    case 'file-failed':
      return `error: ${event.file.name} could not be received: ${event.error.message}`;
    case 'receipt':
      return `delivered to ${event.by} (${shortId(event.messageId)})`;
    case 'waiting-for-key':
      return `#${event.groupId}: a message from ${event.from} waits for its group key`;
    case 'group-change': {
      const parts = [
        ...event.removed.map((userId) => `${event.by} removed ${userId}`),
        ...(event.rekeyed ? [`${event.by} made a new group key`] : []),
      ];
      return parts.length > 0 ? `#${event.groupId}: ${parts.join('; ')}` : undefined;
    }
    case 'member-notice':
      return `#${event.groupId}: ${event.userId} ${event.change} (${event.memberCount} member${event.memberCount === 1 ? '' : 's'})`;
    case 'key-change':
      return `WARNING: the keys of ${event.userId} have changed. Nothing is sent to or accepted from the new keys. Compare safety numbers with ${event.userId} (SAFETY ${event.userId}); if they match, SAFETY ${event.userId} ACCEPT trusts them.`;
    case 'backup-fork':
      return `WARNING: the key backup forked at version ${event.version} (${event.why}): the server may be withholding a backup. Check your other devices.`;
    case 'unreadable-summary': {
      const reasons = Object.entries(event.reasons)
        .map(([reason, count]) => `${count} ${reason}`)
        .join('; ');
      return `${event.count} message${event.count === 1 ? '' : 's'} could not be opened here: ${reasons}.`;
    }
    case 'warning':
      return `warning: ${event.message}${event.error ? ` (${event.error.message})` : ''}`;
    case 'session-ended':
      return `Signed out by the server: ${event.error.message}`;
    case 'connection':
    case 'progress':
      return undefined;
    default: {
      const unreachable: never = event;
      return `unknown event ${JSON.stringify(unreachable)}`;
    }
  }
}
