/**
 * The stores a handler's core works with, built on first use (cold start) from the environment.
 * Lazy, so a Lambda only needs the table names of the stores its route really touches.
 */
import { CachedConnectionStore } from '../stores/cached-connections';
import { DynamoConnectionStore } from '../stores/dynamo-connections';
import { DynamoCounterStore } from '../stores/dynamo-counters';
import { DynamoDeviceCursorStore } from '../stores/dynamo-device-cursors';
import { DynamoInboxStore } from '../stores/dynamo-inbox';
import { DynamoMailboxStore } from '../stores/dynamo-mailboxes';
import { DynamoSessionStore } from '../stores/dynamo-sessions';
import { DynamoDeviceStore } from '../stores/dynamo-devices';
import { DynamoUserStore } from '../stores/dynamo-users';
import { DynamoGroupStore } from '../stores/dynamo-groups';
import { DynamoGroupLogStore } from '../stores/dynamo-group-log';
import type { GroupLogStore, GroupStore } from '../stores/group-ports';
import type { BlobObjectStore, BlobStore } from '../stores/blob-ports';
import { DynamoBlobStore } from '../stores/dynamo-blobs';
import { S3BlobObjectStore } from '../stores/s3-blobs';
import type {
  ConnectionStore,
  CounterStore,
  DeviceStore,
  DeviceCursorStore,
  InboxStore,
  MailboxStore,
  SessionStore,
  UserStore,
} from '../stores/ports';
import { lazyClients, processClients, type AwsClients } from './aws';
import type { TableName } from '../../infra/resources';
import { bucketName, localAccessOf, tableName, type LocalFunctionAccess } from './env';
import { PRODUCTION_LIMITS, type ServerLimits } from '../core/limits';
import { localConfigurationOf, type LocalConfiguration } from './local-config';

export interface ServerDeps {
  readonly users: UserStore;
  readonly sessions: SessionStore;
  readonly devices: DeviceStore;
  readonly connections: ConnectionStore;
  readonly mailboxes: MailboxStore;
  readonly inbox: InboxStore;
  readonly counters: CounterStore;
  readonly deviceCursors: DeviceCursorStore;
  readonly groups: GroupStore;
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

  private table(table: TableName): string {
    return tableName(table, this.access?.environmentNames);
  }

  private once<T>(key: string, make: () => T): T {
    if (!this.cache.has(key)) this.cache.set(key, make());
    return this.cache.get(key) as T;
  }

  get users() {
    const table = this.table('users');
    return this.once(`users:${table}`, () => new DynamoUserStore(this.clients.dynamo, table));
  }
  get sessions() {
    const table = this.table('sessions');
    return this.once(`sessions:${table}`, () => new DynamoSessionStore(this.clients.dynamo, table));
  }
  get devices() {
    const table = this.table('devices');
    return this.once(`devices:${table}`, () => new DynamoDeviceStore(this.clients.dynamo, table));
  }
  get connections() {
    const table = this.table('connections');
    // Cached per container: a bound connection's user and device never change.
    return this.once(
      `connections:${table}`,
      () =>
        new CachedConnectionStore(new DynamoConnectionStore(this.clients.dynamoLowLevel, table)),
    );
  }
  get mailboxes() {
    const table = this.table('mailboxes');
    return this.once(
      `mailboxes:${table}`,
      () =>
        new DynamoMailboxStore(this.clients.dynamoLowLevel, table, () => this.table('counters')),
    );
  }
  get inbox() {
    const [inbox, counters] = [this.table('inbox'), this.table('counters')];
    return this.once(
      `inbox:${inbox}`,
      () => new DynamoInboxStore(this.clients.dynamoLowLevel, inbox, counters),
    );
  }
  get counters() {
    const table = this.table('counters');
    return this.once(`counters:${table}`, () => new DynamoCounterStore(this.clients.dynamo, table));
  }
  get deviceCursors() {
    const table = this.table('counters');
    return this.once(
      `deviceCursors:${table}`,
      () => new DynamoDeviceCursorStore(this.clients.dynamoLowLevel, table),
    );
  }
  get blobs() {
    const table = this.table('blobs');
    return this.once(
      `blobs:${table}`,
      () => new DynamoBlobStore(this.clients.dynamo, this.clients.dynamoLowLevel, table),
    );
  }
  get blobObjects() {
    const bucket = bucketName(this.access?.environmentNames);
    return this.once(
      `blobObjects:${bucket}`,
      () => new S3BlobObjectStore(this.clients.s3, bucket, this.clients.s3Signer),
    );
  }
  get groups() {
    // Resolves each table when it uses it, so the same check applies.
    return this.once(
      'groups',
      () => new DynamoGroupStore(this.clients.dynamo, (table) => this.table(table)),
    );
  }
  get groupLog() {
    const log = this.table('groupLog');
    return this.once(
      `groupLog:${log}`,
      () => new DynamoGroupLogStore(this.clients.dynamoLowLevel, log, () => this.table('counters')),
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
