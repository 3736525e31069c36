/**
 * CipherlineClient: one signed-in account on one device, shared by the terminal client and the
 * PWA. It owns the connection (authenticating on every new one, docs/protocol.md section 3), the
 * catch-up loop (section 2), the device's keys and their backup, contacts, 1:1 messages, groups
 * and files; platform code comes in through the ports of ports.ts. Commands resolve with typed
 * results or reject with a CipherlineError (the server's code and message when it refused);
 * everything else a UI shows arrives on `subscribe` as a ClientEvent.
 */
import { toBase64 } from '../../protocol/bytes';
import type { SessionReply } from '../../protocol/commands';
import type { DeviceWire, DevicesListReply } from '../../protocol/sessions';
import { CryptoError } from '../../protocol/crypto-error';
import { deriveAccountKeys, deriveNewAccountKeys, type Argon2idHasher } from '../crypto/account';
import { openBackup, peekBackup } from '../crypto/backup';
import type { Argon2Cost } from '../crypto/kdf-settings';
import { INBOX_RETENTION_MS, generateLocalKeys } from '../crypto/keys';
import { newRecoveryKey, recoveryBackupKey } from '../crypto/recovery-key';
import { readStoredBackup, type BackupTransportDeps } from './backup-transport';
import { fetchBlobHttp, type TransferDeps } from './blob-transfer';
import { Connection, isRefusal } from './connection';
import { Contacts, type SafetyNumberView } from './contacts';
import { DeviceState, type DeviceRecord } from './device-state';
import { Direct, receiveReceipt, userIdOf, type SendFileOptions, type SentMessage } from './direct';
import { CipherlineError, ServerError, asCipherlineError } from './errors';
import { EventStream, type ClientEventListener } from './events';
import { Groups } from './groups';
import { Inbox, readPage } from './inbox';
import { KeySync } from './key-sync';
import {
  systemClock,
  type BlobHttp,
  type ChunkCipherFactory,
  type Clock,
  type FileSink,
  type FileSource,
  type KeyValueStore,
  type SocketConnector,
} from './ports';
import type { CommandRoute } from '../../protocol/routes';
import type { Json, ReplyTo } from './rpc';
import { Transfers } from './transfers';
import { Unreadable } from './unreadable';
import { missingCase } from '../../protocol/missing-case';

export interface ClientOptions {
  /** The WebSocket URL of the cloud (wss://… or the local ws://127.0.0.1:3001/local). */
  readonly url: string;
  readonly connect: SocketConnector;
  readonly store: KeyValueStore;
  /** Where received files go. */
  readonly files: FileSink;
  /** The chunk cipher for files (a worker pool); made on first use, closed by close(). */
  readonly cipher: ChunkCipherFactory;
  readonly http?: BlobHttp;
  readonly clock?: Clock;
  readonly heartbeatMs?: number;
  /** Tests only: a cheaper password hash (refused by production builds, kdf-settings.ts). */
  readonly kdfCost?: Argon2Cost;
  /** Where Argon2id runs (the PWA: a Web Worker); default: this thread. */
  readonly kdf?: Argon2idHasher;
}

/** One device of the account, as `devices` lists it. */
export type DeviceInfo = Readonly<DeviceWire>;

type AuthPlan =
  | { readonly kind: 'signup'; readonly username: string; readonly authKey: Uint8Array }
  | { readonly kind: 'signin'; readonly username: string; readonly authKey: Uint8Array }
  | { readonly kind: 'resume' };

const DAY_MS = 24 * 60 * 60 * 1000;

