/**
 * The session in the browser: the one app-level object that makes the runtime-neutral
 * CipherlineClient with the browser's adapters (device-client.ts: the sealed IndexedDB store, the
 * reconnecting WebSocket, fetch for blobs, the file workers, Argon2id in a worker), owns sign-up, sign-in and
 * sign-out and the one-active-tab guard, and turns the client's typed events into rune state and
 * the device's history. Screens call the client's commands through it.
 */
import type { CipherlineClient } from '../../../client/session/client';
import { CipherlineError, asCipherlineError } from '../../../client/session/errors';
import { checkUsername } from '../../../protocol/username';
import type { ConnectionStatus } from '../../../client/session/connection';
import type { ClientEvent, Conversation } from '../../../client/session/events';
import type { SentMessage } from '../../../client/session/direct';
import type { ReceivedFiles } from '../platform/received-files';
import type { SealedStore } from '../platform/sealed-store';
import { DEFAULT_STORE_NAME } from '../platform/store-name';
import type { ActiveTab } from './active-tab.svelte';
import { ChatsState } from './chats.svelte';
import { History, chatIdOf, type ChatId, type FileInfo } from './history';
import { loadRuntimeConfig } from './runtime-config';

export type SessionPhase =
  | { readonly phase: 'starting' }
  /** Another tab of this browser is the device's active client. */
  | { readonly phase: 'standby' }
  | { readonly phase: 'signed-out'; readonly problem?: string }
  | { readonly phase: 'signed-in'; readonly userId: string };

export interface SignupInput {
  readonly username: string;
  readonly password: string;
  readonly recoveryKey: boolean;
}

export interface SigninInput {
  readonly username: string;
  readonly password: string;
  readonly recoveryKey?: string;
}

export class Session {
  phase = $state<SessionPhase>({ phase: 'starting' });
  connection = $state<ConnectionStatus>('stopped');
  /** The latest background problem worth showing (a failed rotation, an unreadable message...). */
  notice = $state<string | undefined>();
  chats = $state<ChatsState | undefined>();
  /**
   * While signed out: whose data this browser still holds (keys, history, files), after a forced
   * sign-out (password changed elsewhere, this device removed) or a sign-in that never finished.
   * Only that user can sign in here until the data is deleted (`clearDevice`).
   */
  heldBy = $state<string | undefined>();
  /** A new account's recovery key, shown once (formatted) until the user confirms they kept it. */
  recoveryKeyToShow = $state<string | undefined>();
  readonly #activeTab: ActiveTab;
  #client: CipherlineClient | undefined;
  #store: SealedStore | undefined;
  #files: ReceivedFiles | undefined;
  #history: History | undefined;
  #unsubscribe: (() => void) | undefined;
  /** The open (or opening) client; one at a time. */
  #opening: Promise<void> | undefined;

  constructor(activeTab: ActiveTab) {
    this.#activeTab = activeTab;
  }

