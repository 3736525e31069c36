/**
 * Message history on the device: every chat and its messages, kept in the device's sealed store
 * (the same IndexedDB store as the keys, encrypted at rest; signing out clears it with them), so
 * a reload shows them without the network. The client session's typed events come in through
 * `apply`; what this device sends comes in through `addSent`. Plain TypeScript (no runes), so
 * it runs in Node tests; `chats.svelte.ts` mirrors it as reactive state.
 *
 * Records: `history/index` (every chat's summary and the sent messages still waiting for a
 * receipt) and `history/chat/<chat id>` (that chat's entries, oldest first, at most
 * MAX_ENTRIES_PER_CHAT). Writes go one at a time, in order.
 */
import type { KeyValueStore } from '../../../client/session/ports';
import type { ClientEvent, Conversation } from '../../../client/session/events';

/** `u:<user id>` for a 1:1 chat, `g:<group id>` for a group. */
export type ChatId = string;

export const directChatId = (userId: string): ChatId => `u:${userId}`;
export const groupChatId = (groupId: string): ChatId => `g:${groupId}`;
export const chatIdOf = (conversation: Conversation): ChatId =>
  conversation.kind === 'direct'
    ? directChatId(conversation.with)
    : groupChatId(conversation.groupId);

/** The conversation a chat id names, or undefined for a malformed one (a typed URL). */
export function conversationOf(chatId: ChatId): Conversation | undefined {
  const name = chatId.slice(2);
  if (name === '') return undefined;
  if (chatId.startsWith('u:')) return { kind: 'direct', with: name };
  if (chatId.startsWith('g:')) return { kind: 'group', groupId: name };
  return undefined;
}

export interface FileInfo {
  readonly name: string;
  readonly size: number;
  readonly mimeType: string;
  /** Where the received file is (an object URL, an OPFS path...), once saved. */
  readonly location?: string;
  readonly failed?: string;
}

export type ChatEntry =
  | {
      readonly kind: 'text';
      readonly id: string;
      readonly from: string;
      readonly mine: boolean;
      readonly at: number;
      readonly text: string;
      /** Who confirmed delivery to a device (1:1 receipts). */
      readonly deliveredTo?: readonly string[];
      readonly late?: boolean;
    }
  | {
      readonly kind: 'file';
      readonly id: string;
      readonly from: string;
      readonly mine: boolean;
      readonly at: number;
      readonly file: FileInfo;
      readonly deliveredTo?: readonly string[];
    }
  /** A group message kept until its epoch's key arrives (replaced by the message then). */
  | { readonly kind: 'waiting'; readonly id: string; readonly from: string; readonly at: number }
  /** "bob joined", "carol left", a key change...: shown in the chat, never sent. */
  | {
      readonly kind: 'notice';
      readonly id: string;
      readonly at: number;
      readonly text: string;
      readonly warning?: boolean;
    };

export interface ChatSummary {
  readonly id: ChatId;
  readonly conversation: Conversation;
  /** The other user, or the group's name. */
  readonly title: string;
  readonly last?: { readonly text: string; readonly at: number; readonly from?: string };
  readonly unread: number;
  /** The contact's identity keys changed and are not accepted (1:1 chats). */
  readonly keyChanged: boolean;
}

interface IndexRecord {
  readonly chats: ChatSummary[];
  /** message id → chat, for 1:1 messages of mine still waiting for a receipt. */
  readonly awaitingReceipt: Record<string, ChatId>;
}

/** Decided: a chat keeps its latest 1000 entries on the device; older ones are dropped. */
export const MAX_ENTRIES_PER_CHAT = 1000;
/** Receipts are looked up for the latest 500 sent messages. */
const MAX_AWAITING_RECEIPT = 500;
const INDEX_KEY = 'history/index';
const chatKey = (chatId: ChatId) => `history/chat/${chatId}`;

const encode = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
const decode = <T>(bytes: Uint8Array): T => JSON.parse(new TextDecoder().decode(bytes)) as T;