export class CipherlineClient {
  readonly #options: ClientOptions;
  readonly #clock: Clock;
  readonly #state: DeviceState;
  readonly #events = new EventStream();
  readonly #connection: Connection;
  readonly #inbox: Inbox;
  readonly #keys: KeySync;
  readonly #backupTransport: BackupTransportDeps;
  readonly #contacts: Contacts;
  readonly #direct: Direct;
  readonly #groups: Groups;
  readonly #transfers: Transfers;
  readonly #unreadable: Unreadable;
  #device: DeviceRecord | undefined;
  #plan: AuthPlan = { kind: 'resume' };
  /** Events wait for this: the device's keys are loaded (or restored, or made at signup). */
  #ready: Promise<void>;
  #setReady: () => void = () => undefined;
  /** Resolved by close(): work waiting for the keys gives up (they may never come). */
  #closing: Promise<void>;
  #setClosing: () => void = () => undefined;
  #isClosing = false;
  #firstAuth: { resolve: () => void; reject: (error: CipherlineError) => void } | undefined;
  #cipher: ReturnType<ChunkCipherFactory> | undefined;
  #cancelDaily: (() => void) | undefined;
  #resumedTransfers = false;
  /** The work after the latest authentication (close waits for it: it writes to the store). */
  #afterAuth: Promise<void> = Promise.resolve();

