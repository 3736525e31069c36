/**
 * Claim and skip (lambdas/stores/message-claims.ts), for both kinds of stream: a retried message
 * whose first attempt died between claiming its id and writing its entry. Soon after, the retry
 * fills the first attempt's number; long after (when a page may have covered that empty number),
 * it keeps its own number and moves the claim there; of two late retries, one wins.
 */
import { randomUUID } from 'node:crypto';
import {
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../infra/local/stack';
import { localTableName } from '../../infra/local/names';
import { ATTEMPT_MAX_MS } from '../../lambdas/timing';
import { makeDynamoClient } from '../../lambdas/runtime/aws';
import { DynamoGroupLogStore } from '../../lambdas/stores/group-log';
import { DynamoInboxStore } from '../../lambdas/stores/inbox';
import type { Appended } from '../../lambdas/stores/message-claims';
import { startTestStack } from '../../tools/local-stack';

let stack: LocalStack;
let db: DynamoDBClient;
beforeAll(async () => {
  stack = await startTestStack();
  db = makeDynamoClient(stack.endpoints.dynamodb);
});
afterAll(() => stack.stop());

const CLAIMS = localTableName('messageClaims');

/** One kind of stream: how to take its next number, append to it, and read it back. */
interface StreamUnderTest {
  readonly name: string;
  readonly table: string;
  /** The partition: a user's inbox, or a group's log. */
  readonly keyName: 'userId' | 'groupId';
  claimKey(owner: string, messageId: string): string;
  append(
    client: DynamoDBClient,
    owner: string,
    seq: number,
    messageId: string,
    now: number,
  ): Promise<Appended>;
}

const STREAMS: StreamUnderTest[] = [
  {
    name: 'a user inbox',
    table: localTableName('inbox'),
    keyName: 'userId',
    claimKey: (owner, messageId) => `msg#${owner}#alice#${messageId}`,
    append: (client, owner, seq, messageId, now) =>
      new DynamoInboxStore(client, localTableName('inbox'), () => CLAIMS).appendAt(
        owner,
        seq,
        { kind: 'message', from: 'alice', messageId, envelope: 'AAAA', sentAt: now },
        now,
      ),
  },
  {
    name: 'a group log',
    table: localTableName('groupLog'),
    keyName: 'groupId',
    claimKey: (owner, messageId) => `gmsg#${owner}#alice#${messageId}`,
    append: (client, owner, seq, messageId, now) =>
      new DynamoGroupLogStore(client, localTableName('groupLog'), () => CLAIMS).appendMessage(
        seq,
        {
          kind: 'message',
          groupId: owner,
          from: 'alice',
          messageId,
          epoch: 1,
          envelope: 'AAAA',
          sentAt: now,
        },
        now,
      ),
  },
];

/** The stream's next number, as the mailbox or the group item would hand it out. */
async function takeNumber(owner: string): Promise<number> {
  const { Attributes } = await db.send(
    new UpdateItemCommand({
      TableName: CLAIMS,
      Key: { key: { S: `test-seq#${owner}` } },
      UpdateExpression: 'ADD #n :one',
      ExpressionAttributeNames: { '#n': 'n' },
      ExpressionAttributeValues: { ':one': { N: '1' } },
      ReturnValues: 'UPDATED_NEW',
    }),
  );
  return Number(Attributes!.n!.N);
}

/** Fault injection only: the entry's write fails once the claim next to it has gone through. */
function crashingBeforeItsEntry(table: string): DynamoDBClient {
  return {
    send: async (command: unknown) => {
      if (command instanceof PutItemCommand && command.input.TableName === table) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        throw new Error('the handler died');
      }
      return db.send(command as never);
    },
  } as unknown as DynamoDBClient;
}

