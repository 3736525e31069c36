/**
 * A retried `send` whose first attempt died between claiming the message id and storing the item:
 * soon after, the retry fills the first attempt's number; long after (when a cursor may have
 * crossed that empty number), it keeps its own number and moves the claim there.
 */
import { randomUUID } from 'node:crypto';
import {
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
} from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../infra/local/stack';
import { localTableName } from '../../infra/resources';
import { ATTEMPT_MAX_MS } from '../../lambdas/core/cursor';
import { makeDynamoClient } from '../../lambdas/runtime/aws';
import { DynamoInboxStore } from '../../lambdas/stores/dynamo-inbox';
import { startTestStack } from '../support/local-stack';

let stack: LocalStack;
let db: DynamoDBDocumentClient;
beforeAll(async () => {
  stack = await startTestStack();
  db = DynamoDBDocumentClient.from(makeDynamoClient(stack.endpoints.dynamodb));
});
afterAll(() => stack.stop());

const INBOX = localTableName('inbox');
const inboxStore = (client: DynamoDBDocumentClient) =>
  new DynamoInboxStore(
    client,
    makeDynamoClient(stack.endpoints.dynamodb),
    INBOX,
    localTableName('counters'),
  );

/** Fault injection only: the inbox item's write fails once the claim next to it has gone through. */
function crashingBeforeItsItem(): DynamoDBDocumentClient {
  return {
    send: async (command: unknown) => {
      if (command instanceof PutCommand && command.input.TableName === INBOX) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        throw new Error('the handler died');
      }
      return db.send(command as never);
    },
  } as unknown as DynamoDBDocumentClient;
}

const message = (messageId: string) => ({
  kind: 'message' as const,
  from: 'alice',
  messageId,
  envelope: 'AAAA',
  sentAt: 1,
});

async function inboxOf(userId: string, messageId: string) {
  const { Items } = await db.send(
    new QueryCommand({
      TableName: INBOX,
      KeyConditionExpression: 'userId = :u',
      ExpressionAttributeValues: { ':u': userId },
      ConsistentRead: true,
    }),
  );
  return (Items ?? []).filter((item) => item.messageId === messageId);
}

async function diedAfterClaiming(userId: string, messageId: string, now: number): Promise<number> {
  await expect(
    inboxStore(crashingBeforeItsItem()).append(userId, message(messageId), now),
  ).rejects.toThrow('the handler died');
  const { Item } = await db.send(
    new GetCommand({
      TableName: localTableName('counters'),
      Key: { key: `msg#${userId}#alice#${messageId}` },
      ConsistentRead: true,
    }),
  );
  expect(await inboxOf(userId, messageId)).toEqual([]);
  return Item!.seq as number;
}

describe('a retry after the first attempt died between its claim and its item', () => {
  it('soon after: stores the message at the number the first attempt claimed', async () => {
    const id = randomUUID();
    const t0 = Date.now();
    const claimed = await diedAfterClaiming('erin', id, t0);
    const retry = await inboxStore(db).append('erin', message(id), t0 + 5_000);
    expect(retry).toEqual({ seq: claimed, duplicate: true });
    const stored = await inboxOf('erin', id);
    expect(stored.find((item) => item.kind === 'message')?.seq).toBe(claimed);
    expect(stored.filter((item) => item.kind === 'skipped')).toHaveLength(1);
  });

  it('long after: keeps its own number, since a cursor may have crossed the empty one', async () => {
    const id = randomUUID();
    const t0 = Date.now();
    const claimed = await diedAfterClaiming('finn', id, t0);
    const retry = await inboxStore(db).append('finn', message(id), t0 + ATTEMPT_MAX_MS + 1_000);
    expect(retry.duplicate).toBe(false);
    expect(retry.seq).toBeGreaterThan(claimed);
    expect((await inboxOf('finn', id)).map(({ kind, seq }) => ({ kind, seq }))).toEqual([
      { kind: 'message', seq: retry.seq },
    ]);
    // The claim moved: a further retry is a duplicate of the new number, not of the empty one.
    const again = await inboxStore(db).append('finn', message(id), t0 + ATTEMPT_MAX_MS + 2_000);
    expect(again).toEqual({ seq: retry.seq, duplicate: true });
  });

  it('long after, two racing retries: one message, at the number one of them moved the claim to', async () => {
    const id = randomUUID();
    const t0 = Date.now();
    await diedAfterClaiming('gwen', id, t0);
    const late = t0 + ATTEMPT_MAX_MS + 1_000;
    const results = await Promise.all([
      inboxStore(db).append('gwen', message(id), late),
      inboxStore(db).append('gwen', message(id), late),
    ]);
    const stored = await inboxOf('gwen', id);
    const messages = stored.filter((item) => item.kind === 'message');
    expect(messages).toHaveLength(1);
    expect(results.map((r) => r.seq)).toEqual([messages[0]!.seq, messages[0]!.seq]);
    expect(results.filter((r) => !r.duplicate)).toHaveLength(1);
    expect(stored.filter((item) => item.kind === 'skipped')).toHaveLength(1);
  });
});
