/** Sessions (table `sessions`, key tokenHash): the SHA-256 of each token, never the token. */
import {
  DeleteCommand,
  GetCommand,
  PutCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import { conditionHolds, fromTtl, isLive, toTtl } from './dynamo-common';
import { S, type TableDefinition } from './table-definition';

/** Session tokens, stored as SHA-256 hashes with an expiry. */
export const sessionsTable = {
  envVar: 'TABLE_SESSIONS',
  partitionKey: S('tokenHash'),
  ttlAttribute: 'expiresAt',
} as const satisfies TableDefinition;

export interface Session {
  readonly tokenHash: string;
  readonly userId: string;
  readonly deviceId: string;
  /** When it was opened: a session counts only if its device's sessions started no later. */
  readonly issuedAt: number;
  readonly expiresAt: number;
}

export interface SessionStore {
  create(session: Session): Promise<void>;
  /** Sessions opened before `issuedAt` existed (none has it) read as absent: sign in again. */
  get(tokenHash: string, now: number): Promise<Session | undefined>;
  /** Moves the expiry (a resume); a session revoked meanwhile stays revoked. */
  slide(tokenHash: string, expiresAt: number): Promise<void>;
  revoke(tokenHash: string): Promise<void>;
}

export class DynamoSessionStore implements SessionStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async create(session: Session): Promise<void> {
    await this.db.send(
      new PutCommand({
        TableName: this.table,
        Item: { ...session, expiresAt: toTtl(session.expiresAt) },
        ConditionExpression: 'attribute_not_exists(tokenHash)',
      }),
    );
  }

  async get(tokenHash: string, now: number): Promise<Session | undefined> {
    const { Item } = await this.db.send(
      new GetCommand({ TableName: this.table, Key: { tokenHash }, ConsistentRead: true }),
    );
    if (!Item || !isLive(Item, now) || typeof Item.issuedAt !== 'number') return undefined;
    return { ...(Item as Session), expiresAt: fromTtl(Item.expiresAt as number) };
  }

  async slide(tokenHash: string, expiresAt: number): Promise<void> {
    // Only an existing session: a signout between the read and this write keeps it revoked.
    await conditionHolds(
      this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { tokenHash },
          UpdateExpression: 'SET expiresAt = :expires',
          ConditionExpression: 'attribute_exists(tokenHash)',
          ExpressionAttributeValues: { ':expires': toTtl(expiresAt) },
        }),
      ),
    );
  }

  async revoke(tokenHash: string): Promise<void> {
    await this.db.send(new DeleteCommand({ TableName: this.table, Key: { tokenHash } }));
  }
}
