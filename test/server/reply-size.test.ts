/**
 * Replies stay under API Gateway's 128 KB per message (issue 9, point 14): a full group's
 * `members` and a `sharekey fetch` of big epochs are paged by bytes. The group and its epochs are
 * written straight through the real store adapters (255 sign-ups would only make the test slow);
 * the member who asks is a real signed-up user on the real gateway, which refuses replies past
 * 128 KB as API Gateway does.
 */
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../infra/local/stack';
import { localTableName } from '../../infra/local/names';
import { PRODUCTION_LIMITS } from '../../lambdas/shared/limits';
import { makeDynamoClient } from '../../lambdas/runtime/aws';
import { DynamoGroupEpochStore } from '../../lambdas/stores/group-epochs';
import { DynamoGroupStore } from '../../lambdas/stores/groups';
import { DynamoUserStore } from '../../lambdas/stores/users';
import { MAX_STATEMENT_BASE64_CHARS } from '../../protocol/group-statement';
import { MAX_INLINE_ENVELOPE_BASE64_CHARS, WS_LIMITS } from '../../protocol/limits';
import { signupUser, type TestUser } from '../../tools/accounts';
import { startTestStack } from '../../tools/local-stack';

const GROUP = 'full-group';
/** The longest names make the biggest replies. */
const memberName = (i: number) => `member-${String(i).padStart(3, '0')}-${'x'.repeat(20)}`;
const base64Of = (chars: number, fill: string) => fill.repeat(chars);

let stack: LocalStack;
let asker: TestUser;
let groups: DynamoGroupStore;
let epochs: DynamoGroupEpochStore;
const rawReplies: number[] = [];

beforeAll(async () => {
  stack = await startTestStack();
  asker = await signupUser(stack.endpoints.websocket, memberName(0));
  asker.client.socket.on('message', (data: Buffer) => rawReplies.push(data.length));
  const db = DynamoDBDocumentClient.from(makeDynamoClient(stack.endpoints.dynamodb), {
    marshallOptions: { removeUndefinedValues: true },
  });
  const users = new DynamoUserStore(db, localTableName('users'));
  groups = new DynamoGroupStore(db, localTableName('groups'));
  epochs = new DynamoGroupEpochStore(db, localTableName('groupEpochs'));
  const cap = PRODUCTION_LIMITS.groupMemberCap;
  const now = Date.now();
  await groups.create(GROUP, asker.username, now);
  for (let i = 0; i < cap; i++) {
    const userId = memberName(i);
    if (i > 0) await users.create({ userId, authSalt: 's', authHash: 'h', createdAt: now });
    await users.publishBundle(userId, {
      userId,
      identityDh: base64Of(44, 'A'),
      identitySign: base64Of(44, 'B'),
      signedPrekey: {
        id: 4_000_000_000,
        publicKey: base64Of(44, 'C'),
        signature: base64Of(88, 'D'),
        createdAt: now,
      },
    });
    if (i > 0) await groups.addMember(GROUP, userId, cap);
  }
  // Five epochs with the largest statement, and for the asker the largest key-share of each.
  const group = (await groups.get(GROUP))!;
  for (let epoch = 1; epoch <= 5; epoch++) {
    const claim = {
      epoch,
      by: asker.username,
      statementHash: `hash-${epoch}`,
      at: now,
      members: group.memberIds,
    };
    await groups.claimEpoch({
      groupId: GROUP,
      epoch,
      proposer: asker.username,
      statementHash: claim.statementHash,
      rosterVersion: group.rosterVersion,
      members: group.memberIds,
      now,
      expiredBefore: now,
    });
    await groups.completeEpoch({
      groupId: GROUP,
      claim,
      admins: [asker.username],
      closed: false,
      carried: [],
      now,
    });
    await epochs.putEpoch({
      groupId: GROUP,
      epoch,
      statement: base64Of(MAX_STATEMENT_BASE64_CHARS, 'S'),
      proposer: asker.username,
      members: group.memberIds,
      createdAt: now,
    });
    await epochs.putKeyShare({
      groupId: GROUP,
      epoch,
      to: asker.username,
      from: asker.username,
      messageId: `share-${epoch}-0000`,
      envelope: base64Of(MAX_INLINE_ENVELOPE_BASE64_CHARS, 'E'),
      createdAt: now,
    });
  }
}, 120_000);
afterAll(async () => {
  asker.client.close();
  await stack.stop();
});

describe('replies stay under 128 KB', () => {
  it('pages a full group’s members by bytes: every member once, every reply delivered', async () => {
    const seen: string[] = [];
    let after: string | undefined;
    let pages = 0;
    do {
      const reply = await asker.client.request('members', {
        groupId: GROUP,
        ...(after && { after }),
      });
      expect(reply, JSON.stringify(reply).slice(0, 200)).toMatchObject({
        type: 'ok',
        memberCount: PRODUCTION_LIMITS.groupMemberCap,
      });
      const members = reply.members as { userId: string; bundle?: object }[];
      expect(members.every((member) => member.bundle !== undefined)).toBe(true);
      seen.push(...members.map((member) => member.userId));
      after = reply.next as string | undefined;
      pages++;
    } while (after);
    expect(pages).toBeGreaterThan(1); // one page would be over 128 KB
    expect(seen).toEqual(
      Array.from({ length: PRODUCTION_LIMITS.groupMemberCap }, (_, i) => memberName(i)),
    );
    expect(Math.max(...rawReplies)).toBeLessThanOrEqual(WS_LIMITS.maxMessageBytes);
  });

  it('pages sharekey fetch by bytes: big statements and key-shares, every epoch once', async () => {
    const epochs: number[] = [];
    let after: number | undefined;
    do {
      const reply = await asker.client.request('sharekey', {
        op: 'fetch',
        groupId: GROUP,
        ...(after !== undefined && { after }),
      });
      expect(reply.type, JSON.stringify(reply).slice(0, 200)).toBe('ok');
      epochs.push(...(reply.keyShares as { epoch: number }[]).map((share) => share.epoch));
      after = reply.next as number | undefined;
    } while (after !== undefined);
    expect(epochs).toEqual([1, 2, 3, 4, 5]);
    expect(Math.max(...rawReplies)).toBeLessThanOrEqual(WS_LIMITS.maxMessageBytes);
  });
});
