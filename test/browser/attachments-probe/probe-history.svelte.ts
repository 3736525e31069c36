/** The stand-in for the chat screen's history: the files of one conversation, in order. */
import type { ClientEvent, Conversation } from '../../../client/session/events';
import type { ChatFile } from '../../../web/src/screens/chat/attachments/attachments.svelte';

export interface ProbeEntry {
  readonly messageId: string;
  readonly from: string;
  readonly mine: boolean;
  readonly file: ChatFile;
}

const sameConversation = (a: Conversation, b: Conversation) =>
  a.kind === 'direct'
    ? b.kind === 'direct' && a.with === b.with
    : b.kind === 'group' && a.groupId === b.groupId;

export class ProbeHistory {
  entries = $state<ProbeEntry[]>([]);

  constructor(private readonly conversation: Conversation) {}

  addSent(messageId: string, file: ChatFile): void {
    this.entries = [...this.entries, { messageId, from: 'me', mine: true, file }];
  }

  apply(event: ClientEvent): void {
    switch (event.type) {
      case 'file':
        if (!sameConversation(event.conversation, this.conversation)) return;
        this.entries = [
          ...this.entries,
          { messageId: event.messageId, from: event.from, mine: false, file: event.file },
        ];
        return;
      case 'file-saved':
        this.#update(event.messageId, (file) => ({ ...file, location: event.location }));
        return;
      case 'file-failed':
        this.#update(event.messageId, (file) => ({ ...file, failed: event.error.message }));
        return;
      default:
        return;
    }
  }

  #update(messageId: string, change: (file: ChatFile) => ChatFile): void {
    this.entries = this.entries.map((entry) =>
      entry.messageId === messageId ? { ...entry, file: change(entry.file) } : entry,
    );
  }
}
