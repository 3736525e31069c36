/** Group fan-out at size: 30 clients racing to join, BatchWriteItem pointers in chunks of 25, unprocessed items retried. */
import { randomUUID } from 'node:crypto';
import { BatchWriteItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../infra/local/stack';
import { localTableName } from '../../infra/resources';
import { makeDynamoClient } from '../../lambdas/runtime/aws';
import { DynamoGroupInboxStore } from '../../lambdas/stores/dynamo-group-inbox';
import { fakeEnvelope, signupUser, type TestUser } from '../support/accounts';
import { startTestStack } from '../support/local-stack';

let stack: LocalStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(() => stack.stop());

const db = () => DynamoDBDocumentClient.from(makeDynamoClient(stack.endpoints.dynamodb));

describe('fan-out pointers', () => {
  it('writes 60 pointers 25 at a time, retrying what BatchWriteItem leaves unprocessed, idempotently', async () => {
    const real = db();
    const lowLevel = makeDynamoClient(stack.endpoints.dynamodb);
    const batchSizes: number[] = [];
    let throttled = 0;
    // Fault injection only: the first attempt of each batch gets half its items back as unprocessed.
    const faulty = {
      send: async (command: unknown) => {
        if (!(command instanceof BatchWriteItemCommand)) return lowLevel.send(command as never);
        const [table, requests] = Object.entries(command.input.RequestItems!)[0]!;
        batchSizes.push(requests.length);
        if (requests.length > 1 && throttled < 3) {
          throttled++;
          const half = Math.ceil(requests.length / 2);
          await lowLevel.send(
            new BatchWriteItemCommand({ RequestItems: { [table]: requests.slice(0, half) } }),
          );
          return { UnprocessedItems: { [table]: requests.slice(half) } };
        }
        return lowLevel.send(command);
      },
    } as unknown as DynamoDBClient;
    const store = new DynamoGroupInboxStore(
      faulty,
      localTableName('inbox'),
      localTableName('counters'),
    );
    const recipients = Array.from({ length: 60 }, (_, i) => `fan-${i}`);
    const item = {
      kind: 'group-message' as const,
      groupId: 'big',
      epoch: 1,
      from: 'sender',
      messageId: randomUUID(),
      sentAt: Date.now(),
    };
    const seqs = await store.allocateSeqs(recipients);
    await store.writePointers(seqs, item, Date.now());
    expect(Math.max(...batchSizes)).toBe(25);
    expect(throttled).toBe(3);
    for (const userId of recipients) {
      const { Items } = await real.send(
        new QueryCommand({
          TableName: localTableName('inbox'),
          KeyConditionExpression: 'userId = :u',
          ExpressionAttributeValues: { ':u': userId },
        }),
      );
      expect(Items).toEqual([expect.objectContaining({ ...item, seq: seqs[userId] })]);
    }
    // Writing the same pointers again (a retry at the recorded numbers) adds nothing.
    await store.writePointers(seqs, item, Date.now());
    for (const userId of recipients.slice(0, 5)) {
      const { Items } = await real.send(
        new QueryCommand({
          TableName: localTableName('inbox'),
          KeyConditionExpression: 'userId = :u',
          ExpressionAttributeValues: { ':u': userId },
        }),
      );
      expect(Items).toHaveLength(1);
    }
  });
});

describe('a group of 30 online members', () => {
  let users: TestUser[];
  const groupId = 'thirty';

  it('ends up as one group of 30 when all 30 race to join it, with exactly one creator', async () => {
    users = await Promise.all(
      Array.from({ length: 30 }, (_, i) => signupUser(stack.endpoints.websocket, `member${i}`)),
    );
    const replies = await Promise.all(users.map((u) => u.client.request('join', { groupId })));
    expect(replies.every((r) => r.type === 'ok')).toBe(true);
    expect(replies.filter((r) => r.created === true)).toHaveLength(1);
    const { Item } = await db().send(
      new GetCommand({
        TableName: localTableName('groups'),
        Key: { groupId },
        ConsistentRead: true,
      }),
    );
    expect(Item!.memberCount).toBe(30);
    expect((Item!.memberIds as Set<string>).size).toBe(30);
  }, 20_000);

  it('delivers one group message to the 29 others', async () => {
    const creator = users.find((u) => u.username === 'member0')!;
    const members = (await creator.client.request('members', { groupId })).members as {
      userId: string;
    }[];
    expect(members).toHaveLength(30);
    const epoch = (await creator.client.request('sharekey', {
      op: 'store',
      groupId,
      epoch: 1,
      statement: fakeEnvelope(700),
      keyShares: members.map(({ userId }) => ({
        to: userId,
        messageId: randomUUID(),
        envelope: fakeEnvelope(150),
      })),
    })) as { type: string; epoch: number; stored: number };
    expect(epoch).toMatchObject({ type: 'ok', epoch: 1, stored: 30 });
    const id = randomUUID();
    const reply = await creator.client.request('sendgroup', {
      groupId,
      epoch: 1,
      messageId: id,
      envelope: fakeEnvelope(),
    });
    expect(reply).toMatchObject({ type: 'ok', recipients: 29, deliveredTo: 29 });
    await Promise.all(
      users
        .filter((u) => u !== creator)
        .map((u) => u.client.waitFor((m) => m.type === 'group-message' && m.messageId === id)),
    );
    for (const user of users) user.client.close();
  });
});
