/**
 * Groups (table `groups`, key groupId): the group item holds the member set, its count, the
 * current epoch, the claim of the next one and the counter of the group's log, and every change
 * to them is one conditional update, so the count cannot drift, an epoch is claimed exactly once,
 * and each log number goes to one entry.
 */
import {
  GetCommand,
  PutCommand,
  ScanCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import type { GroupSummaryWire } from '../../protocol/groups';
import { batchGetDocuments, conditionHolds, isConditionFailure } from './dynamo-common';
import { decodeCursor, encodeCursor, type Listing } from './group-cursors';
import { S, type TableDefinition } from './table-definition';

/** One item per group; membership and its count live here so they cannot drift. */
export const groupsTable = {
  envVar: 'TABLE_GROUPS',
  partitionKey: S('groupId'),
} as const satisfies TableDefinition;

export interface GroupRecord {
  readonly groupId: string;
  readonly createdBy: string;
  readonly createdAt: number;
  readonly memberIds: readonly string[];
  readonly memberCount: number;
  /** Bumped by every join and leave: an epoch is claimed for exactly the list it read. */
  readonly rosterVersion: number;
  /** The current epoch; 0 until the creator stores epoch 1. */
  readonly epoch: number;
  /** Who made the current epoch, its statement hash (base64), and its member list. */
  readonly epochBy?: string;
  readonly epochStatementHash?: string;
  readonly epochMembers: readonly string[];
  /** The current epoch's admins (the creator before epoch 1) and closed flag. */
  readonly admins: readonly string[];
  readonly closed: boolean;
  /** Users who left or were removed and whose departure no epoch has carried yet (their leave
   * or removal artefact is stored with putArtefact). */
  readonly departed: readonly string[];
  /** The next epoch while its maker stores key-shares: current once every member has one. */
  readonly claim?: EpochClaim;
  /** The last number taken in the group's log (0 before any). */
  readonly logSeq: number;
  /** Where the current epoch's entry sits in the log (absent before the log existed). */
  readonly epochLogSeq?: number;
}

export interface EpochClaim {
  readonly epoch: number;
  readonly by: string;
  /** The claimed statement's hash (base64). */
  readonly statementHash: string;
  readonly at: number;
  /** The statement's members: each needs a key-share. */
  readonly members: readonly string[];
}

/** What a page needs of a group: how far its log goes, and who is a member now. */
export interface LogHead {
  readonly logSeq: number;
  readonly memberIds: readonly string[];
}

export type SeqOutcome =
  | { readonly outcome: 'taken'; readonly seq: number; readonly group: GroupRecord }
  /** Not a member, or not the current epoch (or no such group). */
  | { readonly outcome: 'refused'; readonly group: GroupRecord | undefined };

export type JoinOutcome =
  | { readonly outcome: 'joined'; readonly group: GroupRecord }
  | { readonly outcome: 'already-member'; readonly group: GroupRecord }
  | { readonly outcome: 'full'; readonly group: GroupRecord }
  | { readonly outcome: 'missing' };

export type LeaveOutcome =
  | { readonly outcome: 'left'; readonly group: GroupRecord }
  | { readonly outcome: 'not-member'; readonly group: GroupRecord }
  | { readonly outcome: 'missing' };

export type ClaimOutcome =
  | { readonly outcome: 'claimed'; readonly group: GroupRecord }
  /** The group moved on (another epoch, another roster, a live claim by another, or I am no
   * longer a member). */
  | { readonly outcome: 'stale'; readonly group: GroupRecord | undefined };

export interface GroupStore {
  /** Creates the group with its creator as the only member (its join is log entry 1); undefined when the id is taken. */
  create(groupId: string, creator: string, now: number): Promise<GroupRecord | undefined>;
  /** Consistent read. */
  get(groupId: string): Promise<GroupRecord | undefined>;
  /**
   * Adds a member under `NOT contains(memberIds, me) AND memberCount < cap`, taking the log number
   * of its join entry (the group's `logSeq` afterwards).
   */
  addMember(groupId: string, userId: string, cap: number): Promise<JoinOutcome>;
  /**
   * Removes a member under `contains(memberIds, me)`, taking the log number of its leave entry,
   * and notes it in `departed` until an epoch carries the departure.
   */
  removeMember(groupId: string, userId: string): Promise<LeaveOutcome>;
  /**
   * Takes the log number of a message: one conditional update that also checks that `from` is a
   * member and `epoch` is current, and answers the group as it is afterwards.
   */
  takeMessageSeq(groupId: string, from: string, epoch: number): Promise<SeqOutcome>;
  /** Many groups' log heads and members (BatchGetItem); missing groups are left out. */
  logHeads(groupIds: readonly string[]): Promise<Map<string, LogHead>>;
  /** Every group with its member count, a paginated Scan (the only Scan: LIST of all groups). */
  listAll(limit: number, cursor?: string): Promise<Listing<GroupSummaryWire>>;
  /** Many groups' member counts (missing groups are left out). */
  counts(groupIds: readonly string[]): Promise<Map<string, number>>;
  /**
   * Claims `epoch` for `proposer`, if the group is still at `epoch - 1` with roster
   * `rosterVersion`, `proposer` is a member, and no other claim of it is younger than
   * `expiredBefore`; the group stays at `epoch - 1` until completeEpoch.
   */
  claimEpoch(claim: {
    groupId: string;
    epoch: number;
    proposer: string;
    statementHash: string;
    rosterVersion: number;
    members: readonly string[];
    now: number;
    expiredBefore: number;
  }): Promise<ClaimOutcome>;
  /**
   * Makes the claimed epoch current, if the claim is still `statementHash`'s: sets the epoch,
   * its members, admins and closed flag, drops `carried` from `departed`, ends the claim and
   * takes the log number of the epoch's entry (`epochLogSeq`). `stale` when someone else did.
   */
  completeEpoch(completion: {
    groupId: string;
    claim: EpochClaim;
    admins: readonly string[];
    closed: boolean;
    carried: readonly string[];
    now: number;
  }): Promise<ClaimOutcome>;
}

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

export class DynamoGroupStore implements GroupStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

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
          TableName: this.table,
          Item: item,
          ConditionExpression: 'attribute_not_exists(groupId)',
        }),
      ),
    );
    return created ? fromItem(item) : undefined;
  }

  async get(groupId: string): Promise<GroupRecord | undefined> {
    const { Item } = await this.db.send(
      new GetCommand({ TableName: this.table, Key: { groupId }, ConsistentRead: true }),
    );
    return Item && fromItem(Item);
  }

  async addMember(groupId: string, userId: string, cap: number): Promise<JoinOutcome> {
    for (let attempt = 0; ; attempt++) {
      try {
        const { Attributes } = await this.db.send(
          new UpdateCommand({
            TableName: this.table,
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
          TableName: this.table,
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
          TableName: this.table,
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

  async logHeads(groupIds: readonly string[]): Promise<Map<string, LogHead>> {
    const items = await batchGetDocuments(
      this.db,
      this.table,
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

  async listAll(limit: number, cursor?: string): Promise<Listing<GroupSummaryWire>> {
    const start = cursor === undefined ? undefined : decodeCursor(cursor, ['groupId']);
    if (cursor !== undefined && !start) return 'bad-cursor';
    const page = await this.db.send(
      new ScanCommand({
        TableName: this.table,
        ProjectionExpression: 'groupId, memberCount',
        Limit: limit,
        ExclusiveStartKey: start,
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
      this.table,
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
          TableName: this.table,
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
          TableName: this.table,
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
}
