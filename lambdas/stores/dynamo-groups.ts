/**
 * Groups in DynamoDB. The group item holds the member set, its count, the current epoch and the
 * counter of the group's log, and every change to them is one conditional update, so the count
 * cannot drift, an epoch is claimed exactly once, and each log number goes to one entry. The
 * `members` table holds each user's membership rows (its place in the log; behind "my groups");
 * the `groupKeys` table holds epoch records and key-shares.
 */
import {
  GetCommand,
  PutCommand,
  QueryCommand,
  ScanCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import { ProtocolError } from '../../protocol/errors';
import { checkGroupName, normalizeGroupName } from '../../protocol/groups';
import { checkUsername, normalizeName } from '../../protocol/username';
import { batchGetDocuments, conditionHolds, isConditionFailure } from './dynamo-common';
import { getKeysItem, putNewKeysItem, strip } from './dynamo-group-keys-table';
import type {
  ArtefactSlot,
  ClaimOutcome,
  EpochClaim,
  EpochRecord,
  GroupRecord,
  GroupStore,
  JoinOutcome,
  KeyShareRecord,
  LeaveOutcome,
  LogHead,
  Membership,
  Page,
  SeqOutcome,
  StoredArtefact,
} from './group-ports';

const EPOCH_DIGITS = 10;
const pad = (epoch: number) => String(epoch).padStart(EPOCH_DIGITS, '0');
export const epochKey = (epoch: number) => `epoch#${pad(epoch)}`;
export const shareKey = (to: string, epoch: number) => `share#${to}#${pad(epoch)}`;
const artefactKey = (slot: ArtefactSlot, userId: string) => `${slot}#${userId}`;
const claimKey = (epoch: number, hash: string) => `claim#${pad(epoch)}#${hash}`;

function claimOf(item: Record<string, unknown>): EpochClaim | undefined {
  if (item.claimEpoch === undefined) return undefined;
  return {
    epoch: item.claimEpoch as number,
    by: item.claimBy as string,
    statementHash: item.claimHash as string,
    at: item.claimAt as number,
    members: (item.claimMembers as string[] | undefined) ?? [],
  };
}

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
    admins: (item.admins as string[] | undefined) ?? [item.createdBy as string],
    closed: item.closed === true,
    departed: [...((item.departed as Set<string> | undefined) ?? [])].sort(),
    ...(claimOf(item) && { claim: claimOf(item) }),
    logSeq: (item.logSeq as number | undefined) ?? 0,
    epochLogSeq: item.epochLogSeq as number | undefined,
  };
}

/** Takes the next log number in an update expression (groups from before logs have no counter). */
const NEXT_LOG_SEQ = 'logSeq = if_not_exists(logSeq, :zero) + :one';

const encodeCursor = (key: Record<string, unknown>) =>
  Buffer.from(JSON.stringify(key)).toString('base64url');

/** A cursor's key fields must be what the listing itself writes: a group id, a user id. */
const CURSOR_FIELDS = {
  groupId: (value: string) => checkGroupName(value).ok && normalizeGroupName(value) === value,
  userId: (value: string) => checkUsername(value).ok && normalizeName(value) === value,
} as const;

/**
 * The start key a `next` token stands for. A crafted token is BAD_REQUEST here, never a
 * DynamoDB ValidationException (an empty or overlong key, a key of the wrong shape).
 */
