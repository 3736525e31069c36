/**
 * The stores a handler's core works with, built on first use (cold start) from the environment.
 * Lazy, so a Lambda only needs the table names of the stores its route really touches.
 */
import { BLOB_BUCKET, S3BlobObjectStore, type BlobObjectStore } from '../stores/blob-objects';
import { DynamoBlobStore, type BlobStore } from '../stores/blobs';
import {
  CachedConnectionStore,
  DynamoConnectionStore,
  type ConnectionStore,
} from '../stores/connections';
import { DynamoDeviceCursorStore, type DeviceCursorStore } from '../stores/device-cursors';
import { DynamoDeviceStore, type DeviceStore } from '../stores/devices';
import { DynamoGroupEpochStore, type GroupEpochStore } from '../stores/group-epochs';
import { DynamoGroupLogStore, type GroupLogStore } from '../stores/group-log';
import { DynamoGroupStore, type GroupStore } from '../stores/groups';
import { DynamoInboxStore, type InboxStore } from '../stores/inbox';
import { DynamoMailboxStore, type MailboxStore } from '../stores/mailboxes';
import { DynamoMembershipStore, type MembershipStore } from '../stores/memberships';
import { DynamoRateLimitStore, type RateLimitStore } from '../stores/rate-limits';
import { DynamoSessionStore, type SessionStore } from '../stores/sessions';
import type { TableDefinition } from '../stores/table-definition';
import { DynamoUserStore, type UserStore } from '../stores/users';
import { TABLES } from '../tables';
import { lazyClients, processClients, type AwsClients } from './aws';
import { bucketName, localAccessOf, tableName, type LocalFunctionAccess } from './env';
import { PRODUCTION_LIMITS, type ServerLimits } from '../shared/limits';
import { localConfigurationOf, type LocalConfiguration } from './local-config';

export interface ServerDeps {
  readonly users: UserStore;
  readonly sessions: SessionStore;
  readonly devices: DeviceStore;
  readonly connections: ConnectionStore;
  readonly mailboxes: MailboxStore;
  readonly inbox: InboxStore;
  readonly rateLimits: RateLimitStore;
  readonly deviceCursors: DeviceCursorStore;
  readonly groups: GroupStore;
  readonly memberships: MembershipStore;
  readonly groupEpochs: GroupEpochStore;
  readonly groupLog: GroupLogStore;
  readonly blobs: BlobStore;
  readonly blobObjects: BlobObjectStore;
  /** The production limits in AWS; the local stack's own configuration locally. */
  readonly limits: ServerLimits;
  /** The key of the device-credential MACs (./secrets.ts), for the functions granted it. */
  deviceCredentialKey(): Promise<Uint8Array>;
  now(): number;
}

/**
 * Table names are resolved on every access (cheap), so a function that touches a table it was
 * not granted fails the same way locally as in AWS; the stores themselves are made once. Locally
 * each function has its own SDK clients, guarded by its grants (./env.ts).
 */
class EnvironmentDeps implements ServerDeps {
  private cache = new Map<string, unknown>();
  private readonly clients: AwsClients;

  readonly limits: ServerLimits;

  constructor(
    private readonly access: LocalFunctionAccess | undefined,
    private readonly local: LocalConfiguration | undefined,
    private readonly keyReader: DeviceCredentialKeyReader | undefined,
  ) {
    this.clients = access ? lazyClients((client) => access.guard(client)) : processClients;
    this.limits = local?.limits ?? PRODUCTION_LIMITS;
  }

  private table(table: TableDefinition): string {
    return tableName(table, this.access?.environmentNames);
  }

  private once<T>(key: string, make: () => T): T {
    if (!this.cache.has(key)) this.cache.set(key, make());
    return this.cache.get(key) as T;
  }

