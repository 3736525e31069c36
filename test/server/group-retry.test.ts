/**
 * A retried `sendgroup` whose first attempt died after recording the members' numbers and before
 * writing their pointers: soon after, the retry writes the pointers at the recorded numbers; long
 * after (when a cursor may have crossed those empty numbers), it moves each member to a new one.
 */
import { randomUUID } from 'node:crypto';
import { DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../infra/local/stack';
import { localTableName } from '../../infra/resources';
import type { ServerEvent } from '../../protocol/frames';
import { ATTEMPT_MAX_MS } from '../../lambdas/core/cursor';
import { fanOutToGroup, type GroupFanOutInput } from '../../lambdas/core/group-send';
import { makeDynamoClient } from '../../lambdas/runtime/aws';
import { serverDeps, type ServerDeps } from '../../lambdas/runtime/deps';
import type { RouteContext } from '../../lambdas/runtime/route';
import type { GroupInboxStore } from '../../lambdas/stores/group-ports';
import { fakeEnvelope, signupUser, type TestUser } from '../support/accounts';
import { startTestStack } from '../support/local-stack';

let stack: LocalStack;
let members: TestUser[];
const GROUP = 'retries';

beforeAll(async () => {
  stack = await startTestStack();
  const url = stack.endpoints.websocket;
  members = await Promise.all(['ann', 'ben', 'cat'].map((name) => signupUser(url, name)));
  for (const member of members) await member.client.request('join', { groupId: GROUP });
  const stored = await members[0]!.client.request('sharekey', {
    op: 'store',
    groupId: GROUP,
    epoch: 1,
    statement: fakeEnvelope(400),
    keyShares: members.map((m) => ({
      to: m.username,
      messageId: randomUUID(),
      envelope: fakeEnvelope(180),
    })),
  });
  expect(stored.type).toBe('ok');
});
afterAll(async () => {
  for (const member of members) member.client.close();
  await stack.stop();
});

/** The real stores, at a chosen time, optionally with another group inbox. */
function depsAt(now: number, groupInbox?: GroupInboxStore): ServerDeps {
  const real = serverDeps();
  return {
    users: real.users,
    sessions: real.sessions,
    devices: real.devices,
    connections: real.connections,
    inbox: real.inbox,
    counters: real.counters,
    groups: real.groups,
    groupMessages: real.groupMessages,
    groupInbox: groupInbox ?? real.groupInbox,
    blobs: real.blobs,
    blobObjects: real.blobObjects,
    limits: real.limits,
    deviceCredentialKey: () => real.deviceCredentialKey(),
    now: () => now,
  };
}

/** Fault injection only: the handler dies after recording the numbers, before any pointer. */
const diesBeforePointers = (): GroupInboxStore => {
  const real = serverDeps().groupInbox;
  return {
    allocateSeqs: (recipients) => real.allocateSeqs(recipients),
    missingItems: (seqs) => real.missingItems(seqs),
    writePointers: async () => {
      throw new Error('the handler died');
    },
  };
};

const pushed: ServerEvent[] = [];
const context: RouteContext = {
  connectionId: 'test-connection',
  requestId: 'test-request',
  sourceIp: '127.0.0.1',
  receivedAt: Date.now(),
  push: async (event) => {
    pushed.push(event);
    return true;
  },
  close: async () => undefined,
  closeAfterReply: async () => undefined,
};

const message = (): GroupFanOutInput => ({
  groupId: GROUP,
  epoch: 1,
  from: 'ann',
  messageId: randomUUID(),
  envelope: fakeEnvelope(64),
});

async function itemsFor(userId: string, messageId: string) {
  const db = DynamoDBDocumentClient.from(makeDynamoClient(stack.endpoints.dynamodb));
  const { Items } = await db.send(
    new QueryCommand({
      TableName: localTableName('inbox'),
      KeyConditionExpression: 'userId = :u',
      ExpressionAttributeValues: { ':u': userId },
      ConsistentRead: true,
    }),
  );
  return (Items ?? [])
    .filter((item) => item.messageId === messageId)
    .map(({ kind, seq }) => ({ kind: kind as string, seq: seq as number }));
}

/** Runs the dying first attempt; returns the numbers it recorded. */
async function diedAfterRecording(input: GroupFanOutInput, now: number) {
  await expect(fanOutToGroup(depsAt(now, diesBeforePointers()), context, input)).rejects.toThrow(
    'the handler died',
  );
  const body = await serverDeps().groupMessages.getMessage(GROUP, 'ann', input.messageId, now);
  for (const userId of ['ben', 'cat']) expect(await itemsFor(userId, input.messageId)).toEqual([]);
  return body!.seqs!;
}

describe('a sendgroup retry after the first attempt died before its pointers', () => {
  it('soon after: writes the pointers at the numbers the first attempt recorded', async () => {
    const input = message();
    const t0 = Date.now();
    const recorded = await diedAfterRecording(input, t0);
    const retry = await fanOutToGroup(depsAt(t0 + 5_000), context, input);
    expect(retry.duplicate).toBe(true);
    for (const userId of ['ben', 'cat'])
      expect(await itemsFor(userId, input.messageId)).toEqual([
        { kind: 'group-message', seq: recorded[userId] },
      ]);
  });

  it('long after: moves each member whose pointer is missing to a new number', async () => {
    const input = message();
    const t0 = Date.now();
    const recorded = await diedAfterRecording(input, t0);
    pushed.length = 0;
    await fanOutToGroup(depsAt(t0 + ATTEMPT_MAX_MS + 1_000), context, input);
    const body = await serverDeps().groupMessages.getMessage(GROUP, 'ann', input.messageId, t0);
    for (const userId of ['ben', 'cat']) {
      const moved = body!.seqs![userId]!;
      expect(moved).toBeGreaterThan(recorded[userId]!);
      expect(await itemsFor(userId, input.messageId)).toEqual([
        { kind: 'group-message', seq: moved },
      ]);
    }
    const pushedSeqs = pushed.map((event) => (event as { seq?: number }).seq);
    expect(pushedSeqs.sort()).toEqual([body!.seqs!.ben, body!.seqs!.cat].sort());
    // Once moved and written, a later retry finds nothing missing and changes nothing.
    await fanOutToGroup(depsAt(t0 + 2 * ATTEMPT_MAX_MS), context, input);
    const again = await serverDeps().groupMessages.getMessage(GROUP, 'ann', input.messageId, t0);
    expect(again!.seqs).toEqual(body!.seqs);
  });

  it('long after, two racing retries: one pointer per member, the other numbers skipped', async () => {
    const input = message();
    const t0 = Date.now();
    await diedAfterRecording(input, t0);
    const late = depsAt(t0 + ATTEMPT_MAX_MS + 1_000);
    await Promise.all([fanOutToGroup(late, context, input), fanOutToGroup(late, context, input)]);
    const body = await serverDeps().groupMessages.getMessage(GROUP, 'ann', input.messageId, t0);
    for (const userId of ['ben', 'cat']) {
      const items = await itemsFor(userId, input.messageId);
      expect(items.filter((item) => item.kind === 'group-message')).toEqual([
        { kind: 'group-message', seq: body!.seqs![userId] },
      ]);
      expect(items.filter((item) => item.kind === 'skipped')).toHaveLength(1);
    }
  });
});

describe('moving recorded numbers', () => {
  it('moves 120 members in bounded updates, leaving alone those another attempt moved first', async () => {
    const groupMessages = serverDeps().groupMessages;
    const now = Date.now();
    const body = {
      groupId: GROUP,
      epoch: 1,
      from: 'ann',
      messageId: randomUUID(),
      envelope: fakeEnvelope(64),
      sentAt: now,
      expiresAt: now + 60_000,
    };
    expect(await groupMessages.putMessage(body)).toBe(true);
    const ids = Array.from({ length: 120 }, (_, i) => `member-${i}`);
    const old = Object.fromEntries(ids.map((id, i) => [id, i + 1]));
    await groupMessages.recordSeqs(body, old, now);
    // Another attempt already moved the first three.
    const theirs = Object.fromEntries(
      ids.slice(0, 3).map((id) => [id, { from: old[id]!, to: 900 }]),
    );
    await groupMessages.moveSeqs(body, theirs, now);
    const ours = Object.fromEntries(ids.map((id, i) => [id, { from: old[id]!, to: 1000 + i }]));
    const recorded = await groupMessages.moveSeqs(body, ours, now);
    expect(ids.slice(0, 3).map((id) => recorded[id])).toEqual([900, 900, 900]);
    expect(ids.slice(3).every((id, i) => recorded[id] === 1003 + i)).toBe(true);
  });
});
