/** Shared by the DynamoDB adapters: TTL in epoch seconds (DynamoDB's unit), ms everywhere else. */
import {
  BatchWriteItemCommand,
  ConditionalCheckFailedException,
  GetItemCommand,
  type AttributeValue,
  type DynamoDBClient,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';

export const toTtl = (epochMs: number): number => Math.ceil(epochMs / 1000);
export const fromTtl = (epochSeconds: number): number => epochSeconds * 1000;

/** TTL deletion is late in AWS and absent locally: an expired item reads as absent. */
export function isLive(item: { expiresAt?: unknown } | undefined, nowMs: number): boolean {
  if (!item) return false;
  return typeof item.expiresAt !== 'number' || fromTtl(item.expiresAt) > nowMs;
}

export const isConditionFailure = (error: unknown): boolean =>
  error instanceof ConditionalCheckFailedException ||
  (error as { name?: string } | null)?.name === 'ConditionalCheckFailedException';

/** Awaits a conditional write: true when it was made, false when its condition failed. */
export async function conditionHolds(write: Promise<unknown>): Promise<boolean> {
  try {
    await write;
    return true;
  } catch (error) {
    if (isConditionFailure(error)) return false;
    throw error;
  }
}

/** Whether an item exists at `key` (a consistent read of one key attribute, low-level client). */
export async function itemExists(
  db: DynamoDBClient,
  table: string,
  key: Record<string, AttributeValue>,
): Promise<boolean> {
  const { Item } = await db.send(
    new GetItemCommand({
      TableName: table,
      Key: key,
      ConsistentRead: true,
      ProjectionExpression: Object.keys(key)[0],
    }),
  );
  return Item !== undefined;
}

/** DynamoDB's limit of keys per BatchGetItem call. */
const BATCH_GET_MAX_KEYS = 100;

/**
 * Reads keys 100 at a time: `read` sends one BatchGetItem and returns the keys it left
 * unprocessed, which are read again after a jittered wait; throws when some are still left after
 * the last attempt.
 */
export async function readInBatches<K>(
  keys: readonly K[],
  read: (batch: K[]) => Promise<K[]>,
): Promise<void> {
  for (let start = 0; start < keys.length; start += BATCH_GET_MAX_KEYS) {
    let pending = keys.slice(start, start + BATCH_GET_MAX_KEYS);
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt >= BATCH_ATTEMPTS)
        throw new Error(`BatchGetItem left ${pending.length} keys unprocessed`);
      if (attempt > 0) await jitteredBackOff(attempt);
      pending = await read(pending);
    }
  }
}

/**
 * Every item of `table` with one of these keys, through the DocumentClient: BatchGetItem with
 * consistent reads, 100 keys a call, unprocessed keys retried (readInBatches). Missing items are
 * left out; the order is DynamoDB's.
 */
export async function batchGetDocuments(
  db: DynamoDBDocumentClient,
  table: string,
  keys: readonly Record<string, unknown>[],
  projection?: string,
): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  await readInBatches<Record<string, unknown>>(keys, async (batch) => {
    const { Responses, UnprocessedKeys } = await db.send(
      new BatchGetCommand({
        RequestItems: {
          [table]: {
            Keys: batch,
            ConsistentRead: true,
            ...(projection && { ProjectionExpression: projection }),
          },
        },
      }),
    );
    items.push(...(Responses?.[table] ?? []));
    return UnprocessedKeys?.[table]?.Keys ?? [];
  });
  return items;
}

/** DynamoDB's limit of items per BatchWriteItem call. */
export const BATCH_WRITE_MAX_ITEMS = 25;
const BATCH_ATTEMPTS = 8;
const BATCH_BASE_DELAY_MS = 25;

/** Full jitter before retrying what a batch call left unprocessed: a random wait up to 25 ms × 2^attempt. */
const jitteredBackOff = (attempt: number) =>
  new Promise((resolve) => setTimeout(resolve, Math.random() * BATCH_BASE_DELAY_MS * 2 ** attempt));

/** Items as the low-level client (lambdas/runtime/aws.ts dynamoLowLevel) takes them. */
export const toAttributes = (item: Record<string, unknown>) =>
  marshall(item, { removeUndefinedValues: true });

/**
 * Puts items with BatchWriteItem, 25 per call, retrying UnprocessedItems with full-jitter
 * exponential back-off; throws when some are still unprocessed after the last attempt.
 */
export async function batchPut(
  db: DynamoDBClient,
  table: string,
  items: readonly Record<string, unknown>[],
): Promise<void> {
  for (let start = 0; start < items.length; start += BATCH_WRITE_MAX_ITEMS) {
    let pending: WriteRequest[] = items
      .slice(start, start + BATCH_WRITE_MAX_ITEMS)
      .map((item) => ({ PutRequest: { Item: toAttributes(item) } }));
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt >= BATCH_ATTEMPTS)
        throw new Error(`BatchWriteItem left ${pending.length} items of ${table} unprocessed`);
      if (attempt > 0) await jitteredBackOff(attempt);
      const { UnprocessedItems } = await db.send(
        new BatchWriteItemCommand({ RequestItems: { [table]: pending } }),
      );
      pending = UnprocessedItems?.[table] ?? [];
    }
  }
}
