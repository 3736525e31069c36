/**
 * One identity on several devices (DESIGN.md section 4, "Several devices of one account"), kept in
 * step through the key backup:
 *
 * - Writing: the backup names the version it replaces (`put-backup`, compare and swap). When
 *   another device wrote first (CONFLICT), the stored backup is opened, merged with mine
 *   (mergeBackups: its prekey wins for one id, the newest current prekey is kept, pins by time
 *   of acceptance), adopted here, and written again on top. After each write, a signed note to
 *   self tells my other devices its version and hash.
 * - Reading: a note announcing a newer version, or a message sealed to a prekey id this device
 *   does not hold, makes the device refresh from the backup (refusing one older than it saw).
 *   Every head known from anywhere goes through findBackupFork; a fork raises `backup-fork`.
 * - Prekeys: rotation goes into the backup before it is published; the `keys` route refuses a
 *   prekey not newer than the published one, and then this device takes the backup's instead.
 */
import { toBase64 } from '../../protocol/bytes';
import {
  FIRST_BACKUP,
  nextLineage,
  openBackup,
  sealBackup,
  type BackupContents,
  type BackupHead,
} from '../crypto/backup';
import {
  findBackupFork,
  mergeBackups,
  openBackupNote,
  sealBackupNote,
} from '../crypto/backup-sync';
import {
  bundleFromWire,
  bundleToWire,
  currentSignedPrekey,
  publicBundle,
  rotateSignedPrekeyIfDue,
  type LocalKeys,
  type LocalSignedPrekey,
} from '../crypto/keys';
import type { KeysFetchReply } from '../../protocol/commands';
import { backupFields, readStoredBackup } from './backup-transport';
import type { BackupState, DeviceState } from './device-state';
import { CipherlineError, ServerError, asCipherlineError } from './errors';
import type { EventStream } from './events';
import type { BlobHttp, Clock } from './ports';
import type { CallServer } from './rpc';
import { Serial } from './serial';

export interface KeySyncDeps {
  readonly state: DeviceState;
  readonly call: CallServer<'keys' | 'send' | 'upload'>;
  readonly http: BlobHttp;
  readonly clock: Clock;
  readonly events: EventStream;
}

const MAX_WRITE_ATTEMPTS = 5;

export class KeySync {
  #keys: LocalKeys | undefined;
  readonly #serial = new Serial();

  constructor(private readonly deps: KeySyncDeps) {}

