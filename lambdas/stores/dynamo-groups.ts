/**
 * Groups in DynamoDB. The group item holds the member set, its count and the current epoch, and
 * every change to them is one conditional update, so the count cannot drift and an epoch is
 * claimed exactly once. The `members` table is the per-user index behind "my groups"; the
 * `groupKeys` table holds epoch records, key-shares and group message bodies (stored once).
 */
import {
  BatchGetCommand,
  DeleteCommand,
  GetCommand,
  PutCommand,
  QueryCommand,
  ScanCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import { ProtocolError } from '../../protocol/errors';
import { fromTtl, isConditionFailure, isLive, toTtl, conditionHolds } from './dynamo-common';
import type {
  ClaimOutcome,
  EpochRecord,
  GroupMessageBody,
  GroupRecord,
  GroupStore,
  JoinOutcome,
  KeyShareRecord,
  LeaveOutcome,
  Page,
} from './group-ports';

const EPOCH_DIGITS = 10;
const pad = (epoch: number) => String(epoch).padStart(EPOCH_DIGITS, '0');
export const epochKey = (epoch: number) => `epoch#${pad(epoch)}`;
export const shareKey = (to: string, epoch: number) => `share#${to}#${pad(epoch)}`;
export const messageKey = (from: string, messageId: string) => `msg#${from}#${messageId}`;

const BATCH_GET_MAX = 100;

function fromItem(item: Record<string, unknown>): GroupRecord {
  const members = item.memberIds as Set<string> | undefined;
  return {
    groupId: item.groupId as string,
    createdBy: item.createdBy as string,
    createdAt: item.createdAt as number,
    memberIds: [...(members ?? [])].sort(),
    memberCount: (item.memberCount as number | undefined) ?? 0,
    rosterVersion: (item.rosterVersion as number | undefined) ?? 0,
    epoch: (item.epoch as number | undefined) ?? 0,
    epochBy: item.epochBy as string | undefined,
    epochStatementHash: item.epochStatementHash as string | undefined,
    epochMembers: (item.epochMembers as string[] | undefined) ?? [],
  };
}

const encodeCursor = (key: Record<string, unknown>) =>
  Buffer.from(JSON.stringify(key)).toString('base64url');

function decodeCursor(cursor: string, fields: readonly string[]): Record<string, string> {
  try {
    const key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (
      typeof key === 'object' &&
      key !== null &&
      Object.keys(key).length === fields.length &&
      fields.every((field) => typeof (key as Record<string, unknown>)[field] === 'string')
    )
      return key as Record<string, string>;
  } catch {
    // not JSON: refused below
  }
  throw new ProtocolError(
    'BAD_REQUEST',
    'That page cursor is not valid: pass the `next` of the previous page, or none to start over.',
  );
}

/** Recipients moved to new numbers per UpdateItem (lambdas/core/group-send.ts). */
const MOVES_PER_UPDATE = 50;

export class DynamoGroupStore implements GroupStore {
  /** Table names are resolved on use, so a route needs the variables of only the tables it touches. */
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableOf: (table: 'groups' | 'members' | 'groupKeys') => string,
  ) {}

  private get groupsTable() {
    return this.tableOf('groups');
  }
  private get membersTable() {
    return this.tableOf('members');
  }
  private get keysTable() {
    return this.tableOf('groupKeys');
  }

  async create(groupId: string, creator: string, now: number): Promise<boolean> {
    return conditionHolds(
      this.db.send(
        new PutCommand({
          TableName: this.groupsTable,
          Item: {
            groupId,
            createdBy: creator,
            createdAt: now,
            memberIds: new Set([creator]),
            memberCount: 1,
            rosterVersion: 1,
            epoch: 0,
            epochMembers: [],
          },
          ConditionExpression: 'attribute_not_exists(groupId)',
        }),
      ),
    );
  }

  async get(groupId: string): Promise<GroupRecord | undefined> {
    const { Item } = await this.db.send(
      new GetCommand({ TableName: this.groupsTable, Key: { groupId }, ConsistentRead: true }),
    );
    return Item && fromItem(Item);
  }

  async addMember(groupId: string, userId: string, cap: number): Promise<JoinOutcome> {
    for (let attempt = 0; ; attempt++) {
      try {
        const { Attributes } = await this.db.send(
          new UpdateCommand({
            TableName: this.groupsTable,
            Key: { groupId },
            UpdateExpression: 'ADD memberIds :m, memberCount :one, rosterVersion :one',
            ConditionExpression:
              'attribute_exists(groupId) AND NOT contains(memberIds, :id) AND memberCount < :cap',
            ExpressionAttributeValues: {
              ':m': new Set([userId]),
              ':id': userId,
              ':one': 1,
              ':cap': cap,
            },
            ReturnValues: 'ALL_NEW',
          }),
        );
        return { outcome: 'joined', group: fromItem(Attributes!) };
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
        const group = await this.get(groupId);
        if (!group) return { outcome: 'missing' };
        if (group.memberIds.includes(userId)) return { outcome: 'already-member', group };
        if (group.memberCount >= cap || attempt >= 3) return { outcome: 'full', group };
        // Someone left between our update and our read: try again.
      }
    }
  }

  async removeMember(groupId: string, userId: string): Promise<LeaveOutcome> {
    try {
      const { Attributes } = await this.db.send(
        new UpdateCommand({
          TableName: this.groupsTable,
          Key: { groupId },
          UpdateExpression: 'DELETE memberIds :m ADD memberCount :minusOne, rosterVersion :one',
          ConditionExpression: 'contains(memberIds, :id)',
          ExpressionAttributeValues: {
            ':m': new Set([userId]),
            ':id': userId,
            ':one': 1,
            ':minusOne': -1,
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return { outcome: 'left', group: fromItem(Attributes!) };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      const group = await this.get(groupId);
      return group ? { outcome: 'not-member', group } : { outcome: 'missing' };
    }
  }

  async putMembership(userId: string, groupId: string, now: number): Promise<void> {
    await this.db.send(
      new PutCommand({ TableName: this.membersTable, Item: { userId, groupId, joinedAt: now } }),
    );
  }

  async deleteMembership(userId: string, groupId: string): Promise<void> {
    await this.db.send(
      new DeleteCommand({ TableName: this.membersTable, Key: { userId, groupId } }),
    );
  }

  async listMine(userId: string, limit: number, cursor?: string): Promise<Page<string>> {
    const start = cursor === undefined ? undefined : decodeCursor(cursor, ['userId', 'groupId']);
    if (start && start.userId !== userId)
      throw new ProtocolError('BAD_REQUEST', 'That page cursor belongs to another listing.');
    const page = await this.db.send(
      new QueryCommand({
        TableName: this.membersTable,
        KeyConditionExpression: 'userId = :u',
        ExpressionAttributeValues: { ':u': userId },
        ConsistentRead: true,
        Limit: limit,
        ExclusiveStartKey: start,
      }),
    );
    return {
      items: (page.Items ?? []).map((item) => item.groupId as string),
      ...(page.LastEvaluatedKey && { next: encodeCursor(page.LastEvaluatedKey) }),
    };
  }

  async listAll(
    limit: number,
    cursor?: string,
  ): Promise<Page<{ groupId: string; memberCount: number }>> {
    const page = await this.db.send(
      new ScanCommand({
        TableName: this.groupsTable,
        ProjectionExpression: 'groupId, memberCount',
        Limit: limit,
        ExclusiveStartKey: cursor === undefined ? undefined : decodeCursor(cursor, ['groupId']),
      }),
    );
    return {
      items: (page.Items ?? []).map((item) => ({
        groupId: item.groupId as string,
        memberCount: (item.memberCount as number | undefined) ?? 0,
      })),
      ...(page.LastEvaluatedKey && { next: encodeCursor(page.LastEvaluatedKey) }),
    };
  }

  async counts(groupIds: readonly string[]): Promise<Map<string, number>> {
    const counts = new Map<string, number>();
    for (let i = 0; i < groupIds.length; i += BATCH_GET_MAX) {
      let keys: Record<string, unknown>[] = groupIds
        .slice(i, i + BATCH_GET_MAX)
        .map((groupId) => ({ groupId }));
      for (let attempt = 0; keys.length > 0; attempt++) {
        if (attempt > 0)
          await new Promise((resolve) => setTimeout(resolve, Math.random() * 25 * 2 ** attempt));
        const { Responses, UnprocessedKeys } = await this.db.send(
          new BatchGetCommand({
            RequestItems: {
              [this.groupsTable]: {
                Keys: keys,
                ProjectionExpression: 'groupId, memberCount',
                ConsistentRead: true,
              },
            },
          }),
        );
        for (const item of Responses?.[this.groupsTable] ?? [])
          counts.set(item.groupId as string, (item.memberCount as number | undefined) ?? 0);
        keys = UnprocessedKeys?.[this.groupsTable]?.Keys ?? [];
      }
    }
    return counts;
  }

  async claimEpoch(claim: {
    groupId: string;
    epoch: number;
    proposer: string;
    statementHash: string;
    rosterVersion: number;
    members: readonly string[];
    now: number;
  }): Promise<ClaimOutcome> {
    try {
      const { Attributes } = await this.db.send(
        new UpdateCommand({
          TableName: this.groupsTable,
          Key: { groupId: claim.groupId },
          UpdateExpression:
            'SET epoch = :epoch, epochBy = :by, epochStatementHash = :hash, epochMembers = :members, epochAt = :now',
          ConditionExpression:
            'epoch = :previous AND rosterVersion = :roster AND contains(memberIds, :by)',
          ExpressionAttributeValues: {
            ':epoch': claim.epoch,
            ':previous': claim.epoch - 1,
            ':by': claim.proposer,
            ':hash': claim.statementHash,
            // Read with `rosterVersion`; the roster condition makes it the member set the update sees.
            ':members': [...claim.members],
            ':roster': claim.rosterVersion,
            ':now': claim.now,
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return { outcome: 'claimed', group: fromItem(Attributes!) };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      return { outcome: 'stale', group: await this.get(claim.groupId) };
    }
  }

  async putEpoch(record: EpochRecord): Promise<boolean> {
    return this.putNew({ ...record, sk: epochKey(record.epoch) });
  }

  async getEpoch(groupId: string, epoch: number): Promise<EpochRecord | undefined> {
    const item = await this.getKey(groupId, epochKey(epoch));
    return item && (strip(item) as unknown as EpochRecord);
  }

  async putKeyShare(share: KeyShareRecord): Promise<boolean> {
    return this.putNew({ ...share, sk: shareKey(share.to, share.epoch) });
  }

  async getKeyShare(
    groupId: string,
    epoch: number,
    to: string,
  ): Promise<KeyShareRecord | undefined> {
    const item = await this.getKey(groupId, shareKey(to, epoch));
    return item && (strip(item) as unknown as KeyShareRecord);
  }

  async keySharesFor(
    groupId: string,
    to: string,
    after: number,
    limit: number,
  ): Promise<KeyShareRecord[]> {
    const { Items } = await this.db.send(
      new QueryCommand({
        TableName: this.keysTable,
        KeyConditionExpression: 'groupId = :g AND sk BETWEEN :from AND :to',
        ExpressionAttributeValues: {
          ':g': groupId,
          ':from': shareKey(to, after + 1),
          ':to': shareKey(to, 10 ** EPOCH_DIGITS - 1),
        },
        ConsistentRead: true,
        Limit: limit,
      }),
    );
    return (Items ?? []).map((item) => strip(item) as unknown as KeyShareRecord);
  }

  async putMessage(body: GroupMessageBody): Promise<boolean> {
    return this.putNew({
      ...body,
      sk: messageKey(body.from, body.messageId),
      expiresAt: toTtl(body.expiresAt),
    });
  }

  async getMessage(
    groupId: string,
    from: string,
    messageId: string,
    now: number,
  ): Promise<GroupMessageBody | undefined> {
    const item = await this.getKey(groupId, messageKey(from, messageId));
    if (!item || !isLive(item, now)) return undefined;
    return {
      ...(strip(item) as unknown as GroupMessageBody),
      expiresAt: fromTtl(item.expiresAt as number),
    };
  }

  async recordSeqs(
    body: Pick<GroupMessageBody, 'groupId' | 'from' | 'messageId'>,
    seqs: Readonly<Record<string, number>>,
    now: number,
  ): Promise<Readonly<Record<string, number>>> {
    const key = { groupId: body.groupId, sk: messageKey(body.from, body.messageId) };
    const recorded = await conditionHolds(
      this.db.send(
        new UpdateCommand({
          TableName: this.keysTable,
          Key: key,
          UpdateExpression: 'SET seqs = :seqs, seqsAt = :now',
          ConditionExpression: 'attribute_exists(sk) AND attribute_not_exists(seqs)',
          ExpressionAttributeValues: { ':seqs': seqs, ':now': now },
        }),
      ),
    );
    return recorded ? seqs : this.recordedSeqs(body);
  }

  async moveSeqs(
    body: Pick<GroupMessageBody, 'groupId' | 'from' | 'messageId'>,
    moves: Readonly<Record<string, { readonly from: number; readonly to: number }>>,
    now: number,
  ): Promise<Readonly<Record<string, number>>> {
    const key = { groupId: body.groupId, sk: messageKey(body.from, body.messageId) };
    let pending = Object.entries(moves);
    while (pending.length > 0) {
      // A bounded chunk keeps each expression well under DynamoDB's 4 KB limit.
      const chunk = pending.slice(0, MOVES_PER_UPDATE);
      const moved = await conditionHolds(
        this.db.send(
          new UpdateCommand({
            TableName: this.keysTable,
            Key: key,
            UpdateExpression: `SET seqsAt = :now, ${chunk.map((_, i) => `seqs.#m${i} = :to${i}`).join(', ')}`,
            ConditionExpression: chunk.map((_, i) => `seqs.#m${i} = :from${i}`).join(' AND '),
            ExpressionAttributeNames: Object.fromEntries(
              chunk.map(([userId], i) => [`#m${i}`, userId]),
            ),
            ExpressionAttributeValues: Object.fromEntries([
              [':now', now],
              ...chunk.flatMap(([, move], i) => [
                [`:from${i}`, move.from],
                [`:to${i}`, move.to],
              ]),
            ]),
          }),
        ),
      );
      if (moved) {
        pending = pending.slice(chunk.length);
        continue;
      }
      // Another attempt moved some of them first: retry with those still at their old number.
      const recorded = await this.recordedSeqs(body);
      pending = pending.filter(([userId, move]) => recorded[userId] === move.from);
    }
    return this.recordedSeqs(body);
  }

  private async recordedSeqs(
    body: Pick<GroupMessageBody, 'groupId' | 'from' | 'messageId'>,
  ): Promise<Readonly<Record<string, number>>> {
    const item = await this.getKey(body.groupId, messageKey(body.from, body.messageId));
    if (!item?.seqs) throw new Error('group message body vanished while recording its fan-out');
    return item.seqs as Record<string, number>;
  }

  private async putNew(item: Record<string, unknown>): Promise<boolean> {
    return conditionHolds(
      this.db.send(
        new PutCommand({
          TableName: this.keysTable,
          Item: item,
          ConditionExpression: 'attribute_not_exists(sk)',
        }),
      ),
    );
  }

  private async getKey(groupId: string, sk: string) {
    const { Item } = await this.db.send(
      new GetCommand({ TableName: this.keysTable, Key: { groupId, sk }, ConsistentRead: true }),
    );
    return Item;
  }
}

function strip(item: Record<string, unknown>): Record<string, unknown> {
  const { sk: _sk, ...rest } = item;
  return rest;
}