function decodeCursor(
  cursor: string,
  fields: readonly (keyof typeof CURSOR_FIELDS)[],
): Record<string, string> {
  try {
    const key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (
      typeof key === 'object' &&
      key !== null &&
      Object.keys(key).length === fields.length &&
      fields.every((field) => {
        const value = (key as Record<string, unknown>)[field];
        return typeof value === 'string' && CURSOR_FIELDS[field](value);
      })
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

  async create(groupId: string, creator: string, now: number): Promise<GroupRecord | undefined> {
    const item = {
      groupId,
      createdBy: creator,
      createdAt: now,
      memberIds: new Set([creator]),
      memberCount: 1,
      rosterVersion: 1,
      epoch: 0,
      epochMembers: [],
      admins: [creator],
      closed: false,
      logSeq: 1, // the creator's join
    };
    const created = await conditionHolds(
      this.db.send(
        new PutCommand({
          TableName: this.groupsTable,
          Item: item,
          ConditionExpression: 'attribute_not_exists(groupId)',
        }),
      ),
    );
    return created ? fromItem(item) : undefined;
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
            UpdateExpression: `ADD memberIds :m, memberCount :one, rosterVersion :one SET ${NEXT_LOG_SEQ}`,
            ConditionExpression:
              'attribute_exists(groupId) AND NOT contains(memberIds, :id) AND memberCount < :cap',
            ExpressionAttributeValues: {
              ':m': new Set([userId]),
              ':id': userId,
              ':one': 1,
              ':zero': 0,
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
          UpdateExpression: `DELETE memberIds :m ADD memberCount :minusOne, rosterVersion :one, departed :m SET ${NEXT_LOG_SEQ}`,
          ConditionExpression: 'contains(memberIds, :id)',
          ExpressionAttributeValues: {
            ':m': new Set([userId]),
            ':id': userId,
            ':one': 1,
            ':zero': 0,
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

  async takeMessageSeq(groupId: string, from: string, epoch: number): Promise<SeqOutcome> {
    try {
      const { Attributes } = await this.db.send(
        new UpdateCommand({
          TableName: this.groupsTable,
          Key: { groupId },
          UpdateExpression: `SET ${NEXT_LOG_SEQ}`,
          ConditionExpression: 'contains(memberIds, :from) AND epoch = :epoch',
          ExpressionAttributeValues: { ':from': from, ':epoch': epoch, ':zero': 0, ':one': 1 },
          ReturnValues: 'ALL_NEW',
        }),
      );
      const group = fromItem(Attributes!);
      return { outcome: 'taken', seq: group.logSeq, group };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      return { outcome: 'refused', group: await this.get(groupId) };
    }
  }

  async putMembership(userId: string, groupId: string, joinSeq: number, now: number) {
    await this.db.send(
      new PutCommand({
        TableName: this.membersTable,
        Item: { userId, groupId, joinedAt: now, joinSeq },
      }),
    );
  }

  async repairMembership(userId: string, groupId: string, joinSeq: number, now: number) {
    await conditionHolds(
      this.db.send(
        new PutCommand({
          TableName: this.membersTable,
          Item: { userId, groupId, joinedAt: now, joinSeq },
          ConditionExpression: 'attribute_not_exists(groupId) OR attribute_exists(leftSeq)',
        }),
      ),
    );
  }

  async markLeft(userId: string, groupId: string, leftSeq: number, now: number) {
    await this.db.send(
      new UpdateCommand({
        TableName: this.membersTable,
        Key: { userId, groupId },
        UpdateExpression:
          'SET leftSeq = :left, leftAt = :now, joinSeq = if_not_exists(joinSeq, :zero)',
        ExpressionAttributeValues: { ':left': leftSeq, ':now': now, ':zero': 0 },
      }),
    );
  }

  async markLeftUnknown(userId: string, groupId: string, now: number) {
    await conditionHolds(
      this.db.send(
        new UpdateCommand({
          TableName: this.membersTable,
          Key: { userId, groupId },
          UpdateExpression: 'SET leftSeq = :none, leftAt = :now',
          ConditionExpression: 'attribute_exists(groupId) AND attribute_not_exists(leftSeq)',
          ExpressionAttributeValues: { ':none': 0, ':now': now },
        }),
      ),
    );
  }

  async memberships(userId: string): Promise<Membership[]> {
    const rows: Membership[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.db.send(
        new QueryCommand({
          TableName: this.membersTable,
          KeyConditionExpression: 'userId = :u',
          ExpressionAttributeValues: { ':u': userId },
          ConsistentRead: true,
          ExclusiveStartKey: start,
        }),
      );
      for (const item of page.Items ?? [])
        rows.push({
          groupId: item.groupId as string,
          // Rows from before logs have no position: the whole log is theirs.
          joinSeq: (item.joinSeq as number | undefined) ?? 0,
          leftSeq: item.leftSeq as number | undefined,
          leftAt: item.leftAt as number | undefined,
        });
      start = page.LastEvaluatedKey;
    } while (start);
    return rows;
  }

  async logHeads(groupIds: readonly string[]): Promise<Map<string, LogHead>> {
    const items = await batchGetDocuments(
      this.db,
      this.groupsTable,
      groupIds.map((groupId) => ({ groupId })),
      'groupId, logSeq, memberIds',
    );
    return new Map(
      items.map((item) => [
        item.groupId as string,
        {
          logSeq: (item.logSeq as number | undefined) ?? 0,
          memberIds: [...((item.memberIds as Set<string> | undefined) ?? [])],
        },
      ]),
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
        // Left groups keep their row (the log position) but are not "mine".
        FilterExpression: 'attribute_not_exists(leftSeq)',
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
    const items = await batchGetDocuments(
      this.db,
      this.groupsTable,
      groupIds.map((groupId) => ({ groupId })),
      'groupId, memberCount',
    );
    return new Map(
      items.map((item) => [item.groupId as string, (item.memberCount as number | undefined) ?? 0]),
    );
  }

  async claimEpoch(claim: {
    groupId: string;
    epoch: number;
    proposer: string;
    statementHash: string;
    rosterVersion: number;
    members: readonly string[];
    now: number;
    expiredBefore: number;
  }): Promise<ClaimOutcome> {
    try {
      const { Attributes } = await this.db.send(
        new UpdateCommand({
          TableName: this.groupsTable,
          Key: { groupId: claim.groupId },
          UpdateExpression:
            'SET claimEpoch = :epoch, claimBy = :by, claimHash = :hash, claimAt = :now, claimMembers = :members',
          // A live claim of this epoch by someone else holds it; an expired one is overtaken.
          ConditionExpression:
            'epoch = :previous AND rosterVersion = :roster AND contains(memberIds, :by) AND (attribute_not_exists(claimEpoch) OR claimEpoch <> :epoch OR claimAt < :expired OR (claimBy = :by AND claimHash = :hash))',
          ExpressionAttributeValues: {
            ':epoch': claim.epoch,
            ':previous': claim.epoch - 1,
            ':by': claim.proposer,
            ':hash': claim.statementHash,
            ':members': [...claim.members],
            ':roster': claim.rosterVersion,
            ':now': claim.now,
            ':expired': claim.expiredBefore,
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

  async completeEpoch(completion: {
    groupId: string;
    claim: EpochClaim;
    admins: readonly string[];
    closed: boolean;
    carried: readonly string[];
    now: number;
  }): Promise<ClaimOutcome> {
    const { claim } = completion;
    const carried = completion.carried.length > 0;
    try {
      const { Attributes } = await this.db.send(
        new UpdateCommand({
          TableName: this.groupsTable,
          Key: { groupId: completion.groupId },
          // The epoch's log entry takes the next log number: it is current from now on.
          UpdateExpression: `SET epoch = :epoch, epochBy = :by, epochStatementHash = :hash, epochMembers = :members, epochAt = :now, admins = :admins, closed = :closed, ${NEXT_LOG_SEQ}, epochLogSeq = if_not_exists(logSeq, :zero) + :one REMOVE claimEpoch, claimBy, claimHash, claimAt, claimMembers${carried ? ' DELETE departed :carried' : ''}`,
          ConditionExpression: 'epoch = :previous AND claimEpoch = :epoch AND claimHash = :hash',
          ExpressionAttributeValues: {
            ':epoch': claim.epoch,
            ':previous': claim.epoch - 1,
            ':by': claim.by,
            ':hash': claim.statementHash,
            ':members': [...claim.members],
            ':admins': [...completion.admins],
            ':closed': completion.closed,
            ':now': completion.now,
            ':zero': 0,
            ':one': 1,
            ...(carried && { ':carried': new Set(completion.carried) }),
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return { outcome: 'claimed', group: fromItem(Attributes!) };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      return { outcome: 'stale', group: await this.get(completion.groupId) };
    }
  }

  async putClaimedStatement(groupId: string, epoch: number, hash: string, statement: string) {
    await this.db.send(
      new PutCommand({
        TableName: this.keysTable,
        Item: { groupId, sk: claimKey(epoch, hash), statement },
      }),
    );
  }

  async getClaimedStatement(groupId: string, epoch: number, hash: string) {
    const item = await getKeysItem(this.db, this.keysTable, groupId, claimKey(epoch, hash));
    return item?.statement as string | undefined;
  }

  async putArtefact(
    groupId: string,
    slot: ArtefactSlot,
    userId: string,
    artefact: string,
    now: number,
  ): Promise<void> {
    await this.db.send(
      new PutCommand({
        TableName: this.keysTable,
        Item: { groupId, sk: artefactKey(slot, userId), userId, artefact, storedAt: now },
      }),
    );
  }

  async artefactsOf(
    groupId: string,
    slot: ArtefactSlot,
    userIds: readonly string[],
  ): Promise<Map<string, StoredArtefact>> {
    if (userIds.length === 0) return new Map();
    const items = await batchGetDocuments(
      this.db,
      this.keysTable,
      userIds.map((userId) => ({ groupId, sk: artefactKey(slot, userId) })),
      'userId, artefact, storedAt',
    );
    return new Map(
      items.map((item) => [
        item.userId as string,
        { artefact: item.artefact as string, storedAt: item.storedAt as number },
      ]),
    );
  }

  async putEpoch(record: EpochRecord): Promise<boolean> {
    return putNewKeysItem(this.db, this.keysTable, { ...record, sk: epochKey(record.epoch) });
  }

  async getEpoch(groupId: string, epoch: number): Promise<EpochRecord | undefined> {
    const item = await getKeysItem(this.db, this.keysTable, groupId, epochKey(epoch));
    return item && (strip(item) as unknown as EpochRecord);
  }

  async putKeyShare(share: KeyShareRecord): Promise<boolean> {
    return conditionHolds(
      this.db.send(
        new PutCommand({
          TableName: this.keysTable,
          Item: { ...share, sk: shareKey(share.to, share.epoch) },
          ConditionExpression: 'attribute_not_exists(sk) OR statementHash <> :hash',
          ExpressionAttributeValues: { ':hash': share.statementHash ?? '' },
        }),
      ),
    );
  }

  async keySharesOfEpoch(
    groupId: string,
    epoch: number,
    to: readonly string[],
  ): Promise<Map<string, KeyShareRecord>> {
    if (to.length === 0) return new Map();
    const items = await batchGetDocuments(
      this.db,
      this.keysTable,
      to.map((userId) => ({ groupId, sk: shareKey(userId, epoch) })),
    );
    return new Map(
      items.map((item) => {
        const share = strip(item) as unknown as KeyShareRecord;
        return [share.to, share];
      }),
    );
  }

  async getKeyShare(
    groupId: string,
    epoch: number,
    to: string,
  ): Promise<KeyShareRecord | undefined> {
    const item = await getKeysItem(this.db, this.keysTable, groupId, shareKey(to, epoch));
    return item && (strip(item) as unknown as KeyShareRecord);
  }

  async keySharesOf(
    to: string,
    epochs: readonly { readonly groupId: string; readonly epoch: number }[],
  ): Promise<Map<string, KeyShareRecord>> {
    const keys = new Map(
      epochs.map(({ groupId, epoch }) => [
        `${groupId}#${epoch}`,
        { groupId, sk: shareKey(to, epoch) },
      ]),
    );
    const items = await batchGetDocuments(this.db, this.keysTable, [...keys.values()]);
    return new Map(
      items.map((item) => {
        const share = strip(item) as unknown as KeyShareRecord;
        return [`${share.groupId}#${share.epoch}`, share];
      }),
    );
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
}
