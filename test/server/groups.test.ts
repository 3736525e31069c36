/** Groups through the local gateway: create, join (creating when missing), list, leave, members (the cap: group-cap.test.ts). */
import { randomUUID } from 'node:crypto';
import { DynamoDBDocumentClient, GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../infra/local/stack';
import { localTableName } from '../../infra/local/names';
import { makeDynamoClient } from '../../lambdas/runtime/aws';
import type { TestUser } from '../../tools/accounts';
import { join, leave, signerOf, signupGroupUser } from '../../tools/group-actors';
import { startTestStack } from '../../tools/local-stack';
import { TestClient } from '../../tools/ws-client';

let stack: LocalStack;
let url: string;
let alice: TestUser;
let bob: TestUser;
let carol: TestUser;
let dave: TestUser;

beforeAll(async () => {
  stack = await startTestStack();
  url = stack.endpoints.websocket;
  [alice, bob, carol, dave] = (await Promise.all(
    ['alice', 'bob', 'carol', 'dave'].map((name) => signupGroupUser(url, name)),
  )) as [TestUser, TestUser, TestUser, TestUser];
});
afterAll(() => stack.stop());

const db = () => DynamoDBDocumentClient.from(makeDynamoClient(stack.endpoints.dynamodb));
const groupItem = async (groupId: string) =>
  (
    await db().send(
      new GetCommand({
        TableName: localTableName('groups'),
        Key: { groupId },
        ConsistentRead: true,
      }),
    )
  ).Item;
const membershipRows = async (userId: string) =>
  (
    await db().send(
      new QueryCommand({
        TableName: localTableName('members'),
        KeyConditionExpression: 'userId = :u',
        ExpressionAttributeValues: { ':u': userId },
        ConsistentRead: true,
      }),
    )
  ).Items!.map((item) => item.groupId as string);
const membershipRow = async (userId: string, groupId: string) =>
  (
    await db().send(
      new GetCommand({
        TableName: localTableName('members'),
        Key: { userId, groupId },
        ConsistentRead: true,
      }),
    )
  ).Item;
const newGroup = () => `g-${randomUUID().slice(0, 8)}`;

describe('create', () => {
  it('creates a group with its creator as the only member, and refuses an existing name with CONFLICT', async () => {
    const groupId = newGroup();
    expect(await alice.client.request('create', { groupId })).toMatchObject({
      type: 'ok',
      groupId,
      created: true,
      epoch: 0,
      memberCount: 1,
    });
    // The name is normalised (trim, NFKC, lower-case): this is the same group.
    const again = await bob.client.request('create', { groupId: ` ${groupId.toUpperCase()} ` });
    expect(again).toMatchObject({ type: 'error', code: 'CONFLICT' });
    expect(again.message).toContain('JOIN');
    const item = await groupItem(groupId);
    expect(item).toMatchObject({ memberCount: 1, createdBy: 'alice' });
    expect([...(item!.memberIds as Set<string>)]).toEqual(['alice']);
    expect(await membershipRows('bob')).not.toContain(groupId);
  });

  it('refuses a bad name with BAD_REQUEST and an unbound connection with UNAUTHENTICATED', async () => {
    for (const groupId of ['', 'no spaces', '-leading', 'x'.repeat(65), 'ümlaut'])
      expect(await alice.client.request('create', { groupId })).toMatchObject({
        code: 'BAD_REQUEST',
      });
    const stranger = await TestClient.connect(url);
    expect(await stranger.request('create', { groupId: newGroup() })).toMatchObject({
      code: 'UNAUTHENTICATED',
    });
    stranger.close();
  });
});

describe('join', () => {
  it('joins an existing group: member list with key bundles, the current epoch, a member-joined notice', async () => {
    const groupId = newGroup();
    await alice.client.request('create', { groupId });
    const joined = await join(bob, groupId);
    expect(joined).toMatchObject({
      type: 'ok',
      groupId,
      created: false,
      joined: true,
      epoch: 0,
      memberCount: 2,
    });
    // Members with their published bundles; bob is a pending addition, with his join request.
    const published = (userId: string) =>
      expect.objectContaining({
        userId,
        identitySign: Buffer.from(signerOf(userId).sign.publicKey).toString('base64'),
      });
    expect(joined.members).toEqual([
      { userId: 'alice', bundle: published('alice') },
      { userId: 'bob', bundle: published('bob'), artefact: expect.any(String) },
    ]);
    expect(joined).toMatchObject({ admins: ['alice'], closed: false, removals: [] });
    expect(
      await alice.client.waitFor((m) => m.type === 'member-joined' && m.groupId === groupId),
    ).toMatchObject({ userId: 'bob', memberCount: 2, epoch: 0 });

    // Joining twice changes nothing and notifies nobody.
    expect(await join(bob, groupId)).toMatchObject({
      type: 'ok',
      created: false,
      joined: false,
      memberCount: 2,
    });
    expect((await groupItem(groupId))!.memberCount).toBe(2);
    expect(await alice.client.silentFor(200)).toBe(true);
  });

  it('creates a missing group; of two clients racing, exactly one creates it and both end up in it', async () => {
    const groupId = newGroup();
    const [first, second] = await Promise.all([join(carol, groupId), join(dave, groupId)]);
    expect([first.type, second.type]).toEqual(['ok', 'ok']);
    expect([first.created, second.created].filter(Boolean)).toHaveLength(1);
    const item = await groupItem(groupId);
    expect(item!.memberCount).toBe(2);
    expect([...(item!.memberIds as Set<string>)].sort()).toEqual(['carol', 'dave']);
  });

  it('with four clients racing on a new group: one creator, one group of four, a count that did not drift', async () => {
    const groupId = newGroup();
    const replies = await Promise.all([alice, bob, carol, dave].map((user) => join(user, groupId)));
    expect(replies.every((reply) => reply.type === 'ok')).toBe(true);
    expect(replies.filter((reply) => reply.created === true)).toHaveLength(1);
    const item = await groupItem(groupId);
    expect(item!.memberCount).toBe(4);
    expect((item!.memberIds as Set<string>).size).toBe(4);
    for (const user of ['alice', 'bob', 'carol', 'dave'])
      expect(await membershipRows(user)).toContain(groupId);
  });
});

describe('leave', () => {
  it('removes the member, decrements the count, notifies the others; a second leave changes nothing', async () => {
    const groupId = newGroup();
    await alice.client.request('create', { groupId });
    await join(bob, groupId);
    await join(carol, groupId);
    await alice.client.waitFor((m) => m.type === 'member-joined' && m.userId === 'carol');
    await bob.client.waitFor((m) => m.type === 'member-joined' && m.userId === 'carol');

    expect(await leave(carol, groupId)).toMatchObject({
      type: 'ok',
      left: true,
      memberCount: 2,
      notified: 2,
    });
    for (const user of [alice, bob])
      expect(
        await user.client.waitFor((m) => m.type === 'member-left' && m.groupId === groupId),
      ).toMatchObject({ userId: 'carol', memberCount: 2 });
    expect((await groupItem(groupId))!.memberCount).toBe(2);
    // The row stays, with where in the log carol left (she reads up to there), but is not "mine".
    const row = await membershipRow('carol', groupId);
    expect(row).toMatchObject({ leftSeq: expect.any(Number), joinSeq: expect.any(Number) });
    expect(row!.leftSeq).toBeGreaterThan(row!.joinSeq as number);
    const mine = await carol.client.request('list', { mine: true });
    expect((mine.groups as { groupId: string }[]).map((g) => g.groupId)).not.toContain(groupId);

    expect(await leave(carol, groupId)).toMatchObject({
      type: 'ok',
      left: false,
      memberCount: 2,
    });
    expect((await groupItem(groupId))!.memberCount).toBe(2);
    expect(await carol.client.request('members', { groupId })).toMatchObject({
      code: 'FORBIDDEN',
    });
    expect(await leave(carol, newGroup())).toMatchObject({
      code: 'NOT_FOUND',
    });
  });
});

describe('members', () => {
  it('answers members only: FORBIDDEN for a non-member, NOT_FOUND for no such group', async () => {
    const groupId = newGroup();
    await bob.client.request('create', { groupId });
    await join(carol, groupId);
    expect(await carol.client.request('members', { groupId })).toMatchObject({
      type: 'ok',
      groupId,
      epoch: 0,
      epochMembers: [],
      memberCount: 2,
      members: [{ userId: 'bob' }, { userId: 'carol' }],
    });
    expect(await dave.client.request('members', { groupId })).toMatchObject({
      code: 'FORBIDDEN',
    });
    expect(await dave.client.request('members', { groupId: newGroup() })).toMatchObject({
      code: 'NOT_FOUND',
    });
  });
});

describe('list', () => {
  it('pages through every group with its member count', async () => {
    const mine = [newGroup(), newGroup(), newGroup()];
    await dave.client.request('create', { groupId: mine[0] });
    await dave.client.request('create', { groupId: mine[1] });
    await join(alice, mine[1]!);
    await dave.client.request('create', { groupId: mine[2] });
    await join(alice, mine[2]!);
    await join(bob, mine[2]!);

    const seen = new Map<string, number>();
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await carol.client.request('list', { limit: 2, ...(cursor && { cursor }) });
      expect(page.type).toBe('ok');
      const groups = page.groups as { groupId: string; memberCount: number }[];
      expect(groups.length).toBeLessThanOrEqual(2);
      for (const group of groups) {
        expect(seen.has(group.groupId)).toBe(false);
        seen.set(group.groupId, group.memberCount);
      }
      cursor = page.next as string | undefined;
      pages++;
    } while (cursor);
    expect(pages).toBeGreaterThan(2);
    expect(mine.map((groupId) => seen.get(groupId))).toEqual([1, 2, 3]);

    const all = await carol.client.request('list', {});
    expect((all.groups as unknown[]).length).toBe(seen.size);
  });

  it('lists my groups only with `mine`, through the membership index; a user can be in many groups', async () => {
    const user = await signupGroupUser(url, 'erin');
    const groups = [newGroup(), newGroup(), newGroup()].sort();
    await user.client.request('create', { groupId: groups[0] });
    await alice.client.request('create', { groupId: groups[1] });
    await join(user, groups[1]!);
    await join(user, groups[2]!);
    const first = await user.client.request('list', { mine: true, limit: 2 });
    const second = await user.client.request('list', {
      mine: true,
      limit: 2,
      cursor: first.next,
    });
    const listed = [...(first.groups as object[]), ...(second.groups as object[])];
    expect(listed).toEqual([
      { groupId: groups[0], memberCount: 1 },
      { groupId: groups[1], memberCount: 2 },
      { groupId: groups[2], memberCount: 1 },
    ]);
    expect(await user.client.request('list', { cursor: 'not-a-cursor' })).toMatchObject({
      code: 'BAD_REQUEST',
    });
    // Well-formed JSON that DynamoDB itself would refuse as a start key.
    const crafted = (key: object) => Buffer.from(JSON.stringify(key)).toString('base64url');
    for (const [mine, key] of [
      [false, { groupId: '' }],
      [false, { groupId: 'x'.repeat(700) }],
      [true, { userId: 'erin', groupId: '' }],
      [true, { userId: 'erin', groupId: 'Not A Group' }],
      // Another user's cursor: the listing is erin's own.
      [true, { userId: 'alice', groupId: groups[1]! }],
    ] as const)
      expect(
        await user.client.request('list', { mine, cursor: crafted(key) }),
        JSON.stringify(key),
      ).toMatchObject({ code: 'BAD_REQUEST', message: expect.stringContaining('cursor') });
    expect(await user.client.request('list', { limit: 1000 })).toMatchObject({
      code: 'BAD_REQUEST',
    });
    user.client.close();
  });
});
