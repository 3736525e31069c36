/**
 * The device's history (history.ts) as reactive state for the screens: the chat list, and the
 * entries of the chat that is open. Screens read these fields; changes come from History only.
 */
import type { ChatEntry, ChatId, ChatSummary, History } from './history';

export class ChatsState {
  list = $state<readonly ChatSummary[]>([]);
  /** The open chat's entries (oldest first), and which chat they are. */
  openId = $state<ChatId | undefined>();
  entries = $state<readonly ChatEntry[]>([]);
  /** Answers to classic commands typed in a composer (not kept: they are not messages). */
  answers = $state<
    readonly { readonly id: number; readonly chatId: ChatId; readonly lines: readonly string[] }[]
  >([]);
  readonly #history: History;
  #answerIds = 0;

  constructor(history: History) {
    this.#history = history;
    this.list = history.chats();
    history.subscribe((changed) => {
      this.list = history.chats();
      if (changed === this.openId) void this.#reload(changed);
    });
  }

  get totalUnread(): number {
    return this.list.reduce((sum, chat) => sum + chat.unread, 0);
  }

  summary(chatId: ChatId): ChatSummary | undefined {
    return this.list.find((chat) => chat.id === chatId);
  }

  /** Shows this chat (undefined: none) and counts it as read while it is open. */
  async open(chatId: ChatId | undefined): Promise<void> {
    this.openId = chatId;
    this.entries = [];
    await this.#history.setReading(chatId);
    if (chatId) await this.#reload(chatId);
  }

  answer(chatId: ChatId, lines: readonly string[]): void {
    this.answers = [...this.answers, { id: ++this.#answerIds, chatId, lines }].slice(-50);
  }

  async #reload(chatId: ChatId): Promise<void> {
    const entries = await this.#history.entries(chatId);
    if (this.openId === chatId) this.entries = entries;
  }
}
