import { GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { fromTtl, isLive, toTtl } from './dynamo-common';
import type { Session, SessionStore } from './ports';

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
    if (!Item || !isLive(Item, now)) return undefined;
    return { ...(Item as Session), expiresAt: fromTtl(Item.expiresAt as number) };
  }
}
