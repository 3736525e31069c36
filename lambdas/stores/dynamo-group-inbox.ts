/**
 * Group fan-out into the inbox: each recipient's sequence number comes from its own atomic
 * counter, then the pointer items are written with BatchWriteItem, 25 per call, retrying
 * UnprocessedItems with jittered exponential back-off. Idempotency is the caller's: the numbers
 * are recorded once on the message body before any pointer is written (lambdas/core/group-send.ts).
 */
import {
  BatchWriteCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import { mapWithPool, FAN_OUT_CONCURRENCY, POINTERS_PER_BATCH } from '../core/group-pool';
import { toTtl } from './dynamo-common';
import { RETENTION_MS } from './dynamo-inbox';
import type { GroupInboxStore } from './group-ports';
import type { NewInboxItem } from './ports';

export const BATCH_WRITE = { maxItems: POINTERS_PER_BATCH, attempts: 8, baseDelayMs: 25 } as const;

type WriteRequest = { PutRequest: { Item: Record<string, unknown> } };

export class DynamoGroupInboxStore implements GroupInboxStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly inboxTable: string,
    private readonly countersTable: string,
  ) {}

  async allocateSeqs(recipients: readonly string[]): Promise<Record<string, number>> {
    const seqs = await mapWithPool(recipients, FAN_OUT_CONCURRENCY, async (userId) => {
      const { Attributes } = await this.db.send(
        new UpdateCommand({
          TableName: this.countersTable,
          Key: { key: `seq#${userId}` },
          UpdateExpression: 'ADD #count :one',
          ExpressionAttributeNames: { '#count': 'count' },
          ExpressionAttributeValues: { ':one': 1 },
          ReturnValues: 'UPDATED_NEW',
        }),
      );
      return Attributes!.count as number;
    });
    return Object.fromEntries(recipients.map((userId, i) => [userId, seqs[i]!]));
  }

  async writePointers(
    seqs: Readonly<Record<string, number>>,
    item: NewInboxItem,
    now: number,
  ): Promise<void> {
    const expiresAt = toTtl(now + RETENTION_MS);
    const writes: WriteRequest[] = Object.entries(seqs).map(([userId, seq]) => ({
      PutRequest: { Item: { ...item, userId, seq, expiresAt } },
    }));
    const batches: WriteRequest[][] = [];
    for (let i = 0; i < writes.length; i += BATCH_WRITE.maxItems)
      batches.push(writes.slice(i, i + BATCH_WRITE.maxItems));
    await mapWithPool(batches, 4, (batch) => this.writeBatch(batch));
  }

  private async writeBatch(batch: WriteRequest[]): Promise<void> {
    let pending: Record<string, unknown>[] = batch;
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt >= BATCH_WRITE.attempts)
        throw new Error(`BatchWriteItem left ${pending.length} inbox items unprocessed`);
      if (attempt > 0)
        await new Promise((resolve) =>
          setTimeout(resolve, Math.random() * BATCH_WRITE.baseDelayMs * 2 ** attempt),
        );
      const { UnprocessedItems } = await this.db.send(
        new BatchWriteCommand({ RequestItems: { [this.inboxTable]: pending as WriteRequest[] } }),
      );
      pending = UnprocessedItems?.[this.inboxTable] ?? [];
    }
  }
}
