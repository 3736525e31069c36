/** A full group refuses joins; the cap is lowered through the local stack's own limits. */
import { DynamoDBDocumentClient, GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../infra/local/stack';
import { localTableName } from '../../infra/local/names';
import { PRODUCTION_LIMITS } from '../../lambdas/shared/limits';
import { makeDynamoClient } from '../../lambdas/runtime/aws';
import type { TestUser } from '../../tools/accounts';
import { join, leave, signupGroupUser } from '../../tools/group-actors';
import { startTestStack } from '../../tools/local-stack';

let stack: LocalStack;
let users: TestUser[];
beforeAll(async () => {
  stack = await startTestStack({ serverLimits: { groupMemberCap: 3 } });
  users = await Promise.all(
    ['alice', 'bob', 'carol', 'dave'].map((name) =>
      signupGroupUser(stack.endpoints.websocket, name),
    ),
  );
});
afterAll(async () => {
  for (const user of users) user.client.close();
  await stack.stop();
});

const db = () => DynamoDBDocumentClient.from(makeDynamoClient(stack.endpoints.dynamodb));

describe('the group member cap', () => {
  it('is 256 in production', () => {
    expect(PRODUCTION_LIMITS.groupMemberCap).toBe(256);
  });

  it('refuses a full group with a clear CONFLICT and no change; a member who leaves makes room', async () => {
    const [alice, bob, carol, dave] = users as [TestUser, TestUser, TestUser, TestUser];
    const groupId = 'full-house';
    await alice.client.request('create', { groupId });
    await join(bob, groupId);
    await join(carol, groupId);
    const full = await join(dave, groupId);
    expect(full).toMatchObject({
      code: 'CONFLICT',
      message: expect.stringContaining('full (3 members)'),
    });
    const { Item } = await db().send(
      new GetCommand({
        TableName: localTableName('groups'),
        Key: { groupId },
        ConsistentRead: true,
      }),
    );
    expect(Item!.memberCount).toBe(3);
    expect(Item!.memberIds as Set<string>).not.toContain('dave');
    const { Items } = await db().send(
      new QueryCommand({
        TableName: localTableName('members'),
        KeyConditionExpression: 'userId = :u',
        ExpressionAttributeValues: { ':u': 'dave' },
        ConsistentRead: true,
      }),
    );
    expect(Items).toEqual([]);
    await leave(carol, groupId);
    expect(await join(dave, groupId)).toMatchObject({
      type: 'ok',
      memberCount: 3,
    });
  });
});
