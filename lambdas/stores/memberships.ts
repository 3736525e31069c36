/**
 * Membership rows (table `members`, key userId + groupId): each user's place in the log of each
 * group it is or was in, and the index behind "my groups".
 */
import {
  PutCommand,
  QueryCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import { conditionHolds } from './dynamo-common';
import { decodeCursor, encodeCursor, type Listing } from './group-cursors';
import { S, type TableDefinition } from './table-definition';

/** Per-user membership rows: the index behind "my groups". */
export const membersTable = {
  envVar: 'TABLE_MEMBERS',
  partitionKey: S('userId'),
  sortKey: S('groupId'),
} as const satisfies TableDefinition;

/** A user's place in a group's log: it reads from `joinSeq` to `leftSeq` (or on, while a member). */
export interface Membership {
  readonly groupId: string;
  readonly joinSeq: number;
  readonly leftSeq?: number;
  readonly leftAt?: number;
}

export interface MembershipStore {
  /** The user's membership row: reads the log from `joinSeq` on (a join, or a join again after a leave). */
  putMembership(userId: string, groupId: string, joinSeq: number, now: number): Promise<void>;
  /** Writes the row only when it is missing or says left (a repeated join that finds the member in the group). */
  repairMembership(userId: string, groupId: string, joinSeq: number, now: number): Promise<void>;
  /** Marks the row left at `leftSeq`: the user reads the log up to that entry and no further. */
  markLeft(userId: string, groupId: string, leftSeq: number, now: number): Promise<void>;
  /** Marks a row that still says "member" left at an unknown place: nothing more is read. */
  markLeftUnknown(userId: string, groupId: string, now: number): Promise<void>;
  /** Every membership row of a user, left ones included. */
  memberships(userId: string): Promise<Membership[]>;
  /** The groups a user is a member of ("my groups"), left ones skipped. */
  /** `bad-cursor` also for another user's cursor. */
  listMine(userId: string, limit: number, cursor?: string): Promise<Listing<string>>;
}

export class DynamoMembershipStore implements MembershipStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async putMembership(userId: string, groupId: string, joinSeq: number, now: number) {
    await this.db.send(
      new PutCommand({
        TableName: this.table,
        Item: { userId, groupId, joinedAt: now, joinSeq },
      }),
    );
  }

  async repairMembership(userId: string, groupId: string, joinSeq: number, now: number) {
    await conditionHolds(
      this.db.send(
        new PutCommand({
          TableName: this.table,
          Item: { userId, groupId, joinedAt: now, joinSeq },
          ConditionExpression: 'attribute_not_exists(groupId) OR attribute_exists(leftSeq)',
        }),
      ),
    );
  }

  async markLeft(userId: string, groupId: string, leftSeq: number, now: number) {
    await this.db.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { userId, groupId },
        UpdateExpression:
          'SET leftSeq = :left, leftAt = :now, joinSeq = if_not_exists(joinSeq, :zero)',
        ExpressionAttributeValues: { ':left': leftSeq, ':now': now, ':zero': 0 },
      }),
    );
  }

  async markLeftUnknown(userId: string, groupId: string, now: number) {
    await conditionHolds(
      this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { userId, groupId },
          UpdateExpression: 'SET leftSeq = :none, leftAt = :now',
          ConditionExpression: 'attribute_exists(groupId) AND attribute_not_exists(leftSeq)',
          ExpressionAttributeValues: { ':none': 0, ':now': now },
        }),
      ),
    );
  }

  async memberships(userId: string): Promise<Membership[]> {
    const rows: Membership[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.db.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: 'userId = :u',
          ExpressionAttributeValues: { ':u': userId },
          ConsistentRead: true,
          ExclusiveStartKey: start,
        }),
      );
      for (const item of page.Items ?? [])
        rows.push({
          groupId: item.groupId as string,
          // Rows from before logs have no position: the whole log is theirs.
          joinSeq: (item.joinSeq as number | undefined) ?? 0,
          leftSeq: item.leftSeq as number | undefined,
          leftAt: item.leftAt as number | undefined,
        });
      start = page.LastEvaluatedKey;
    } while (start);
    return rows;
  }

  async listMine(userId: string, limit: number, cursor?: string): Promise<Listing<string>> {
    const start = cursor === undefined ? undefined : decodeCursor(cursor, ['userId', 'groupId']);
    if (cursor !== undefined && start?.userId !== userId) return 'bad-cursor';
    const page = await this.db.send(
      new QueryCommand({
        TableName: this.table,
        KeyConditionExpression: 'userId = :u',
        // Left groups keep their row (the log position) but are not "mine".
        FilterExpression: 'attribute_not_exists(leftSeq)',
        ExpressionAttributeValues: { ':u': userId },
        ConsistentRead: true,
        Limit: limit,
        ExclusiveStartKey: start,
      }),
    );
    return {
      items: (page.Items ?? []).map((item) => item.groupId as string),
      ...(page.LastEvaluatedKey && { next: encodeCursor(page.LastEvaluatedKey) }),
    };
  }
}
