/**
 * The PWA's message history on the device (web/src/app/history.ts) and the composer's reading of
 * a line (message or classic command), in Node over an in-memory store with the KeyValueStore
 * shape of the sealed store: what a reload shows, unread counts, receipts, a message waiting for
 * its key replaced in place, notices, key changes, the per-chat cap, ordered writes.
 */
import { describe, expect, it } from 'vitest';
import type { ClientEvent } from '../../client/session/events';
import { CipherlineError } from '../../client/session/errors';
import type { KeyValueStore } from '../../client/session/ports';
import {
  History,
  MAX_ENTRIES_PER_CHAT,
  conversationOf,
  directChatId,
  groupChatId,
} from '../../web/src/app/history';
import { commandText } from '../../web/src/screens/chat/composer-line';

class MemoryStore implements KeyValueStore {
  readonly records = new Map<string, Uint8Array>();
  writes: string[] = [];
  async get(key: string) {
    return this.records.get(key);
  }
  async set(key: string, value: Uint8Array) {
    this.writes.push(key);
    this.records.set(key, value);
  }
  async delete(key: string) {
    this.records.delete(key);
  }
  async keys(prefix = '') {
    return [...this.records.keys()].filter((k) => k.startsWith(prefix)).sort();
  }
  async clear() {
    this.records.clear();
  }
  close() {}
}

const message = (from: string, id: string, text: string, groupId?: string): ClientEvent => ({
  type: 'message',
  conversation: groupId ? { kind: 'group', groupId } : { kind: 'direct', with: from },
  from,
  messageId: id,
  sentAt: 1_000 + Number(id.replace(/\D/g, '') || 0),
  text,
});