  get users() {
    const table = this.table(TABLES.users);
    return this.once(`users:${table}`, () => new DynamoUserStore(this.clients.dynamo, table));
  }
  get sessions() {
    const table = this.table(TABLES.sessions);
    return this.once(`sessions:${table}`, () => new DynamoSessionStore(this.clients.dynamo, table));
  }
  get devices() {
    const table = this.table(TABLES.devices);
    return this.once(`devices:${table}`, () => new DynamoDeviceStore(this.clients.dynamo, table));
  }
  get connections() {
    const table = this.table(TABLES.connections);
    // Cached per container: a bound connection's user and device never change.
    return this.once(
      `connections:${table}`,
      () =>
        new CachedConnectionStore(new DynamoConnectionStore(this.clients.dynamoLowLevel, table)),
    );
  }
  get mailboxes() {
    const table = this.table(TABLES.mailboxes);
    return this.once(
      `mailboxes:${table}`,
      () => new DynamoMailboxStore(this.clients.dynamoLowLevel, table),
    );
  }
  get inbox() {
    const inbox = this.table(TABLES.inbox);
    return this.once(
      `inbox:${inbox}`,
      () =>
        new DynamoInboxStore(this.clients.dynamoLowLevel, inbox, () =>
          this.table(TABLES.messageClaims),
        ),
    );
  }
  get rateLimits() {
    const table = this.table(TABLES.rateLimits);
    return this.once(
      `rateLimits:${table}`,
      () => new DynamoRateLimitStore(this.clients.dynamo, table),
    );
  }
  get deviceCursors() {
    const table = this.table(TABLES.deviceCursors);
    return this.once(
      `deviceCursors:${table}`,
      () => new DynamoDeviceCursorStore(this.clients.dynamoLowLevel, table),
    );
  }
  get blobs() {
    const table = this.table(TABLES.blobs);
    return this.once(
      `blobs:${table}`,
      () => new DynamoBlobStore(this.clients.dynamo, this.clients.dynamoLowLevel, table),
    );
  }
  get blobObjects() {
    const bucket = bucketName(BLOB_BUCKET, this.access?.environmentNames);
    return this.once(
      `blobObjects:${bucket}`,
      () => new S3BlobObjectStore(this.clients.s3, bucket, this.clients.s3Signer),
    );
  }
  get groups() {
    const table = this.table(TABLES.groups);
    return this.once(`groups:${table}`, () => new DynamoGroupStore(this.clients.dynamo, table));
  }
  get memberships() {
    const table = this.table(TABLES.members);
    return this.once(
      `memberships:${table}`,
      () => new DynamoMembershipStore(this.clients.dynamo, table),
    );
  }
  get groupEpochs() {
    const table = this.table(TABLES.groupEpochs);
    return this.once(
      `groupEpochs:${table}`,
      () => new DynamoGroupEpochStore(this.clients.dynamo, table),
    );
  }
  get groupLog() {
    const log = this.table(TABLES.groupLog);
    return this.once(
      `groupLog:${log}`,
      () =>
        new DynamoGroupLogStore(this.clients.dynamoLowLevel, log, () =>
          this.table(TABLES.messageClaims),
        ),
    );
  }
  deviceCredentialKey() {
    if (!this.keyReader)
      return Promise.reject(new Error('This function does not read the device-credential key'));
    return this.keyReader(this.local);
  }
  now() {
    return Date.now();
  }
}

/**
 * Reads the device-credential key (./secrets.ts). Handed over by the handlers of the routes that
 * use it, so the others do not bundle the Secrets Manager client.
 */
export type DeviceCredentialKeyReader = (
  local: LocalConfiguration | undefined,
) => Promise<Uint8Array>;

let processDeps: ServerDeps | undefined;
const localDeps = new WeakMap<LocalFunctionAccess, ServerDeps>();

/**
 * The stores for this invocation. In AWS, one set per container; locally, one per function, as
 * the local stack marks each invocation's context with its function's access (./env.ts) and
 * configuration (./local-config.ts), both made once per function when a stack starts.
 */
export function serverDeps(
  lambdaContext?: object,
  keyReader?: DeviceCredentialKeyReader,
): ServerDeps {
  const access = localAccessOf(lambdaContext);
  const local = localConfigurationOf(lambdaContext);
  if (!access) return (processDeps ??= new EnvironmentDeps(undefined, local, keyReader));
  let deps = localDeps.get(access);
  if (!deps) localDeps.set(access, (deps = new EnvironmentDeps(access, local, keyReader)));
  return deps;
}
