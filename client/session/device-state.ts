/**
 * What one device keeps between runs, on its KeyValueStore (sealed at rest in the browser; a
 * private file in Node). Records, JSON unless noted:
 *
 *   device              {userId, deviceId, token?, tokenExpiresAt?, credential?, published}
 *   keys                the private keys (exportLocalKeys bytes, retired prekeys included)
 *   backup              {version, hash, previousHash, keyKind, backupKey}: the last backup this
 *                       device wrote or read, and the key that seals it (as secret as `keys`)
 *   backup-heads/<v>    heads other devices announced in notes to self (fork detection)
 *   pins/<user>         a contact's pinned identity keys and when they were accepted
 *   bundles/<user>      a contact's last fetched bundle and when
 *   key-changes/<user>  a contact's new identity keys, not accepted (SAFETY ... ACCEPT)
 *   groups/<group>      my epochs of a group: statements and keys (keys are secret)
 *   waiting/<group>/<n> a group event held until its key arrives (the page was acked)
 *   downloads/<id>      a received file not yet saved (resumed at the next start)
 *   seen/<key>          the seen-id store (persistent-seen-store.ts)
 */
import { fromBase64, toBase64 } from '../../protocol/bytes';
import {
  decodeStatement,
  encodeStatement,
  type GroupStatement,
} from '../../protocol/group-statement';
import type { BackupHead, BackupKeyKind, PinnedContact } from '../crypto/backup';
import type { GroupEpoch, GroupView } from '../crypto/group';
import {
  exportLocalKeys,
  importLocalKeys,
  type LocalKeys,
  type PublicBundleWire,
} from '../crypto/keys';
import type { KeyValueStore } from './ports';
import { PersistentSeenStore } from './persistent-seen-store';

export interface DeviceRecord {
  readonly userId: string;
  readonly deviceId: string;
  readonly token?: string;
  readonly tokenExpiresAt?: number;
  readonly credential?: string;
  /** The current prekey is published (the `keys` route accepted this bundle). */
  readonly publishedPrekeyId?: number;
}

export interface BackupState extends BackupHead {
  readonly keyKind: BackupKeyKind;
  /** The key the backup is sealed with (from the password or a recovery key). */
  readonly backupKey: Uint8Array;
}

export interface CachedBundle {
  readonly bundle: PublicBundleWire;
  readonly fetchedAt: number;
}

/** A group event kept until its epoch's key arrives: the server event as it came. */
export interface WaitingEvent {
  readonly groupId: string;
  readonly epoch: number;
  readonly event: Record<string, unknown>;
  readonly keptAt: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const toJson = (value: unknown): Uint8Array => encoder.encode(JSON.stringify(value));
const fromJson = <T>(bytes: Uint8Array | undefined): T | undefined =>
  bytes === undefined ? undefined : (JSON.parse(decoder.decode(bytes)) as T);

interface StoredHead {
  version: number;
  hash: string;
  previousHash: string;
}
const headToJson = (head: BackupHead): StoredHead => ({
  version: head.version,
  hash: toBase64(head.hash),
  previousHash: toBase64(head.previousHash),
});
const headFromJson = (stored: StoredHead): BackupHead => ({
  version: stored.version,
  hash: fromBase64(stored.hash),
  previousHash: fromBase64(stored.previousHash),
});

interface StoredEpoch {
  statement: string;
  hash: string;
  groupKey: string;
}

export class DeviceState {
  private constructor(
    readonly store: KeyValueStore,
    readonly seen: PersistentSeenStore,
  ) {}

  static async open(store: KeyValueStore): Promise<DeviceState> {
    return new DeviceState(store, await PersistentSeenStore.open(store));
  }

  async #get<T>(key: string): Promise<T | undefined> {
    return fromJson<T>(await this.store.get(key));
  }