  /** Claims the active-tab role, then opens the device (resuming a kept session). */
  async start(): Promise<void> {
    this.#activeTab.onRole((role) => {
      if (role.role === 'active') void this.#openIfKept();
      else if (role.role === 'standby') void this.#suspend();
    });
    await this.#activeTab.start();
  }

  get client(): CipherlineClient {
    if (!this.#client || this.phase.phase !== 'signed-in')
      throw new CipherlineError('NO_KEYS', 'Sign in first.');
    return this.#client;
  }

  get userId(): string | undefined {
    return this.phase.phase === 'signed-in' ? this.phase.userId : undefined;
  }

  /** A new account; a chosen recovery key is held in `recoveryKeyToShow` to be shown once. */
  async signup(input: SignupInput): Promise<void> {
    const client = await this.#ready();
    this.#refuseOtherUser(undefined);
    const result = await client.signup(input);
    if (result.recoveryKey) {
      const { formatRecoveryKey } = await import('./device-client');
      this.recoveryKeyToShow = formatRecoveryKey(result.recoveryKey);
    }
    await this.#signedIn(result.userId);
  }

  /** The user kept the recovery key: it is forgotten here (never stored, never sent). */
  dismissRecoveryKey(): void {
    this.recoveryKeyToShow = undefined;
  }

  /** RECOVERY_KEY_NEEDED when this browser must restore keys sealed with a recovery key. */
  async signin(input: SigninInput): Promise<void> {
    const client = await this.#ready();
    this.#refuseOtherUser(input.username);
    let result: Awaited<ReturnType<CipherlineClient['signin']>>;
    try {
      result = await client.signin(input);
    } catch (error) {
      // A sign-in that got as far as the server leaves that user's device record here.
      this.heldBy = deviceUser(client);
      throw error;
    }
    await this.#signedIn(result.userId);
  }

  /**
   * Deletes what this browser holds of the signed-out user (keys, history, received files), so
   * that someone else can sign in here. Nothing is sent: the account and its backup stay, and
   * that user signs in again on any device (messages kept only here are gone).
   */
  async clearDevice(): Promise<void> {
    if (this.phase.phase === 'signed-in')
      throw new CipherlineError('INVALID_INPUT', 'Sign out instead: this deletes the data too.');
    await this.#openOnce();
    const client = this.#client;
    const store = this.#store;
    const files = this.#files;
    this.#detach();
    this.#client = undefined;
    this.#store = undefined;
    this.#files = undefined;
    this.#opening = undefined;
    await client?.close().catch(() => undefined);
    await store?.clear(); // keys, pinned contacts, history: the database is deleted
    await files?.clear();
    this.heldBy = undefined;
    // The next sign-in or sign-up opens a fresh, empty device (#ready).
    this.phase = { phase: 'signed-out' };
  }

  /** A different user cannot sign in (or sign up) over the data another user left here. */
  #refuseOtherUser(username: string | undefined): void {
    const held = this.heldBy;
    if (!held) return;
    const wanted = username === undefined ? undefined : checkUsername(username);
    if (wanted?.ok && wanted.username === held) return;
    throw new CipherlineError(
      'INVALID_INPUT',
      `This browser still holds the data of ${held}. Only ${held} can sign in here until you delete it (below).`,
    );
  }

  /** Ends the session here: the server revokes it, and this browser forgets everything. */
  async signout(): Promise<void> {
    const client = this.client;
    this.#detach();
    await client.signout(); // clears the sealed store: keys, history, everything
    await this.#files?.clear(); // and the received files
    this.#client = undefined;
    this.#store = undefined;
    this.#files = undefined;
    this.#opening = undefined;
    // Nothing is opened again until the next sign-in (#ready): the store stays deleted.
    this.heldBy = undefined;
    this.phase = { phase: 'signed-out' };
  }

  /** Sends a text to a chat and adds it to the history. */
  async sendText(conversation: Conversation, text: string): Promise<SentMessage> {
    const client = this.client;
    const sent =
      conversation.kind === 'direct'
        ? await client.sendText(conversation.with, text)
        : await client.groups.sendText(conversation.groupId, text);
    await this.recordSent(conversation, sent, text);
    return sent;
  }

  /** A text this device sent (through a typed command too) goes into the chat's history. */
  async recordSent(conversation: Conversation, sent: SentMessage, text: string): Promise<void> {
    await this.#history?.addSent(conversation, sent, { text });
  }

  /** Makes sure a chat is listed (a new chat, a group joined) and returns its id. */
  async ensureChat(conversation: Conversation): Promise<ChatId> {
    if (!this.#history) throw new CipherlineError('NO_KEYS', 'Sign in first.');
    return this.#history.ensureChat(conversation);
  }

  /** A file this device sent (the attachments' `onSent`, with its kept copy) goes into the history. */
  async recordSentFile(
    conversation: Conversation,
    sent: SentMessage,
    file: FileInfo,
  ): Promise<void> {
    await this.#history?.addSent(conversation, sent, { file });
  }

  /** The device's file store (received files and the copies of sent ones), while signed in. */
  get files(): ReceivedFiles {
    if (!this.#files || this.phase.phase !== 'signed-in')
      throw new CipherlineError('NO_KEYS', 'Sign in first.');
    return this.#files;
  }

  async acceptKeyChange(userId: string): Promise<void> {
    await this.client.acceptKeyChange(userId);
    await this.#history?.keyChangeAccepted(userId);
  }

  /** Everything that changed is durable (tests, and before a reload). */
  async flushed(): Promise<void> {
    await this.#history?.flushed();
  }

  /**
   * Opens the device when this browser keeps one; a browser that never signed in (or signed out)
   * shows the sign-in screen without loading the client core and its crypto: they load with the
   * first sign-in or sign-up (#ready).
   */
  async #openIfKept(): Promise<void> {
    if (await deviceStoreKept()) await this.#openOnce();
    else if (!this.#opening) this.phase = { phase: 'signed-out' };
  }

  #openOnce(): Promise<void> {
    this.#opening ??= this.#open().catch((error: unknown) => {
      this.#opening = undefined;
      this.phase = { phase: 'signed-out', problem: asCipherlineError(error).message };
    });
    return this.#opening;
  }

  async #ready(): Promise<CipherlineClient> {
    await this.#openOnce();
    if (!this.#client)
      throw new CipherlineError('OFFLINE', 'Cipherline could not start here: reload the page.');
    return this.#client;
  }

  async #open(): Promise<void> {
    const { websocketUrl } = await loadRuntimeConfig();
    // The client core loads here, not with the first paint.
    const { openDeviceClient } = await import('./device-client');
    const { client, store, files } = await openDeviceClient(websocketUrl);
    this.#store = store;
    this.#files = files;
    this.#client = client;
    this.#unsubscribe = client.subscribe((event) => this.#onEvent(event));
    if (!client.canResume) {
      this.heldBy = deviceUser(client);
      this.phase = { phase: 'signed-out' };
      return;
    }
    // The history shows at once, from the device; the connection comes when it can.
    await this.#signedIn(client.whoami().userId);
    client.resume().catch((error: unknown) => {
      const failure = asCipherlineError(error);
      // The session was ended elsewhere (this device removed, the password changed).
      if (SESSION_REFUSED.has(failure.code)) this.#endedElsewhere(failure.message);
      else this.notice = failure.message;
    });
  }

  #endedElsewhere(problem: string): void {
    // The client stays (and keeps its keys): signing in again as the same user continues on it.
    this.heldBy = deviceUser(this.#client);
    this.#history = undefined;
    this.chats = undefined;
    this.phase = { phase: 'signed-out', problem };
  }

  async #signedIn(userId: string): Promise<void> {
    this.#history = await History.open(this.#store!, userId);
    this.chats = new ChatsState(this.#history);
    this.phase = { phase: 'signed-in', userId };
  }

  /** Answers the history's write, which the client awaits before it acknowledges the event. */
  #onEvent(event: ClientEvent): Promise<void> | undefined {
    const kept = this.#history?.apply(event);
    this.#showEvent(event);
    return kept;
  }

  #showEvent(event: ClientEvent): void {
    switch (event.type) {
      case 'connection':
        this.connection = event.status;
        return;
      case 'warning':
        this.notice = event.message;
        return;
      case 'backup-fork':
        this.notice = `Your key backup forked at version ${event.version} (${event.why}): check your other devices.`;
        return;
      case 'unreadable-summary':
        this.notice = `${event.count} message${event.count === 1 ? '' : 's'} could not be opened on this device (sent before it was set up, or failing a check).`;
        return;
      case 'session-ended':
        this.#endedElsewhere(event.error.message);
        return;
      default:
        return;
    }
  }

  /** Another tab became the active one: this tab lets go of the connection and the store. */
  async #suspend(): Promise<void> {
    const client = this.#client;
    const store = this.#store;
    this.#detach();
    this.#client = undefined;
    this.#store = undefined;
    this.#opening = undefined;
    this.phase = { phase: 'standby' };
    await client?.close().catch(() => undefined);
    store?.close();
  }

  #detach(): void {
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    this.#history = undefined;
    this.chats = undefined;
    this.connection = 'stopped';
  }
}

/** The session codes that mean the session was ended elsewhere (a resume refused for good). */
const SESSION_REFUSED: ReadonlySet<string> = new Set([
  'UNAUTHENTICATED',
  'INVALID_CREDENTIALS',
  'FORBIDDEN',
]);

/** Whether this browser holds a device store; when the browser cannot tell, assume it does. */
async function deviceStoreKept(): Promise<boolean> {
  try {
    const databases = await indexedDB.databases();
    return databases.some((database) => database.name === DEFAULT_STORE_NAME);
  } catch {
    return true; // no indexedDB.databases() (Firefox before 126): open and see
  }
}

/** The user whose device record this client holds, if any (none on a fresh browser). */
function deviceUser(client: CipherlineClient | undefined): string | undefined {
  try {
    return client?.whoami().userId;
  } catch {
    return undefined;
  }
}

export { chatIdOf };