export type HistoryListener = (changed: ChatId) => void;

export class History {
  readonly #store: KeyValueStore;
  readonly #me: string;
  #index: IndexRecord;
  readonly #entries = new Map<ChatId, ChatEntry[]>();
  readonly #listeners = new Set<HistoryListener>();
  #writes: Promise<void> = Promise.resolve();
  /** Changes run one at a time (each reads, then replaces, a chat's entries). */
  #changes: Promise<unknown> = Promise.resolve();
  /** The chat the reader has open and visible: what arrives there is read at once. */
  #reading: ChatId | undefined;

  private constructor(store: KeyValueStore, me: string, index: IndexRecord) {
    this.#store = store;
    this.#me = me;
    this.#index = index;
  }

  static async open(store: KeyValueStore, me: string): Promise<History> {
    const stored = await store.get(INDEX_KEY);
    return new History(
      store,
      me,
      stored ? decode<IndexRecord>(stored) : { chats: [], awaitingReceipt: {} },
    );
  }

  subscribe(listener: HistoryListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Every chat, the latest activity first. */
  chats(): readonly ChatSummary[] {
    return [...this.#index.chats].sort((a, b) => (b.last?.at ?? 0) - (a.last?.at ?? 0));
  }

  summary(chatId: ChatId): ChatSummary | undefined {
    return this.#index.chats.find((chat) => chat.id === chatId);
  }

  async entries(chatId: ChatId): Promise<readonly ChatEntry[]> {
    const cached = this.#entries.get(chatId);
    if (cached) return cached;
    const stored = await this.#store.get(chatKey(chatId));
    const entries = stored ? decode<ChatEntry[]>(stored) : [];
    // Another call may have loaded (and changed) it meanwhile: keep that one.
    const current = this.#entries.get(chatId) ?? entries;
    this.#entries.set(chatId, current);
    return current;
  }

  /** Waits until every change so far is durable. */
  flushed(): Promise<void> {
    return this.#writes;
  }

  #serial<T>(change: () => Promise<T>): Promise<T> {
    const run = this.#changes.then(change);
    this.#changes = run.catch(() => undefined);
    return run;
  }

  /** The chat exists in the list (a new chat with a user, a group just joined). */
  ensureChat(conversation: Conversation): Promise<ChatId> {
    return this.#serial(() => this.#ensureChat(conversation));
  }

  async #ensureChat(conversation: Conversation): Promise<ChatId> {
    const chatId = chatIdOf(conversation);
    if (!this.summary(chatId)) {
      this.#putSummary({
        id: chatId,
        conversation,
        title: conversation.kind === 'direct' ? conversation.with : conversation.groupId,
        unread: 0,
        keyChanged: false,
      });
      this.#save(chatId, false);
    }
    return chatId;
  }

  /** The reader has this chat open and in view (undefined: none); it counts as read. */
  async setReading(chatId: ChatId | undefined): Promise<void> {
    this.#reading = chatId;
    if (chatId) await this.markRead(chatId);
  }

  markRead(chatId: ChatId): Promise<void> {
    return this.#serial(async () => this.#markRead(chatId));
  }

  #markRead(chatId: ChatId): void {
    const summary = this.summary(chatId);
    if (!summary || summary.unread === 0) return;
    this.#putSummary({ ...summary, unread: 0 });
    this.#save(chatId, false);
  }

  /** A message this device sent (text or file), shown at once. */
  addSent(
    conversation: Conversation,
    sent: { readonly messageId: string; readonly sentAt: number },
    content: { readonly text: string } | { readonly file: FileInfo },
  ): Promise<void> {
    return this.#serial(() => this.#addSent(conversation, sent, content));
  }

  async #addSent(
    conversation: Conversation,
    sent: { readonly messageId: string; readonly sentAt: number },
    content: { readonly text: string } | { readonly file: FileInfo },
  ): Promise<void> {
    const chatId = await this.#ensureChat(conversation);
    const entry: ChatEntry =
      'text' in content
        ? {
            kind: 'text',
            id: sent.messageId,
            from: this.#me,
            mine: true,
            at: sent.sentAt,
            ...content,
          }
        : {
            kind: 'file',
            id: sent.messageId,
            from: this.#me,
            mine: true,
            at: sent.sentAt,
            ...content,
          };
    if (conversation.kind === 'direct') {
      const awaiting = Object.entries({ ...this.#index.awaitingReceipt, [sent.messageId]: chatId });
      this.#index = {
        ...this.#index,
        awaitingReceipt: Object.fromEntries(awaiting.slice(-MAX_AWAITING_RECEIPT)),
      };
    }
    await this.#add(chatId, entry);
  }

  /**
   * Turns one of the session's events into history; events that are not history are ignored.
   * Resolves once the change is durable: the session acknowledges the event to the server only
   * then (client/session/events.ts `deliver`).
   */
  apply(event: ClientEvent): Promise<void> {
    return this.#serial(async () => {
      await this.#apply(event);
      await this.#writes;
    });
  }

  async #apply(event: ClientEvent): Promise<void> {
    switch (event.type) {
      case 'message': {
        const chatId = await this.#ensureChat(event.conversation);
        const mine = event.from === this.#me; // sent from another device of mine
        return this.#add(chatId, {
          kind: 'text',
          id: event.messageId,
          from: event.from,
          mine,
          at: event.sentAt,
          text: event.text,
          ...(event.late && { late: true }),
        });
      }
      case 'file': {
        const chatId = await this.#ensureChat(event.conversation);
        return this.#add(chatId, {
          kind: 'file',
          id: event.messageId,
          from: event.from,
          mine: event.from === this.#me,
          at: event.sentAt,
          file: { ...event.file },
        });
      }
      case 'file-saved':
        return this.#updateFile(chatIdOf(event.conversation), event.messageId, {
          location: event.location,
        });
      case 'file-failed': {
        for (const chat of this.#index.chats)
          await this.#updateFile(chat.id, event.messageId, { failed: event.error.message });
        return;
      }
      case 'receipt':
        return this.#receipt(event.messageId, event.by);
      case 'waiting-for-key': {
        const chatId = await this.#ensureChat({ kind: 'group', groupId: event.groupId });
        return this.#add(chatId, {
          kind: 'waiting',
          id: event.messageId,
          from: event.from,
          at: Date.now(),
        });
      }
      case 'member-notice': {
        const chatId = await this.#ensureChat({ kind: 'group', groupId: event.groupId });
        const who = event.userId === this.#me ? 'You' : event.userId;
        return this.#notice(
          chatId,
          `${who} ${event.change} (${event.memberCount} member${event.memberCount === 1 ? '' : 's'})`,
        );
      }
      case 'group-change': {
        const chatId = await this.#ensureChat({ kind: 'group', groupId: event.groupId });
        for (const userId of event.removed)
          await this.#notice(chatId, `${event.by} removed ${userId}`);
        return;
      }
      case 'key-change': {
        const chatId = await this.#ensureChat({ kind: 'direct', with: event.userId });
        const summary = this.summary(chatId)!;
        this.#putSummary({ ...summary, keyChanged: true });
        return this.#notice(
          chatId,
          `The keys of ${event.userId} have changed. Nothing is sent to or accepted from the new keys until you compare safety numbers with ${event.userId} and accept them.`,
          true,
        );
      }
      case 'connection':
      case 'progress':
      case 'backup-fork':
      case 'unreadable-summary':
      case 'warning':
      case 'session-ended':
        return;
      default: {
        const unreachable: never = event;
        throw new Error(`unknown event ${JSON.stringify(unreachable)}`);
      }
    }
  }

  /** The contact's new keys were accepted: the warning stays in the chat, the flag goes. */
  keyChangeAccepted(userId: string): Promise<void> {
    return this.#serial(() => this.#keyChangeAccepted(userId));
  }

  async #keyChangeAccepted(userId: string): Promise<void> {
    const chatId = directChatId(userId);
    const summary = this.summary(chatId);
    if (!summary) return;
    this.#putSummary({ ...summary, keyChanged: false });
    await this.#notice(chatId, `You accepted the new keys of ${userId}.`);
  }

  async #notice(chatId: ChatId, text: string, warning = false): Promise<void> {
    const at = Date.now();
    await this.#add(chatId, {
      kind: 'notice',
      id: `notice-${at}-${globalThis.crypto.randomUUID()}`,
      at,
      text,
      ...(warning && { warning: true }),
    });
  }

  async #add(chatId: ChatId, entry: ChatEntry): Promise<void> {
    const entries = [...(await this.entries(chatId))];
    const existing = entries.findIndex((e) => e.id === entry.id);
    if (existing >= 0) {
      // The message that waited for its key (or a duplicate): replace it in place.
      if (entries[existing]!.kind !== 'waiting') return;
      entries[existing] = entry;
    } else entries.push(entry);
    this.#entries.set(chatId, entries.slice(-MAX_ENTRIES_PER_CHAT));
    const summary = this.summary(chatId)!;
    const incoming = entry.kind !== 'notice' && entry.kind !== 'waiting' && !entry.mine;
    this.#putSummary({
      ...summary,
      last: { text: previewOf(entry), at: entry.at, ...('from' in entry && { from: entry.from }) },
      unread: summary.unread + (incoming && this.#reading !== chatId ? 1 : 0),
    });
    this.#save(chatId, true);
  }

  async #updateFile(chatId: ChatId, messageId: string, change: Partial<FileInfo>): Promise<void> {
    if (!this.summary(chatId)) return;
    const entries = await this.entries(chatId);
    const at = entries.findIndex((e) => e.id === messageId && e.kind === 'file');
    if (at < 0) return;
    const entry = entries[at] as Extract<ChatEntry, { kind: 'file' }>;
    const updated = [...entries];
    updated[at] = { ...entry, file: { ...entry.file, ...change } };
    this.#entries.set(chatId, updated);
    this.#save(chatId, true);
  }

  async #receipt(messageId: string, by: string): Promise<void> {
    const chatId = this.#index.awaitingReceipt[messageId];
    if (!chatId) return;
    const entries = await this.entries(chatId);
    const at = entries.findIndex((e) => e.id === messageId);
    const entry = entries[at];
    if (!entry || (entry.kind !== 'text' && entry.kind !== 'file')) return;
    if (entry.deliveredTo?.includes(by)) return;
    const updated = [...entries];
    updated[at] = { ...entry, deliveredTo: [...(entry.deliveredTo ?? []), by] };
    this.#entries.set(chatId, updated);
    const { [messageId]: _done, ...rest } = this.#index.awaitingReceipt;
    this.#index = { ...this.#index, awaitingReceipt: rest };
    this.#save(chatId, true);
  }

  #putSummary(summary: ChatSummary): void {
    const chats = this.#index.chats.filter((chat) => chat.id !== summary.id);
    this.#index = { ...this.#index, chats: [...chats, summary] };
  }

  /** Queues the index (and the chat's entries) for writing, and tells the listeners. */
  #save(chatId: ChatId, withEntries: boolean): void {
    const index = this.#index;
    const entries = withEntries ? this.#entries.get(chatId) : undefined;
    this.#writes = this.#writes
      .then(async () => {
        if (entries) await this.#store.set(chatKey(chatId), encode(entries));
        await this.#store.set(INDEX_KEY, encode(index));
      })
      // A store closed by sign-out (or another tab) ends the writes; the UI goes on.
      .catch(() => undefined);
    for (const listener of [...this.#listeners]) listener(chatId);
  }
}

function previewOf(entry: ChatEntry): string {
  switch (entry.kind) {
    case 'text':
      return entry.text;
    case 'file':
      return `File: ${entry.file.name}`;
    case 'waiting':
      return 'Waiting for this message’s key…';
    case 'notice':
      return entry.text;
    default: {
      const unreachable: never = entry;
      return String(unreachable);
    }
  }
}
