/**
 * The stores a handler's core works with, built on first use (cold start) from the environment.
 * Lazy, so a Lambda only needs the table names of the stores its route really touches.
 */
import { DynamoConnectionStore } from '../stores/dynamo-connections';
import { DynamoCounterStore } from '../stores/dynamo-counters';
import { DynamoInboxStore } from '../stores/dynamo-inbox';
import { DynamoSessionStore } from '../stores/dynamo-sessions';
import { DynamoUserStore } from '../stores/dynamo-users';
import type {
  ConnectionStore,
  CounterStore,
  InboxStore,
  SessionStore,
  UserStore,
} from '../stores/ports';
import { dynamo } from './aws';
import { tableName } from './env';

export interface ServerDeps {
  readonly users: UserStore;
  readonly sessions: SessionStore;
  readonly connections: ConnectionStore;
  readonly inbox: InboxStore;
  readonly counters: CounterStore;
  now(): number;
}

class EnvironmentDeps implements ServerDeps {
  private cache = new Map<string, unknown>();

  private once<T>(name: string, make: () => T): T {
    if (!this.cache.has(name)) this.cache.set(name, make());
    return this.cache.get(name) as T;
  }

  get users() {
    return this.once('users', () => new DynamoUserStore(dynamo(), tableName('users')));
  }
  get sessions() {
    return this.once('sessions', () => new DynamoSessionStore(dynamo(), tableName('sessions')));
  }
  get connections() {
    return this.once(
      'connections',
      () => new DynamoConnectionStore(dynamo(), tableName('connections')),
    );
  }
  get inbox() {
    return this.once(
      'inbox',
      () => new DynamoInboxStore(dynamo(), tableName('inbox'), tableName('counters')),
    );
  }
  get counters() {
    return this.once('counters', () => new DynamoCounterStore(dynamo(), tableName('counters')));
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