describe.each(STREAMS)(
  'a retry in $name after the first attempt died between its claim and its entry',
  (stream) => {
    async function entriesOf(owner: string, messageId: string) {
      const { Items } = await db.send(
        new QueryCommand({
          TableName: stream.table,
          KeyConditionExpression: '#k = :o',
          ExpressionAttributeNames: { '#k': stream.keyName },
          ExpressionAttributeValues: { ':o': { S: owner } },
          ConsistentRead: true,
        }),
      );
      return (Items ?? [])
        .map((item) => unmarshall(item))
        .filter((item) => item.messageId === messageId)
        .map(({ kind, seq, sentAt }) => ({ kind: kind as string, seq: seq as number, sentAt }));
    }

    async function diedAfterClaiming(
      owner: string,
      messageId: string,
      now: number,
    ): Promise<number> {
      await expect(
        stream.append(
          crashingBeforeItsEntry(stream.table),
          owner,
          await takeNumber(owner),
          messageId,
          now,
        ),
      ).rejects.toThrow('the handler died');
      const { Item } = await db.send(
        new GetItemCommand({
          TableName: CLAIMS,
          Key: { key: { S: stream.claimKey(owner, messageId) } },
          ConsistentRead: true,
        }),
      );
      expect(await entriesOf(owner, messageId)).toEqual([]);
      return Number(Item!.seq!.N);
    }

    it('a first attempt writes its entry and holds the claim; a plain retry is a duplicate with its time', async () => {
      const owner = `o-${randomUUID()}`;
      const id = randomUUID();
      const t0 = Date.now();
      const first = await stream.append(db, owner, await takeNumber(owner), id, t0);
      expect(first).toMatchObject({ duplicate: false, sentAt: t0 });
      const retry = await stream.append(db, owner, await takeNumber(owner), id, t0 + 1_000);
      expect(retry).toEqual({ seq: first.seq, duplicate: true, sentAt: t0 });
      expect(await entriesOf(owner, id)).toEqual([
        { kind: 'message', seq: first.seq, sentAt: t0 },
        { kind: 'skipped', seq: first.seq + 1, sentAt: t0 + 1_000 },
      ]);
    });

    it('soon after: stores the message at the number the first attempt claimed', async () => {
      const owner = `o-${randomUUID()}`;
      const id = randomUUID();
      const t0 = Date.now();
      const claimed = await diedAfterClaiming(owner, id, t0);
      const retry = await stream.append(db, owner, await takeNumber(owner), id, t0 + 5_000);
      expect(retry).toEqual({ seq: claimed, duplicate: true, sentAt: t0 });
      const stored = await entriesOf(owner, id);
      expect(stored.find((entry) => entry.kind === 'message')?.seq).toBe(claimed);
      expect(stored.filter((entry) => entry.kind === 'skipped')).toHaveLength(1);
    });

    it('long after: keeps its own number, since a page may have covered the empty one', async () => {
      const owner = `o-${randomUUID()}`;
      const id = randomUUID();
      const t0 = Date.now();
      const claimed = await diedAfterClaiming(owner, id, t0);
      const late = t0 + ATTEMPT_MAX_MS + 1_000;
      const retry = await stream.append(db, owner, await takeNumber(owner), id, late);
      expect(retry.duplicate).toBe(false);
      expect(retry.seq).toBeGreaterThan(claimed);
      expect((await entriesOf(owner, id)).map(({ kind, seq }) => ({ kind, seq }))).toEqual([
        { kind: 'message', seq: retry.seq },
      ]);
      // The claim moved: a further retry is a duplicate of the new number, not of the empty one.
      const again = await stream.append(db, owner, await takeNumber(owner), id, late + 1_000);
      expect(again).toEqual({ seq: retry.seq, duplicate: true, sentAt: late });
    });

    it('long after, two racing retries: one message, at the number one of them moved the claim to', async () => {
      const owner = `o-${randomUUID()}`;
      const id = randomUUID();
      const t0 = Date.now();
      await diedAfterClaiming(owner, id, t0);
      const late = t0 + ATTEMPT_MAX_MS + 1_000;
      const results = await Promise.all([
        stream.append(db, owner, await takeNumber(owner), id, late),
        stream.append(db, owner, await takeNumber(owner), id, late),
      ]);
      const stored = await entriesOf(owner, id);
      const messages = stored.filter((entry) => entry.kind === 'message');
      expect(messages).toHaveLength(1);
      expect(results.map((r) => r.seq)).toEqual([messages[0]!.seq, messages[0]!.seq]);
      expect(results.filter((r) => !r.duplicate)).toHaveLength(1);
      expect(stored.filter((entry) => entry.kind === 'skipped')).toHaveLength(1);
    });
  },
);