  private constructor(options: ClientOptions, state: DeviceState) {
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
    this.#state = state;
    this.#ready = new Promise((resolve) => (this.#setReady = resolve));
    this.#closing = new Promise((resolve) => (this.#setClosing = resolve));
    const call = <R extends CommandRoute, T extends ReplyTo<R> = ReplyTo<R>>(
      action: R,
      fields: Json,
      opts?: { retry?: boolean },
    ) => this.#connection.call<R, T>(action, fields, opts ?? {});
    this.#connection = new Connection({
      socket: options.connect(options.url),
      clock: this.#clock,
      ...(options.heartbeatMs !== undefined && { heartbeatMs: options.heartbeatMs }),
      authenticate: (rpc) => this.#authenticate(rpc),
      isFinal: (error) =>
        this.#plan.kind === 'resume' ? isRefusal(error) : error instanceof ServerError,
      onAuthenticated: (reply) => {
        this.#afterAuth = this.#afterAuthentication(reply).catch((error: unknown) =>
          this.#warn('Setting up after connecting failed; it is tried again next time.', error),
        );
      },
      onStatus: (status) => this.#events.emit({ type: 'connection', status }),
      onEnded: (error) => this.#ended(error),
      onPush: (event) => {
        if (event.type !== 'pong') void this.#inbox.onPush(event);
      },
    });
    this.#unreadable = new Unreadable(this.#events);
    const http = options.http ?? fetchBlobHttp;
    this.#backupTransport = { call, http, clock: this.#clock };
    this.#keys = new KeySync({ state, call, http, clock: this.#clock, events: this.#events });
    this.#contacts = new Contacts({
      state,
      call,
      clock: this.#clock,
      events: this.#events,
      me: () => this.#keys.keys,
      pinsChanged: () => this.#backupSoon(),
    });
    const transfer: TransferDeps = {
      call,
      http,
      cipher: () => (this.#cipher ??= options.cipher()),
      clock: this.#clock,
    };
    this.#transfers = new Transfers({ transfer, state, events: this.#events, sink: options.files });
    const shared = {
      state,
      call,
      clock: this.#clock,
      events: this.#events,
      keys: this.#keys,
      contacts: this.#contacts,
      transfers: this.#transfers,
      unreadable: this.#unreadable,
    };
    this.#direct = new Direct(shared);
    this.#groups = new Groups({
      ...shared,
      catchUp: (groupId) => this.#inbox.catchUp(`g:${groupId}`),
    });
    this.#inbox = new Inbox({
      clock: this.#clock,
      ack: (through) => this.#connection.call('ack', { through }),
      handle: (event) => this.#dispatch(event),
      settled: () => this.#unreadable.flush(),
      failed: (error) =>
        this.#warn(
          'Acknowledging what arrived failed; it comes again at the next connection.',
          error,
        ),
    });
  }

  /** Opens the device's stored state (nothing is sent until resume, signin or signup). */
  static async open(options: ClientOptions): Promise<CipherlineClient> {
    const state = await DeviceState.open(options.store);
    const client = new CipherlineClient(options, state);
    client.#device = await state.device();
    if (await client.#keys.load()) client.#setReady();
    return client;
  }

  /**
   * Every event of the session. A listener may answer a promise for what it keeps of an event:
   * the session acknowledges what arrived only after such promises settle (events.ts `deliver`).
   */
  subscribe(listener: ClientEventListener): () => void {
    return this.#events.subscribe(listener);
  }

  /** Signed in on this device earlier (keys and a session token kept): `resume()` works. */
  get canResume(): boolean {
    return this.#device?.token !== undefined && this.#keys.hasKeys;
  }

  /** The account and device, once signed in. */
  whoami(): { readonly userId: string; readonly deviceId: string; readonly url: string } {
    const device = this.#requireDevice();
    return { userId: device.userId, deviceId: device.deviceId, url: this.#options.url };
  }

  // ------------------------------------------------------------------ sessions

  /**
   * A new account: the password must be strong (WEAK_PASSWORD otherwise). With `recoveryKey`, the
   * key backup is sealed with a new random recovery key instead of the password, returned once
   * here for the UI to show (it is never stored or sent).
   */
  async signup(input: {
    readonly username: string;
    readonly password: string;
    readonly recoveryKey?: boolean;
  }): Promise<{ readonly userId: string; readonly recoveryKey?: string }> {
    const userId = userIdOf(input.username);
    const account = await newAccountKeys(userId, input.password, this.#options);
    await this.#startSession({ kind: 'signup', username: userId, authKey: account.authKey });
    const recoveryKey = input.recoveryKey ? newRecoveryKey() : undefined;
    const backup = recoveryKey
      ? { keyKind: 'recovery-key' as const, backupKey: await recoveryBackupKey(recoveryKey) }
      : { keyKind: 'password' as const, backupKey: account.backupKey };
    await this.#keys.adopt(await generateLocalKeys(userId, this.#clock.now()), backup);
    await this.#keys.publishIfNeeded(); // backup first, then the bundle
    this.#setReady();
    return { userId, ...(recoveryKey && { recoveryKey }) };
  }

  /**
   * Signs in. On a device without this account's keys they are restored from the backup: with
   * the password, or `recoveryKey` when the backup is sealed with one (RECOVERY_KEY_NEEDED when
   * it is and none was given; WRONG_PASSWORD when it does not open). A wrong username or
   * password is the server's INVALID_CREDENTIALS.
   */
  async signin(input: {
    readonly username: string;
    readonly password: string;
    readonly recoveryKey?: string;
  }): Promise<{ readonly userId: string; readonly restored: boolean }> {
    const userId = userIdOf(input.username);
    if (input.password === '') throw new CipherlineError('INVALID_INPUT', 'Type the password.');
    const account = await deriveAccountKeys(
      userId,
      input.password,
      this.#options.kdfCost,
      this.#options.kdf,
    );
    if (this.#device && this.#device.userId !== userId)
      throw new CipherlineError(
        'INVALID_INPUT',
        `This device holds the data of ${this.#device.userId}: sign out first, or use another data folder.`,
      );
    await this.#startSession({ kind: 'signin', username: userId, authKey: account.authKey });
    if (this.#keys.hasKeys) {
      this.#setReady();
      return { userId, restored: false };
    }
    try {
      await this.#restore(account.backupKey, input.recoveryKey);
    } catch (error) {
      this.#connection.stop();
      throw asCipherlineError(error);
    }
    this.#setReady();
    return { userId, restored: true };
  }

  /** Continues the session kept on this device (resolves once online; UNAUTHENTICATED if it ended). */
  async resume(): Promise<void> {
    if (!this.canResume)
      throw new CipherlineError('NO_KEYS', 'Nobody is signed in on this device: sign in first.');
    await this.#startSession({ kind: 'resume' });
  }

  async #startSession(plan: AuthPlan): Promise<void> {
    this.#plan = plan;
    const authenticated = new Promise<void>((resolve, reject) => {
      this.#firstAuth = { resolve, reject };
    });
    this.#connection.start();
    await authenticated;
  }

  async #authenticate(rpc: Connection['rpc']): Promise<SessionReply> {
    const plan = this.#plan;
    const deviceId = this.#device?.deviceId ?? newDeviceId();
    let reply: SessionReply;
    switch (plan.kind) {
      case 'signup':
      case 'signin':
        reply = await rpc.request(plan.kind, {
          username: plan.username,
          authKey: toBase64(plan.authKey),
          deviceId,
          ...(plan.kind === 'signin' &&
            this.#device?.credential && { deviceCredential: this.#device.credential }),
        });
        break;
      case 'resume': {
        const token = this.#device?.token;
        if (!token)
          throw new ServerError('UNAUTHENTICATED', 'No session is kept on this device: sign in.');
        reply = await rpc.request('resume', { token, deviceId });
        break;
      }
      default: {
        return missingCase(plan, new CipherlineError('PROTOCOL', `unknown plan ${String(plan)}`));
      }
    }
    const userId = typeof reply.userId === 'string' ? reply.userId : undefined;
    const token = typeof reply.token === 'string' ? reply.token : undefined;
    if (!userId || !token)
      throw new CipherlineError('PROTOCOL', 'The server’s session reply lacks its user or token.');
    const credential =
      typeof reply.deviceCredential === 'string'
        ? reply.deviceCredential
        : this.#device?.credential;
    this.#device = {
      ...this.#device,
      userId,
      deviceId,
      token,
      ...(typeof reply.expiresAt === 'number' && { tokenExpiresAt: reply.expiresAt }),
      ...(credential && { credential }),
    };
    await this.#state.setDevice(this.#device);
    this.#plan = { kind: 'resume' }; // every later connection resumes this session
    return reply;
  }

  async #afterAuthentication(reply: SessionReply): Promise<void> {
    this.#firstAuth?.resolve();
    this.#firstAuth = undefined;
    await Promise.race([this.#ready, this.#closing]);
    if (this.#isClosing) return;
    try {
      await this.#keys.publishIfNeeded();
      await this.#keys.rotateIfDue();
    } catch (error) {
      this.#warn(
        'The signed prekey could not be rotated or published; it is tried again later.',
        error,
      );
    }
    this.#scheduleDaily();
    if (!this.#resumedTransfers) {
      this.#resumedTransfers = true;
      await this.#state.seen.prune(this.#clock.now() - INBOX_RETENTION_MS).catch(() => undefined);
      await this.#transfers.resume();
    }
    if (reply.page !== undefined) {
      try {
        await this.#inbox.onPage(readPage(reply.page));
      } catch (error) {
        this.#warn(
          'Catching up with the server failed; it is tried again at the next connection.',
          error,
        );
      }
    }
  }

  async #restore(passwordBackupKey: Uint8Array, recoveryKey?: string): Promise<void> {
    let blob: Uint8Array;
    try {
      ({ sealed: blob } = await readStoredBackup(this.#backupTransport));
    } catch (error) {
      if (error instanceof ServerError && error.code === 'NOT_FOUND')
        throw new CipherlineError(
          'NO_KEYS',
          'This account has no key backup (its first device never finished setting up), so its keys cannot be restored here.',
        );
      throw error;
    }
    const { keyKind } = await peekBackup(blob);
    if (keyKind === 'recovery-key' && recoveryKey === undefined)
      throw new CipherlineError(
        'RECOVERY_KEY_NEEDED',
        'This account’s keys are sealed with its recovery key: type the 64-digit recovery key to restore them.',
      );
    const backupKey =
      keyKind === 'password' ? passwordBackupKey : await recoveryBackupKey(recoveryKey!);
    let opened;
    try {
      opened = await openBackup(backupKey, blob);
    } catch (error) {
      const failure = asCipherlineError(error);
      if (failure.cryptoCode === 'WRONG_PASSWORD')
        throw new CipherlineError(
          'WRONG_PASSWORD',
          keyKind === 'password'
            ? 'The password signs in but does not open the key backup (it was altered, or sealed before a password change).'
            : 'That recovery key does not open the key backup: check the 64 digits.',
        );
      throw failure;
    }
    await this.#keys.restore({ ...opened.contents, ...opened }, { keyKind, backupKey });
  }

  /** Ends the session here: the server revokes it, and this device forgets everything. */
  async signout(): Promise<void> {
    try {
      await this.#connection.call('signout', {});
    } catch (error) {
      // The server closes the connection as it answers; a lost reply is still a sign-out.
      if (!(error instanceof CipherlineError) || error.code !== 'OFFLINE') throw error;
    }
    await this.close();
    await this.#options.store.clear();
  }

  /** Stops the connection and the workers; the device keeps its state for the next resume. */
  async close(): Promise<void> {
    this.#isClosing = true;
    this.#setClosing();
    // What is being handled finishes first (its store writes and replies), then the socket goes.
    this.#inbox.stop();
    await this.#afterAuth;
    await this.#inbox.idle();
    if (this.#connection.status === 'online') await this.#flushBackup();
    this.#cancelBackup?.();
    this.#cancelDaily?.();
    this.#connection.stop();
    await this.#cipher?.close();
    this.#cipher = undefined;
  }

  /** Waits until everything received so far is handled and downloaded (tests, a clean exit). */
  async idle(): Promise<void> {
    await this.#inbox.idle();
    await this.#transfers.idle();
  }

  #ended(error: CipherlineError): void {
    if (this.#firstAuth) {
      this.#firstAuth.reject(error);
      this.#firstAuth = undefined;
      return;
    }
    this.#events.emit({ type: 'session-ended', error });
  }

  // ------------------------------------------------------------------ account commands

  async devices(): Promise<DeviceInfo[]> {
    const reply = await this.#connection.call<'devices', DevicesListReply>('devices', {
      op: 'list',
    });
    return reply.devices;
  }

  /** Signs another device of this account out for good; this device's prekey is rotated so the
   * removed one cannot open what is sent from now on (change the password too: the backup). */
  async removeDevice(deviceId: string): Promise<void> {
    if (deviceId === this.#device?.deviceId)
      throw new CipherlineError('INVALID_INPUT', 'That is this device: sign out instead.');
    await this.#connection.call('devices', { op: 'remove', deviceId });
    await this.#keys.rotateIfDue({ force: true });
  }

  async changePassword(current: string, next: string): Promise<void> {
    const { userId } = this.#requireDevice();
    const fresh = await newAccountKeys(userId, next, this.#options);
    const old = await deriveAccountKeys(userId, current, this.#options.kdfCost, this.#options.kdf);
    const reply = await this.#connection.call('password', {
      authKey: toBase64(old.authKey),
      newAuthKey: toBase64(fresh.authKey),
    });
    if (reply.deviceCredential && this.#device) {
      this.#device = { ...this.#device, credential: reply.deviceCredential };
      await this.#state.setDevice(this.#device);
    }
    const backup = await this.#state.backup();
    if (backup?.keyKind === 'password')
      await this.#keys.writeBackup({ keyKind: 'password', backupKey: fresh.backupKey });
  }

  async block(user: string): Promise<readonly string[]> {
    const reply = await this.#connection.call('block', {
      op: 'add',
      userId: userIdOf(user),
    });
    return reply.blocked;
  }

  async unblock(user: string): Promise<readonly string[]> {
    const reply = await this.#connection.call('block', {
      op: 'remove',
      userId: userIdOf(user),
    });
    return reply.blocked;
  }

  async blocked(): Promise<readonly string[]> {
    return (await this.#connection.call('block', { op: 'list' })).blocked;
  }

  // ------------------------------------------------------------------ contacts and messages

  /** The contacts whose keys this account has pinned, with a pending key change flagged. */
  async contacts(): Promise<
    { readonly userId: string; readonly pinnedAt: number; readonly keyChanged: boolean }[]
  > {
    const pins = await this.#state.pins();
    return Promise.all(
      [...pins].map(async ([userId, pin]) => ({
        userId,
        pinnedAt: pin.acceptedAt,
        keyChanged: (await this.#state.keyChange(userId)) !== undefined,
      })),
    );
  }

  safetyNumber(user: string): Promise<SafetyNumberView> {
    return this.#contacts.safetyNumber(userIdOf(user));
  }

  acceptKeyChange(user: string): Promise<void> {
    return this.#contacts.acceptKeyChange(userIdOf(user));
  }

  sendText(to: string, text: string): Promise<SentMessage> {
    return this.#direct.sendText(to, text);
  }

  sendFile(to: string, file: FileSource, options?: SendFileOptions): Promise<SentMessage> {
    return this.#direct.sendFile(to, file, options);
  }

  get groups(): Groups {
    return this.#groups;
  }

  // ------------------------------------------------------------------ internals

  async #dispatch(event: Json): Promise<void> {
    await this.#ready;
    try {
      switch (event.type) {
        case 'message':
          return await this.#direct.receive(event);
        case 'receipt':
          return await receiveReceipt(event, { state: this.#state, events: this.#events });
        case 'group-message':
        case 'key-share':
        case 'epoch':
        case 'member-joined':
        case 'member-left':
          return await this.#groups.receive(event);
        default:
          return; // an event this client does not know yet: nothing to do
      }
    } catch (error) {
      this.#warn(`An incoming ${String(event.type)} could not be handled.`, error);
    }
  }

  /** A pin changed: write the backup soon (one write for a burst of new contacts). */
  #cancelBackup: (() => void) | undefined;
  #backupSoon(): void {
    if (this.#cancelBackup) return;
    this.#cancelBackup = this.#clock.setTimer(1_000, () => void this.#flushBackup());
  }

  async #flushBackup(): Promise<void> {
    if (!this.#cancelBackup) return;
    this.#cancelBackup();
    this.#cancelBackup = undefined;
    await this.#keys
      .writeBackup()
      .catch((error: unknown) =>
        this.#warn(
          'The key backup could not be updated; it is tried again with the next change.',
          error,
        ),
      );
  }

  #scheduleDaily(): void {
    this.#cancelDaily?.();
    this.#cancelDaily = this.#clock.setTimer(DAY_MS, () => {
      void this.#keys
        .rotateIfDue()
        .catch((error: unknown) => this.#warn('The daily prekey rotation failed.', error))
        .finally(() => this.#scheduleDaily());
      void this.#state.seen.prune(this.#clock.now() - INBOX_RETENTION_MS).catch(() => undefined);
    });
  }

  #warn(message: string, error: unknown): void {
    this.#events.emit({ type: 'warning', message, error: asCipherlineError(error) });
  }

  #requireDevice(): DeviceRecord {
    if (!this.#device) throw new CipherlineError('NO_KEYS', 'Nobody is signed in on this device.');
    return this.#device;
  }
}

/** Account keys for a new password; a weak one is WEAK_PASSWORD with zxcvbn's reason. */
async function newAccountKeys(
  userId: string,
  password: string,
  options: Pick<ClientOptions, 'kdfCost' | 'kdf'>,
) {
  try {
    return await deriveNewAccountKeys(userId, password, options.kdfCost, options.kdf);
  } catch (error) {
    if (error instanceof CryptoError && error.code === 'WEAK_PASSWORD')
      throw new CipherlineError('WEAK_PASSWORD', `Choose a stronger password: ${error.message}.`);
    throw asCipherlineError(error);
  }
}

function newDeviceId(): string {
  return `d-${globalThis.crypto.randomUUID()}`;
}