  #set(key: string, value: unknown): Promise<void> {
    return this.store.set(key, toJson(value));
  }

  // ------------------------------------------------------------------ device and keys

  device(): Promise<DeviceRecord | undefined> {
    return this.#get<DeviceRecord>('device');
  }

  setDevice(record: DeviceRecord): Promise<void> {
    return this.#set('device', record);
  }

  async keys(): Promise<LocalKeys | undefined> {
    const bytes = await this.store.get('keys');
    return bytes && importLocalKeys(bytes);
  }

  async setKeys(keys: LocalKeys): Promise<void> {
    await this.store.set('keys', await exportLocalKeys(keys));
  }

  // ------------------------------------------------------------------ backup

  async backup(): Promise<BackupState | undefined> {
    const stored = await this.#get<StoredHead & { keyKind: BackupKeyKind; backupKey: string }>(
      'backup',
    );
    return (
      stored && {
        ...headFromJson(stored),
        keyKind: stored.keyKind,
        backupKey: fromBase64(stored.backupKey),
      }
    );
  }

  setBackup(state: BackupState): Promise<void> {
    return this.#set('backup', {
      ...headToJson(state),
      keyKind: state.keyKind,
      backupKey: toBase64(state.backupKey),
    });
  }

  async announcedHeads(): Promise<BackupHead[]> {
    const heads: BackupHead[] = [];
    for (const key of await this.store.keys('backup-heads/')) {
      const stored = await this.#get<StoredHead>(key);
      if (stored) heads.push(headFromJson(stored));
    }
    return heads;
  }

  addAnnouncedHead(head: BackupHead): Promise<void> {
    return this.#set(`backup-heads/${String(head.version).padStart(12, '0')}`, headToJson(head));
  }

  // ------------------------------------------------------------------ contacts

  async pins(): Promise<Map<string, PinnedContact>> {
    const pins = new Map<string, PinnedContact>();
    for (const key of await this.store.keys('pins/')) {
      const pin = await this.pin(key.slice('pins/'.length));
      if (pin) pins.set(key.slice('pins/'.length), pin);
    }
    return pins;
  }

  async pin(userId: string): Promise<PinnedContact | undefined> {
    const stored = await this.#get<{
      identityDh: string;
      identitySign: string;
      acceptedAt: number;
    }>(`pins/${userId}`);
    return (
      stored && {
        identityDh: fromBase64(stored.identityDh),
        identitySign: fromBase64(stored.identitySign),
        acceptedAt: stored.acceptedAt,
      }
    );
  }

  setPin(userId: string, pin: PinnedContact): Promise<void> {
    return this.#set(`pins/${userId}`, {
      identityDh: toBase64(pin.identityDh),
      identitySign: toBase64(pin.identitySign),
      acceptedAt: pin.acceptedAt,
    });
  }

  bundle(userId: string): Promise<CachedBundle | undefined> {
    return this.#get<CachedBundle>(`bundles/${userId}`);
  }

  setBundle(userId: string, cached: CachedBundle): Promise<void> {
    return this.#set(`bundles/${userId}`, cached);
  }

  keyChange(userId: string): Promise<PublicBundleWire | undefined> {
    return this.#get<PublicBundleWire>(`key-changes/${userId}`);
  }

  setKeyChange(userId: string, bundle: PublicBundleWire): Promise<void> {
    return this.#set(`key-changes/${userId}`, bundle);
  }

  clearKeyChange(userId: string): Promise<void> {
    return this.store.delete(`key-changes/${userId}`);
  }

  // ------------------------------------------------------------------ groups

  async group(groupId: string): Promise<GroupView | undefined> {
    const stored = await this.#get<StoredEpoch[]>(`groups/${groupId}`);
    if (!stored) return undefined;
    const epochs: GroupEpoch[] = stored.map((entry) => {
      const statement: GroupStatement = decodeStatement(fromBase64(entry.statement));
      return {
        groupId,
        epoch: statement.epoch,
        statement,
        statementHash: fromBase64(entry.hash),
        members: statement.members.map((member) => member.userId),
        createdAt: statement.createdAt,
        groupKey: fromBase64(entry.groupKey),
      };
    });
    return { groupId, epochs };
  }

  setGroup(view: GroupView): Promise<void> {
    return this.#set(
      `groups/${view.groupId}`,
      view.epochs.map((epoch): StoredEpoch => ({
        statement: toBase64(encodeStatement(epoch.statement)),
        hash: toBase64(epoch.statementHash),
        groupKey: toBase64(epoch.groupKey),
      })),
    );
  }

  deleteGroup(groupId: string): Promise<void> {
    return this.store.delete(`groups/${groupId}`);
  }

  async groupIds(): Promise<string[]> {
    return (await this.store.keys('groups/')).map((key) => key.slice('groups/'.length));
  }

  // ------------------------------------------------------------------ held work

  addWaiting(id: string, waiting: WaitingEvent): Promise<void> {
    return this.#set(`waiting/${waiting.groupId}/${id}`, waiting);
  }

  async waiting(groupId: string): Promise<{ id: string; waiting: WaitingEvent }[]> {
    const prefix = `waiting/${groupId}/`;
    const found: { id: string; waiting: WaitingEvent }[] = [];
    for (const key of await this.store.keys(prefix)) {
      const waiting = await this.#get<WaitingEvent>(key);
      if (waiting) found.push({ id: key.slice(prefix.length), waiting });
    }
    return found;
  }

  deleteWaiting(groupId: string, id: string): Promise<void> {
    return this.store.delete(`waiting/${groupId}/${id}`);
  }

  addDownload(id: string, record: unknown): Promise<void> {
    return this.#set(`downloads/${id}`, record);
  }

  async downloads<T>(): Promise<{ id: string; record: T }[]> {
    const found: { id: string; record: T }[] = [];
    for (const key of await this.store.keys('downloads/')) {
      const record = await this.#get<T>(key);
      if (record) found.push({ id: key.slice('downloads/'.length), record });
    }
    return found;
  }

  deleteDownload(id: string): Promise<void> {
    return this.store.delete(`downloads/${id}`);
  }
}
