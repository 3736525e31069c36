/**
 * Group fan-out into the inbox: each recipient's sequence number comes from its own atomic
 * counter, then the pointer items are written with BatchWriteItem (lambdas/stores/dynamo-common.ts).
 * Idempotency is the caller's: the numbers are recorded once on the message body before any
 * pointer is written (lambdas/core/group-send.ts). These are the calls made per recipient, so
 * they run on the low-level client with its middleware cached (lambdas/runtime/aws.ts).
 */
import {
  BatchGetItemCommand,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { mapWithPool, FAN_OUT_CONCURRENCY } from '../core/group-pool';
import { batchPut, nextInboxSeq, readInBatches, toTtl } from './dynamo-common';
import { RETENTION_MS } from './dynamo-inbox';
import type { GroupInboxStore } from './group-ports';
import type { NewInboxItem } from './ports';

export class DynamoGroupInboxStore implements GroupInboxStore {
  constructor(
    private readonly db: DynamoDBClient,
    private readonly inboxTable: string,
    private readonly countersTable: string,
  ) {}

  async allocateSeqs(recipients: readonly string[]): Promise<Record<string, number>> {
    const seqs = await mapWithPool(recipients, FAN_OUT_CONCURRENCY, (userId) =>
      nextInboxSeq(this.db, this.countersTable, userId),
    );
    return Object.fromEntries(recipients.map((userId, i) => [userId, seqs[i]!]));
  }

  async missingItems(seqs: Readonly<Record<string, number>>): Promise<string[]> {
    const found = new Set<string>();
    const keys = Object.entries(seqs).map(([userId, seq]) => ({
      userId: { S: userId },
      seq: { N: String(seq) },
    }));
    await readInBatches<Record<string, AttributeValue>>(keys, async (batch) => {
      const { Responses, UnprocessedKeys } = await this.db.send(
        new BatchGetItemCommand({
          RequestItems: {
            [this.inboxTable]: {
              Keys: batch,
              ConsistentRead: true,
              ProjectionExpression: 'userId',
            },
          },
        }),
      );
      for (const item of Responses?.[this.inboxTable] ?? []) found.add(item.userId!.S!);
      return UnprocessedKeys?.[this.inboxTable]?.Keys ?? [];
    });
    return Object.keys(seqs).filter((userId) => !found.has(userId));
  }

  async writePointers(
    seqs: Readonly<Record<string, number>>,
    item: NewInboxItem,
    now: number,
  ): Promise<void> {
    const expiresAt = toTtl(now + RETENTION_MS);
    // Read after every number was allocated (the caller recorded them), as lambdas/core/cursor.ts relies on.
    const storedAt = Date.now();
    const items = Object.entries(seqs).map(([userId, seq]) => ({
      ...item,
      userId,
      seq,
      expiresAt,
      storedAt,
    }));
    await batchPut(this.db, this.inboxTable, items);
  }
}