describe('history on the device', () => {
  it('resolves apply only once the message is written (the session acknowledges it after that)', async () => {
    const store = new MemoryStore();
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const slowStore = Object.assign(Object.create(store) as MemoryStore, {
      set: async (key: string, value: Uint8Array) => {
        await held;
        return store.set(key, value);
      },
    });
    const history = await History.open(slowStore, 'alice');
    let applied = false;
    const applying = history.apply(message('bob', 'm1', 'kept before the ack')).then(() => {
      applied = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(applied).toBe(false);
    release();
    await applying;
    const reopened = await History.open(store, 'alice');
    expect((await reopened.entries(directChatId('bob'))).map((e) => e.id)).toEqual(['m1']);
  });

  it('keeps chats and messages across a reopen (a reload), newest chat first, with unread counts', async () => {
    const store = new MemoryStore();
    const history = await History.open(store, 'alice');
    await history.apply(message('bob', 'm1', 'hi alice'));
    await history.apply(message('carol', 'm2', 'team news', 'team'));
    await history.apply(message('bob', 'm3', 'still there?'));
    await history.addSent(
      { kind: 'direct', with: 'bob' },
      { messageId: 'm4', sentAt: 1_004 },
      {
        text: 'yes',
      },
    );
    await history.flushed();

    const reopened = await History.open(store, 'alice');
    expect(reopened.chats().map((c) => [c.id, c.unread, c.last?.text])).toEqual([
      ['u:bob', 2, 'yes'],
      ['g:team', 1, 'team news'],
    ]);
    expect((await reopened.entries('u:bob')).map((e) => e.kind === 'text' && e.text)).toEqual([
      'hi alice',
      'still there?',
      'yes',
    ]);
    await reopened.setReading('u:bob');
    await reopened.apply(message('bob', 'm5', 'read at once'));
    expect(reopened.summary('u:bob')!.unread).toBe(0);
    await reopened.setReading(undefined);
    await reopened.apply(message('bob', 'm6', 'unread again'));
    expect(reopened.summary('u:bob')!.unread).toBe(1);
  });

  it('marks a sent message delivered on its receipt; drops duplicates', async () => {
    const history = await History.open(new MemoryStore(), 'alice');
    await history.addSent(
      { kind: 'direct', with: 'bob' },
      { messageId: 's1', sentAt: 5 },
      {
        text: 'ping',
      },
    );
    await history.apply({ type: 'receipt', messageId: 's1', by: 'bob', at: 6 });
    await history.apply({ type: 'receipt', messageId: 's1', by: 'bob', at: 7 });
    await history.apply({ type: 'receipt', messageId: 'unknown', by: 'bob', at: 7 });
    await history.apply(message('bob', 'm1', 'once'));
    await history.apply(message('bob', 'm1', 'once'));
    const entries = await history.entries('u:bob');
    expect(entries).toHaveLength(2);
    expect(entries[0]).toMatchObject({ id: 's1', mine: true, deliveredTo: ['bob'] });
  });

  it('shows a message waiting for its group key, and opens it in place when the key arrives', async () => {
    const history = await History.open(new MemoryStore(), 'alice');
    await history.apply({ type: 'waiting-for-key', groupId: 'team', messageId: 'g1', from: 'bob' });
    await history.apply(message('carol', 'g2', 'after', 'team'));
    expect((await history.entries('g:team')).map((e) => e.kind)).toEqual(['waiting', 'text']);
    await history.apply(message('bob', 'g1', 'the key came', 'team'));
    const entries = await history.entries('g:team');
    expect(entries.map((e) => (e.kind === 'text' ? e.text : e.kind))).toEqual([
      'the key came',
      'after',
    ]);
  });

  it('notes joins, leaves and removals in the group, and warns in the chat when keys change', async () => {
    const history = await History.open(new MemoryStore(), 'alice');
    await history.apply({
      type: 'member-notice',
      groupId: 'team',
      userId: 'dave',
      change: 'joined',
      memberCount: 4,
    });
    await history.apply({
      type: 'member-notice',
      groupId: 'team',
      userId: 'alice',
      change: 'left',
      memberCount: 3,
    });
    await history.apply({
      type: 'group-change',
      groupId: 'team',
      epoch: 3,
      by: 'carol',
      joined: [],
      left: [],
      removed: ['dave'],
      rekeyed: false,
    });
    const notices = (await history.entries('g:team')).map((e) => e.kind === 'notice' && e.text);
    expect(notices).toEqual([
      'dave joined (4 members)',
      'You left (3 members)',
      'carol removed dave',
    ]);

    await history.apply({ type: 'key-change', userId: 'bob' });
    expect(history.summary('u:bob')).toMatchObject({ keyChanged: true });
    const [warning] = await history.entries('u:bob');
    expect(warning).toMatchObject({ kind: 'notice', warning: true });
    await history.keyChangeAccepted('bob');
    expect(history.summary('u:bob')).toMatchObject({ keyChanged: false });
  });

  it('records files and what became of them', async () => {
    const history = await History.open(new MemoryStore(), 'alice');
    const file = { name: 'cat.png', size: 10, mimeType: 'image/png' };
    const conversation = { kind: 'direct', with: 'bob' } as const;
    await history.apply({
      type: 'file',
      conversation,
      from: 'bob',
      messageId: 'f1',
      sentAt: 1,
      file,
    });
    await history.apply({
      type: 'file',
      conversation,
      from: 'bob',
      messageId: 'f2',
      sentAt: 2,
      file,
    });
    await history.apply({
      type: 'file-saved',
      conversation,
      from: 'bob',
      messageId: 'f1',
      file,
      location: 'blob:x',
    });
    await history.apply({
      type: 'file-failed',
      messageId: 'f2',
      file,
      error: new CipherlineError('PROTOCOL', 'The file failed its check.'),
    });
    const [saved, failed] = await history.entries('u:bob');
    expect(saved).toMatchObject({ kind: 'file', file: { location: 'blob:x' } });
    expect(failed).toMatchObject({ kind: 'file', file: { failed: 'The file failed its check.' } });
    expect(history.summary('u:bob')!.last?.text).toBe('File: cat.png');
  });

  it(`keeps the latest ${MAX_ENTRIES_PER_CHAT} entries of a chat, and writes in order`, async () => {
    const store = new MemoryStore();
    const history = await History.open(store, 'alice');
    await Promise.all(
      Array.from({ length: MAX_ENTRIES_PER_CHAT + 5 }, (_, i) =>
        history.apply(message('bob', `m${i}`, `n${i}`)),
      ),
    );
    await history.flushed();
    const reopened = await History.open(store, 'alice');
    const entries = await reopened.entries('u:bob');
    expect(entries).toHaveLength(MAX_ENTRIES_PER_CHAT);
    expect(entries[0]).toMatchObject({ text: 'n5' });
    expect(entries.at(-1)).toMatchObject({ text: `n${MAX_ENTRIES_PER_CHAT + 4}` });
    expect(reopened.summary('u:bob')!.unread).toBe(MAX_ENTRIES_PER_CHAT + 5);
    expect(store.writes.at(-1)).toBe('history/index');
  });

  it('names chats by conversation, and refuses a malformed chat id', () => {
    expect(conversationOf(directChatId('bob'))).toEqual({ kind: 'direct', with: 'bob' });
    expect(conversationOf(groupChatId('team'))).toEqual({ kind: 'group', groupId: 'team' });
    expect(conversationOf('x:bob')).toBeUndefined();
    expect(conversationOf('u:')).toBeUndefined();
  });
});

describe('the composer', () => {
  it('reads a line as a classic command when it starts with a command in capitals or a slash', () => {
    expect(commandText('SEND bob hi there')).toBe('SEND bob hi there');
    expect(commandText('  LIST ')).toBe('LIST');
    expect(commandText('/join team')).toBe('join team');
    expect(commandText('JOIN team')).toBe('JOIN team');
  });
  it('keeps everything else a message, even when it starts with a command word', () => {
    expect(commandText('send me the photo')).toBeUndefined();
    expect(commandText('List of things to buy')).toBeUndefined();
    expect(commandText('HELLO everyone')).toBeUndefined();
    expect(commandText('hi')).toBeUndefined();
  });
});