  get keys(): LocalKeys {
    if (!this.#keys) throw new CipherlineError('NO_KEYS', 'This device has no keys yet: sign in.');
    return this.#keys;
  }

  get hasKeys(): boolean {
    return this.#keys !== undefined;
  }

  async load(): Promise<boolean> {
    this.#keys = await this.deps.state.keys();
    return this.#keys !== undefined;
  }

  /** A new identity's first keys (signup): stored here, backed up, then published. */
  async adopt(keys: LocalKeys, backup: Pick<BackupState, 'keyKind' | 'backupKey'>): Promise<void> {
    await this.#setKeys(keys);
    // Version 0: no backup written yet (the first write is version 1, replacing nothing).
    await this.deps.state.setBackup({
      ...backup,
      version: 0,
      hash: FIRST_BACKUP.previousHash,
      previousHash: FIRST_BACKUP.previousHash,
    });
  }

  /** Restores this device from the opened backup (a new device signing in). */
  async restore(
    opened: BackupContents & BackupHead,
    backup: Pick<BackupState, 'keyKind' | 'backupKey'>,
  ): Promise<void> {
    for (const [userId, pin] of opened.pinnedContacts) await this.deps.state.setPin(userId, pin);
    await this.#setKeys(opened.keys);
    await this.deps.state.setBackup({
      version: opened.version,
      hash: opened.hash,
      previousHash: opened.previousHash,
      ...backup,
    });
    const device = await this.deps.state.device();
    if (device)
      await this.deps.state.setDevice({
        ...device,
        publishedPrekeyId: currentSignedPrekey(opened.keys).id,
      });
  }

  /** Writes the backup (CAS, merging on conflict) and announces it; `backupKey` re-seals under a new key. */
  writeBackup(rekey?: Pick<BackupState, 'keyKind' | 'backupKey'>): Promise<BackupHead> {
    return this.#serial.run(() => this.#writeBackup(rekey));
  }

  async #writeBackup(rekey?: Pick<BackupState, 'keyKind' | 'backupKey'>): Promise<BackupHead> {
    for (let attempt = 1; attempt <= MAX_WRITE_ATTEMPTS; attempt++) {
      const state = await this.#backupState();
      const sealWith = rekey ?? state;
      const head = state.version === 0 ? undefined : state;
      const lineage = head ? nextLineage(head) : FIRST_BACKUP;
      const sealed = await sealBackup(
        sealWith.backupKey,
        { keys: this.keys, pinnedContacts: await this.deps.state.pins() },
        lineage,
        sealWith.keyKind,
      );
      // Inline, or (above about 170 pinned contacts) uploaded first and named by reference.
      const backup = await backupFields(this.deps, sealed.blob);
      try {
        await this.deps.call(
          'keys',
          {
            op: 'put-backup',
            ...backup,
            version: lineage.version,
            replaces: head?.version ?? 0,
          },
          { retry: true },
        );
      } catch (error) {
        if (!(error instanceof ServerError) || error.code !== 'CONFLICT') throw error;
        await this.#mergeStored();
        continue;
      }
      const written = {
        version: sealed.version,
        hash: sealed.hash,
        previousHash: sealed.previousHash,
      };
      await this.deps.state.setBackup({ ...written, ...sealWith });
      await this.#announce(written);
      return written;
    }
    throw new CipherlineError(
      'CONFLICT',
      'Other devices of this account keep changing the key backup; try again in a moment.',
    );
  }

