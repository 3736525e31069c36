/**
 * Group epochs (table `groupEpochs`, key groupId + sk): per group, the epoch records, each
 * member's key-shares, the statement of a claim while its key-shares are stored, and each
 * member's latest signed artefact (addition or departure), which the next epoch's statement must
 * match. Every sort key is built by `epochKeys`.
 */
import {
  GetCommand,
  PutCommand,
  QueryCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import { batchGetDocuments, conditionHolds } from './dynamo-common';
import { S, type TableDefinition } from './table-definition';

/** Group epochs, their key-shares, claimed statements and members' artefacts (they do not expire). */
export const groupEpochsTable = {
  envVar: 'TABLE_GROUP_EPOCHS',
  partitionKey: S('groupId'),
  sortKey: S('sk'),
  ttlAttribute: 'expiresAt',
} as const satisfies TableDefinition;

const EPOCH_DIGITS = 10;
const pad = (epoch: number) => String(epoch).padStart(EPOCH_DIGITS, '0');

/** The sort keys of the table, each prefix defined here once (epochs padded, so they sort). */
export const epochKeys = {
  epoch: (epoch: number) => `epoch#${pad(epoch)}`,
  share: (to: string, epoch: number) => `share#${to}#${pad(epoch)}`,
  artefact: (slot: ArtefactSlot, userId: string) => `${slot}#${userId}`,
  claim: (epoch: number, hash: string) => `claim#${pad(epoch)}#${hash}`,
} as const;

export interface StoredArtefact {
  /** base64, as the frame carried it. */
  readonly artefact: string;
  /** The server's clock when it was stored (the rejoin cool-down counts from a departure's). */
  readonly storedAt: number;
}

/** Which artefact: a current member's addition, or a departed user's leave or removal. */
export type ArtefactSlot = 'addition' | 'departure';

export interface EpochRecord {
  readonly groupId: string;
  readonly epoch: number;
  readonly statement: string;
  readonly statementHash?: string;
  readonly proposer: string;
  readonly members: readonly string[];
  readonly createdAt: number;
}

export interface KeyShareRecord {
  readonly groupId: string;
  readonly epoch: number;
  /** The statement it was made for (base64 hash): a claim overtaken leaves shares of another. */
  readonly statementHash?: string;
  readonly to: string;
  readonly from: string;
  readonly messageId: string;
  readonly envelope: string;
  readonly createdAt: number;
}

export interface GroupEpochStore {
  /** The statement of a claim, kept while its key-shares are stored (by hash). */
  putClaimedStatement(
    groupId: string,
    epoch: number,
    hash: string,
    statement: string,
  ): Promise<void>;
  getClaimedStatement(groupId: string, epoch: number, hash: string): Promise<string | undefined>;
  /** Stores the latest addition or departure artefact of a user (base64), replacing any. */
  putArtefact(
    groupId: string,
    slot: ArtefactSlot,
    userId: string,
    artefact: string,
    now: number,
  ): Promise<void>;
  /** The stored artefacts of these users in one slot (BatchGetItem); missing ones are left out. */
  artefactsOf(
    groupId: string,
    slot: ArtefactSlot,
    userIds: readonly string[],
  ): Promise<Map<string, StoredArtefact>>;
  /** Writes the epoch record under `attribute_not_exists`; false when it exists. */
  putEpoch(record: EpochRecord): Promise<boolean>;
  getEpoch(groupId: string, epoch: number): Promise<EpochRecord | undefined>;
  /**
   * Writes a key-share unless this member has one for that epoch and statement (false then); a
   * share of another statement of the epoch (an overtaken claim) is replaced.
   */
  putKeyShare(share: KeyShareRecord): Promise<boolean>;
  /** The key-shares of one epoch for these members (BatchGetItem), by recipient. */
  keySharesOfEpoch(
    groupId: string,
    epoch: number,
    to: readonly string[],
  ): Promise<Map<string, KeyShareRecord>>;
  getKeyShare(groupId: string, epoch: number, to: string): Promise<KeyShareRecord | undefined>;
  /** A member's key-shares of several epochs (BatchGetItem), keyed `<groupId>#<epoch>`; missing ones are left out. */
  keySharesOf(
    to: string,
    epochs: readonly { readonly groupId: string; readonly epoch: number }[],
  ): Promise<Map<string, KeyShareRecord>>;
  /** A member's key-shares of a group with epoch > `after`, oldest first. */
  keySharesFor(
    groupId: string,
    to: string,
    after: number,
    limit: number,
  ): Promise<KeyShareRecord[]>;
}

/** Writes an item unless its (groupId, sk) exists; false when it does. */
const putNewKeysItem = (
  db: DynamoDBDocumentClient,
  table: string,
  item: Record<string, unknown>,
): Promise<boolean> =>
  conditionHolds(
    db.send(
      new PutCommand({
        TableName: table,
        Item: item,
        ConditionExpression: 'attribute_not_exists(sk)',
      }),
    ),
  );

async function getKeysItem(
  db: DynamoDBDocumentClient,
  table: string,
  groupId: string,
  sk: string,
): Promise<Record<string, unknown> | undefined> {
  const { Item } = await db.send(
    new GetCommand({ TableName: table, Key: { groupId, sk }, ConsistentRead: true }),
  );
  return Item;
}

/** The item without its sort key, as the ports describe it. */
function strip(item: Record<string, unknown>): Record<string, unknown> {
  const { sk: _sk, ...rest } = item;
  return rest;
}

export class DynamoGroupEpochStore implements GroupEpochStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async putClaimedStatement(groupId: string, epoch: number, hash: string, statement: string) {
    await this.db.send(
      new PutCommand({
        TableName: this.table,
        Item: { groupId, sk: epochKeys.claim(epoch, hash), statement },
      }),
    );
  }

  async getClaimedStatement(groupId: string, epoch: number, hash: string) {
    const item = await getKeysItem(this.db, this.table, groupId, epochKeys.claim(epoch, hash));
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
        TableName: this.table,
        Item: { groupId, sk: epochKeys.artefact(slot, userId), userId, artefact, storedAt: now },
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
      this.table,
      userIds.map((userId) => ({ groupId, sk: epochKeys.artefact(slot, userId) })),
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
    return putNewKeysItem(this.db, this.table, { ...record, sk: epochKeys.epoch(record.epoch) });
  }

  async getEpoch(groupId: string, epoch: number): Promise<EpochRecord | undefined> {
    const item = await getKeysItem(this.db, this.table, groupId, epochKeys.epoch(epoch));
    return item && (strip(item) as unknown as EpochRecord);
  }

  async putKeyShare(share: KeyShareRecord): Promise<boolean> {
    return conditionHolds(
      this.db.send(
        new PutCommand({
          TableName: this.table,
          Item: { ...share, sk: epochKeys.share(share.to, share.epoch) },
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
      this.table,
      to.map((userId) => ({ groupId, sk: epochKeys.share(userId, epoch) })),
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
    const item = await getKeysItem(this.db, this.table, groupId, epochKeys.share(to, epoch));
    return item && (strip(item) as unknown as KeyShareRecord);
  }

  async keySharesOf(
    to: string,
    epochs: readonly { readonly groupId: string; readonly epoch: number }[],
  ): Promise<Map<string, KeyShareRecord>> {
    const keys = new Map(
      epochs.map(({ groupId, epoch }) => [
        `${groupId}#${epoch}`,
        { groupId, sk: epochKeys.share(to, epoch) },
      ]),
    );
    const items = await batchGetDocuments(this.db, this.table, [...keys.values()]);
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
        TableName: this.table,
        KeyConditionExpression: 'groupId = :g AND sk BETWEEN :from AND :to',
        ExpressionAttributeValues: {
          ':g': groupId,
          ':from': epochKeys.share(to, after + 1),
          ':to': epochKeys.share(to, 10 ** EPOCH_DIGITS - 1),
        },
        ConsistentRead: true,
        Limit: limit,
      }),
    );
    return (Items ?? []).map((item) => strip(item) as unknown as KeyShareRecord);
  }
}
