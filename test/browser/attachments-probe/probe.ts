/**
 * The attachments probe: a page built by Vite (as the app is: Svelte, the file worker bundled as
 * a module worker) that runs a real CipherlineClient on the PWA's browser adapters (sealed
 * IndexedDB store, reconnecting WebSocket, OPFS file store, Web Worker pool) against a local
 * stack, and mounts the chat's attachment components for one conversation, with a minimal
 * message list standing in for the chat screen's history. Tests drive it through
 * `window.attachmentsProbe` and the components' own controls (test/web/attachments.test.ts).
 */
import '../../../web/src/app/zod-without-eval';
import '../../../web/src/app.css';
import { createSHA256 } from 'hash-wasm';
import { mount } from 'svelte';
import { TEST_KDF_COST, allowWeakKdfForTests } from '../../../client/crypto/kdf-settings';
import { CipherlineClient } from '../../../client/session/client';
import type { ClientEvent, Conversation } from '../../../client/session/events';
import { loadRuntimeConfig } from '../../../web/src/app/runtime-config';
import { browserBlobHttp } from '../../../web/src/platform/blob-http';
import { createBrowserChunkCipher } from '../../../web/src/platform/chunk-cipher';
import { openReceivedFiles, type ReceivedFiles } from '../../../web/src/platform/received-files';
import { ReconnectingSocket } from '../../../web/src/platform/reconnecting-socket';
import { SealedStore } from '../../../web/src/platform/sealed-store';
import { Attachments } from '../../../web/src/screens/chat/attachments/attachments.svelte';
import type { SafetyNumberView } from '../../../client/session/contacts';
import AccountSettings from '../../../web/src/screens/settings/AccountSettings.svelte';
import SafetyNumber from '../../../web/src/screens/safety/SafetyNumber.svelte';
import ProbeChat from './ProbeChat.svelte';
import { ProbeHistory } from './probe-history.svelte';

let client: CipherlineClient | undefined;
let files: ReceivedFiles | undefined;
const events: ClientEvent[] = [];
let fakeAccepts = 0;

async function open(username: string): Promise<CipherlineClient> {
  allowWeakKdfForTests();
  const { websocketUrl } = await loadRuntimeConfig();
  files = await openReceivedFiles();
  client = await CipherlineClient.open({
    url: websocketUrl,
    connect: (url) => new ReconnectingSocket({ url }),
    store: await SealedStore.open(`probe-${username}`),
    files,
    cipher: () => createBrowserChunkCipher(),
    http: browserBlobHttp,
    kdfCost: TEST_KDF_COST,
  });
  client.subscribe((event) => {
    events.push(event);
  });
  return client;
}

export const attachmentsProbe = {
  async signUp(input: { username: string; password: string }): Promise<string> {
    const opened = await open(input.username);
    return (await opened.signup(input)).userId;
  },

  /** Mounts the attachments for a chat with a user (or a group) and the list of its files. */
  openChat(conversation: Conversation): void {
    if (!client || !files) throw new Error('sign up first');
    const history = new ProbeHistory(conversation);
    const attachments = new Attachments({
      client,
      files,
      onSent: (_conversation, sent, file) => history.addSent(sent.messageId, file),
    });
    attachments.start();
    client.subscribe((event) => history.apply(event));
    mount(ProbeChat, {
      target: document.getElementById('probe')!,
      props: { attachments, conversation, history },
    });
  },

  /** Mounts the account settings (devices, password, blocked users). */
  openSettings(): void {
    if (!client) throw new Error('sign up first');
    mount(AccountSettings, { target: document.getElementById('settings')!, props: { client } });
  },

  /** Mounts the safety number with a contact. */
  openSafety(userId: string): void {
    if (!client) throw new Error('sign up first');
    const target = document.getElementById('safety')!;
    target.replaceChildren();
    mount(SafetyNumber, { target, props: { client, userId } });
  },

  /**
   * Mounts the safety number on a stand-in client whose contact's keys changed (a real change
   * needs a server that serves other keys: the chat's four-person test makes one); accepting
   * clears the change. Returns nothing; `fakeAccepts` counts the accepts.
   */
  openChangedSafety(input: { userId: string; current: string; next: string }): void {
    const formatted = (digits: string) => digits.match(/\d{5}/g)!.join(' ');
    const number = (digits: string) => ({ digits, formatted: formatted(digits) });
    let changed = true;
    const fake = {
      safetyNumber: async (userId: string): Promise<SafetyNumberView> => ({
        userId,
        ...number(changed ? input.current : input.next),
        qrData: new Uint8Array(),
        ...(changed && { changed: number(input.next) }),
      }),
      acceptKeyChange: async () => {
        changed = false;
        fakeAccepts++;
      },
    };
    const target = document.getElementById('safety')!;
    target.replaceChildren();
    mount(SafetyNumber, { target, props: { client: fake, userId: input.userId } });
  },

  fakeAccepts(): number {
    return fakeAccepts;
  },

  /** The file events so far (names, sizes, locations), for assertions. */
  fileEvents(): { type: string; messageId: string; name?: string; location?: string }[] {
    return events.flatMap((event) =>
      event.type === 'file' || event.type === 'file-saved' || event.type === 'file-failed'
        ? [
            {
              type: event.type,
              messageId: event.messageId,
              name: event.file.name,
              ...(event.type === 'file-saved' && { location: event.location }),
            },
          ]
        : [],
    );
  },

  /** How many progress events arrived per direction and stage. */
  progressCounts(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const event of events)
      if (event.type === 'progress') {
        const key = `${event.direction}:${event.progress.stage}`;
        counts[key] = (counts[key] ?? 0) + 1;
      }
    return counts;
  },

  /** SHA-256 (hex) of a saved file, read as a stream (hash-wasm), never whole. */
  async digestOf(location: string): Promise<string> {
    const file = await files!.file(location, { name: 'x', mimeType: '' });
    const hash = await createSHA256();
    const reader = file.stream().getReader();
    for (let read = await reader.read(); !read.done; read = await reader.read())
      hash.update(read.value);
    return hash.digest('hex');
  },

  /** Waits until the session has handled and downloaded everything so far. */
  async idle(): Promise<void> {
    await client?.idle();
  },
};

export type AttachmentsProbe = typeof attachmentsProbe;
(window as unknown as { attachmentsProbe: AttachmentsProbe }).attachmentsProbe = attachmentsProbe;