  /** The stored backup, merged into this device's keys and pins (it becomes my last seen head). */
  async #mergeStored(): Promise<void> {
    const state = await this.#backupState();
    const stored = await readStoredBackup(this.deps);
    let opened;
    try {
      opened = await openBackup(state.backupKey, stored.sealed, {
        ...(state.version > 0 && { lastSeenVersion: state.version }),
      });
    } catch (error) {
      const failure = asCipherlineError(error);
      if (failure.cryptoCode === 'WRONG_PASSWORD')
        throw new CipherlineError(
          'WRONG_PASSWORD',
          'The key backup is sealed with another password or recovery key (changed on another device?): sign in again.',
        );
      throw failure;
    }
    await this.#checkFork(opened);
    const merged = mergeBackups(
      { keys: this.keys, pinnedContacts: await this.deps.state.pins() },
      opened.contents,
    );
    for (const [userId, pin] of merged.pinnedContacts) {
      const mine = await this.deps.state.pin(userId);
      if (!mine || mine.acceptedAt !== pin.acceptedAt) await this.deps.state.setPin(userId, pin);
    }
    await this.#setKeys(adoptPrekeys(this.keys, merged.keys, this.deps.clock.now()));
    await this.deps.state.setBackup({
      version: opened.version,
      hash: opened.hash,
      previousHash: opened.previousHash,
      keyKind: state.keyKind,
      backupKey: state.backupKey,
    });
  }

  /** Refresh from the stored backup (a newer version was announced, or an unknown prekey met). */
  refresh(): Promise<void> {
    return this.#serial.run(() => this.#mergeStored());
  }

  /** A note to self from another device: remember its head, check for a fork, refresh if newer. */
  async onNote(envelope: Uint8Array, from: string): Promise<void> {
    const head = await openBackupNote({
      envelope,
      me: this.keys,
      authenticatedSenderId: from,
      seen: this.deps.state.seen,
      now: this.deps.clock.now(),
    });
    await this.deps.state.addAnnouncedHead(head);
    await this.#checkFork(head);
    if (head.version > (await this.#backupState()).version) await this.refresh();
  }

  /** Rotates the signed prekey when due (or now, `force`): into the backup first, then published. */
  rotateIfDue(options: { readonly force?: boolean } = {}): Promise<boolean> {
    return this.#serial.run(async () => {
      const result = await rotateSignedPrekeyIfDue(this.keys, this.deps.clock.now(), options);
      if (!result.rotated && result.deletedIds.length === 0) return false;
      await this.#setKeys(result.keys);
      if (!result.rotated) return false;
      await this.#writeBackup();
      await this.#publish();
      return true;
    });
  }

  /** Publishes the current prekey unless it is published already (after a crash in between). */
  publishIfNeeded(): Promise<void> {
    return this.#serial.run(async () => {
      const device = await this.deps.state.device();
      if (device?.publishedPrekeyId === currentSignedPrekey(this.keys).id) return;
      const state = await this.deps.state.backup();
      if (!state || state.version === 0) await this.#writeBackup();
      await this.#publish();
    });
  }

  async #publish(): Promise<void> {
    const bundle = bundleToWire(publicBundle(this.keys));
    try {
      await this.deps.call('keys', { op: 'publish', bundle }, { retry: true });
    } catch (error) {
      if (!(error instanceof ServerError) || error.code !== 'CONFLICT') throw error;
      // Published already (a retry), or another device's newer prekey won: take the backup's.
      const served = await this.deps.call<'keys', KeysFetchReply>('keys', {
        op: 'fetch',
        userId: this.keys.userId,
      });
      const published = bundleFromWire(served.bundle);
      if (published.signedPrekey.id !== bundle.signedPrekey.id) await this.#mergeStored();
    }
    const device = await this.deps.state.device();
    if (device)
      await this.deps.state.setDevice({
        ...device,
        publishedPrekeyId: currentSignedPrekey(this.keys).id,
      });
  }

  /** A `backup-fork` event when `head` does not fit the chain this device knows (a server that
   * withholds or splits backups); the device goes on with the newest backup either way. */
  async #checkFork(head: BackupHead): Promise<void> {
    const state = await this.deps.state.backup();
    const heads = [...(await this.deps.state.announcedHeads()), head];
    if (state && state.version > 0) heads.push(state);
    const fork = findBackupFork(heads);
    if (fork) this.deps.events.emit({ type: 'backup-fork', version: fork.version, why: fork.why });
  }

  async #announce(head: BackupHead): Promise<void> {
    try {
      const note = await sealBackupNote(this.keys, head, this.deps.clock.now());
      await this.deps.call(
        'send',
        { to: this.keys.userId, messageId: note.messageId, envelope: toBase64(note.envelope) },
        { retry: true },
      );
    } catch (error) {
      this.deps.events.emit({
        type: 'warning',
        message: 'Could not tell this account’s other devices about the new key backup.',
        error: asCipherlineError(error),
      });
    }
  }

  async #backupState(): Promise<BackupState> {
    const state = await this.deps.state.backup();
    if (!state) throw new CipherlineError('NO_KEYS', 'This device holds no backup key: sign in.');
    return state;
  }

  async #setKeys(keys: LocalKeys): Promise<void> {
    await this.deps.state.setKeys(keys);
    this.#keys = keys;
  }
}

/**
 * This device's keys after a merge: the merged current prekey becomes current; every prekey this
 * device held stays (retired ones until their grace period ends, so messages sealed to them still
 * open); a current one that lost is retired now.
 */
export function adoptPrekeys(local: LocalKeys, merged: LocalKeys, now: number): LocalKeys {
  const winner = currentSignedPrekey(merged);
  const kept: LocalSignedPrekey[] = local.signedPrekeys
    .filter((prekey) => prekey.id !== winner.id)
    .map((prekey) =>
      prekey.supersededAt === undefined ? { ...prekey, supersededAt: now } : prekey,
    );
  return { ...local, signedPrekeys: [...kept, winner] };
}
