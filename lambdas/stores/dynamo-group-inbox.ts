/**
 * Group fan-out into the inbox: each recipient's sequence number is reserved as for a 1:1
 * message (idempotent per recipient and message id), then the pointer items are written with
 * BatchWriteItem, 25 per call, retrying UnprocessedItems with jittered exponential back-off.
 */
import { BatchWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { mapWithPool, FAN_OUT_CONCURRENCY } from '../core/group-pool';
import { toTtl } from './dynamo-common';
import { DynamoInboxStore, RETENTION_MS } from './dynamo-inbox';
import type { GroupInboxStore } from './group-ports';
import type { NewInboxItem } from './ports';

export const BATCH_WRITE = { maxItems: 25, attempts: 8, baseDelayMs: 25 } as const;

type WriteRequest = { PutRequest: { Item: Record<string, unknown> } };

export class DynamoGroupInboxStore extends DynamoInboxStore implements GroupInboxStore {
  constructor(
    private readonly writer: DynamoDBDocumentClient,
    private readonly table: string,
    countersTable: string,
  ) {
    super(writer, table, countersTable);
  }

  async appendToMany(
    recipients: readonly string[],
    item: NewInboxItem,
    now: number,
  ): Promise<Map<string, { seq: number; duplicate: boolean }>> {
    const expiresAt = toTtl(now + RETENTION_MS);
    const seqs = await mapWithPool(recipients, FAN_OUT_CONCURRENCY, (userId) =>
      this.reserveSeq(userId, item.messageId, expiresAt, now),
    );
    const writes: WriteRequest[] = recipients.map((userId, i) => ({
      PutRequest: { Item: { ...item, userId, seq: seqs[i]!.seq, expiresAt } },
    }));
    const batches: WriteRequest[][] = [];
    for (let i = 0; i < writes.length; i += BATCH_WRITE.maxItems)
      batches.push(writes.slice(i, i + BATCH_WRITE.maxItems));
    await mapWithPool(batches, 4, (batch) => this.writeBatch(batch));
    return new Map(recipients.map((userId, i) => [userId, seqs[i]!]));
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
      const { UnprocessedItems } = await this.writer.send(
        new BatchWriteCommand({ RequestItems: { [this.table]: pending as WriteRequest[] } }),
      );
      pending = UnprocessedItems?.[this.table] ?? [];
    }
  }
}
