/**
 * The stores a handler's core works with, built on first use (cold start) from the environment.
 * Lazy, so a Lambda only needs the table names of the stores its route really touches.
 */
import { DynamoConnectionStore } from '../stores/dynamo-connections';
import { DynamoCounterStore } from '../stores/dynamo-counters';
import { DynamoInboxStore } from '../stores/dynamo-inbox';
import { DynamoSessionStore } from '../stores/dynamo-sessions';
import { DynamoUserStore } from '../stores/dynamo-users';
import { DynamoGroupStore } from '../stores/dynamo-groups';
import { DynamoGroupInboxStore } from '../stores/dynamo-group-inbox';
import type { GroupInboxStore, GroupStore } from '../stores/group-ports';
import type { BlobObjectStore, BlobStore } from '../stores/blob-ports';
import { DynamoBlobStore } from '../stores/dynamo-blobs';
import { S3BlobObjectStore } from '../stores/s3-blobs';
import type {
  ConnectionStore,
  CounterStore,
  InboxStore,
  SessionStore,
  UserStore,
} from '../stores/ports';
import { dynamo, dynamoLowLevel, s3 } from './aws';
import { bucketName, tableName } from './env';

export interface ServerDeps {
  readonly users: UserStore;
  readonly sessions: SessionStore;
  readonly connections: ConnectionStore;
  readonly inbox: InboxStore;
  readonly counters: CounterStore;
  readonly groups: GroupStore;
  readonly groupInbox: GroupInboxStore;
  readonly blobs: BlobStore;
  readonly blobObjects: BlobObjectStore;
  now(): number;
}

/**
 * Table names are resolved on every access (cheap), so a function that touches a table it was
 * not granted fails the same way locally as in AWS; the stores themselves are made once.
 */
class EnvironmentDeps implements ServerDeps {
  private cache = new Map<string, unknown>();

  private once<T>(key: string, make: () => T): T {
    if (!this.cache.has(key)) this.cache.set(key, make());
    return this.cache.get(key) as T;
  }

  get users() {
    const table = tableName('users');
    return this.once(`users:${table}`, () => new DynamoUserStore(dynamo(), table));
  }
  get sessions() {
    const table = tableName('sessions');
    return this.once(`sessions:${table}`, () => new DynamoSessionStore(dynamo(), table));
  }
  get connections() {
    const table = tableName('connections');
    return this.once(
      `connections:${table}`,
      () => new DynamoConnectionStore(dynamoLowLevel(), table),
    );
  }
  get inbox() {
    const [inbox, counters] = [tableName('inbox'), tableName('counters')];
    return this.once(
      `inbox:${inbox}`,
      () => new DynamoInboxStore(dynamo(), dynamoLowLevel(), inbox, counters),
    );
  }
  get counters() {
    const table = tableName('counters');
    return this.once(`counters:${table}`, () => new DynamoCounterStore(dynamo(), table));
  }
  get blobs() {
    const table = tableName('blobs');
    return this.once(
      `blobs:${table}`,
      () => new DynamoBlobStore(dynamo(), dynamoLowLevel(), table),
    );
  }
  get blobObjects() {
    const bucket = bucketName();
    return this.once(`blobObjects:${bucket}`, () => new S3BlobObjectStore(s3(), bucket));
  }
  get groups() {
    // Resolves each table when it uses it, so the same check applies.
    return this.once('groups', () => new DynamoGroupStore(dynamo(), (table) => tableName(table)));
  }
  get groupInbox() {
    const [inbox, counters] = [tableName('inbox'), tableName('counters')];
    return this.once(
      `groupInbox:${inbox}`,
      () => new DynamoGroupInboxStore(dynamoLowLevel(), inbox, counters),
    );
  }
  now() {
    return Date.now();
  }
}

let deps: ServerDeps | undefined;

export function serverDeps(): ServerDeps {
  deps ??= new EnvironmentDeps();
  return deps;
}
