/** Group fan-out at size: mailboxes read 100 at a time (unprocessed keys retried), 30 clients racing to join, one message to 29. */
import { randomUUID } from 'node:crypto';
import { BatchGetItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../infra/local/stack';
import { localTableName } from '../../infra/local/names';
import { makeDynamoClient } from '../../lambdas/runtime/aws';
import { DynamoMailboxStore } from '../../lambdas/stores/mailboxes';
import { fakeEnvelope, type TestUser } from '../../tools/accounts';
import { join, signupGroupUser, storeEpoch } from '../../tools/group-actors';
import { startTestStack } from '../../tools/local-stack';

let stack: LocalStack;
beforeAll(async () => {
  // Nothing here tests the unbound grace (test/server/unbound.test.ts does): a sign-up whose scrypt
  // waits behind others on a loaded 2-core machine must not lose its connection to it.
  stack = await startTestStack({ serverLimits: { unboundGraceMs: 120_000 } });
});
afterAll(() => stack.stop());

const db = () => DynamoDBDocumentClient.from(makeDynamoClient(stack.endpoints.dynamodb));

describe('mailbox lookups', () => {
  it('read 150 mailboxes 100 keys a call, retrying what BatchGetItem leaves unprocessed', async () => {
    const lowLevel = makeDynamoClient(stack.endpoints.dynamodb);
    const batchSizes: number[] = [];
    let throttled = 0;
    // Fault injection only: the first attempt of each batch gets half its keys back as unprocessed.
    const faulty = {
      send: async (command: unknown) => {
        if (!(command instanceof BatchGetItemCommand)) return lowLevel.send(command as never);
        const [table, request] = Object.entries(command.input.RequestItems!)[0]!;
        const keys = request.Keys!;
        batchSizes.push(keys.length);
        if (keys.length > 1 && throttled < 2) {
          throttled++;
          const half = Math.ceil(keys.length / 2);
          const answered = await lowLevel.send(
            new BatchGetItemCommand({
              RequestItems: { [table]: { ...request, Keys: keys.slice(0, half) } },
            }),
          );
          return {
            Responses: answered.Responses,
            UnprocessedKeys: { [table]: { ...request, Keys: keys.slice(half) } },
          };
        }
        return lowLevel.send(command);
      },
    } as unknown as DynamoDBClient;
    const store = new DynamoMailboxStore(faulty, localTableName('mailboxes'));
    const users = Array.from({ length: 150 }, (_, i) => `box-${i}`);
    const now = Date.now();
    for (const [i, userId] of users.entries()) {
      await store.create(userId);
      await store.addConnection(userId, {
        connectionId: `conn-${i}`,
        deviceId: 'phone',
        connectedAt: now,
        expiresAt: now + 60_000,
      });
    }
    const found = await store.connectionsOf([...users, 'no-mailbox'], now);
    expect(Math.max(...batchSizes)).toBe(100);
    expect(throttled).toBe(2);
    expect(found.size).toBe(150);
    expect(users.every((userId, i) => found.get(userId)![0]!.connectionId === `conn-${i}`)).toBe(
      true,
    );
    // Expired connections are not listed.
    expect((await store.connectionsOf(users.slice(0, 3), now + 61_000)).get('box-0')).toEqual([]);
  });
});

describe('a group of 30 online members', () => {
  let users: TestUser[];
  const groupId = 'thirty';

  let creator: TestUser;
  it('ends up as one group of 30 when all 30 race to join it, with exactly one creator', async () => {
    users = [];
    // Signed up five at a time (scrypt is CPU-bound, and the machine may be busy); the joins are
    // what race.
    for (let i = 0; i < 30; i += 5)
      users.push(
        ...(await Promise.all(
          Array.from({ length: 5 }, (_, j) =>
            signupGroupUser(stack.endpoints.websocket, `member${i + j}`),
          ),
        )),
      );
    const replies = await Promise.all(users.map((u) => join(u, groupId, 15_000)));
    expect(replies.every((r) => r.type === 'ok')).toBe(true);
    expect(replies.filter((r) => r.created === true)).toHaveLength(1);
    creator = users[replies.findIndex((r) => r.created === true)]!;
    const { Item } = await db().send(
      new GetCommand({
        TableName: localTableName('groups'),
        Key: { groupId },
        ConsistentRead: true,
      }),
    );
    expect(Item!.memberCount).toBe(30);
    expect((Item!.memberIds as Set<string>).size).toBe(30);
  }, 90_000);

  it('delivers one group message to the 29 others', async () => {
    const members = (await creator.client.request('members', { groupId })).members as {
      userId: string;
    }[];
    expect(members).toHaveLength(30);
    // The creator makes epoch 1 (itself), then epoch 2 carrying the 29 join requests.
    expect(await storeEpoch(creator, groupId)).toMatchObject({ type: 'ok', epoch: 1 });
    const epoch = await storeEpoch(creator, groupId, undefined, 15_000);
    expect(epoch).toMatchObject({ type: 'ok', epoch: 2, stored: 30, current: true });
    const id = randomUUID();
    const reply = await creator.client.request('sendgroup', {
      groupId,
      epoch: 2,
      messageId: id,
      envelope: fakeEnvelope(),
    });
    expect(reply).toMatchObject({ type: 'ok', recipients: 29, deliveredTo: 29 });
    // Written once, into the group's log: nothing per member.
    const { Items } = await db().send(
      new QueryCommand({
        TableName: localTableName('inbox'),
        KeyConditionExpression: 'userId = :u',
        ExpressionAttributeValues: { ':u': 'member7' },
      }),
    );
    expect((Items ?? []).filter((item) => item.messageId === id)).toEqual([]);
    await Promise.all(
      users
        .filter((u) => u !== creator)
        .map((u) => u.client.waitFor((m) => m.type === 'group-message' && m.messageId === id)),
    );
    for (const user of users) user.client.close();
  });
});
