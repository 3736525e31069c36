/**
 * Devices and device invites, one partition per account: `device#<deviceId>` and
 * `invite#<credential id>` (the invite expires by TTL, and reads treat it as absent after).
 */
import {
  DeleteCommand,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import { conditionHolds, fromTtl, isLive, toTtl } from './dynamo-common';
import { S, type TableDefinition } from './table-definition';

/**
 * Each account's devices (`device#<id>`: when its sessions started to count, its current device
 * credential) and one-time device invites (`invite#<credential id>`, expiring).
 */
export const devicesTable = {
  envVar: 'TABLE_DEVICES',
  partitionKey: S('userId'),
  sortKey: S('sk'),
  ttlAttribute: 'expiresAt',
} as const satisfies TableDefinition;

/**
 * One device of an account. A session counts only while its device exists and its `issuedAt`
 * is not before `sessionsFrom`; removing the device or moving `sessionsFrom` ends them all.
 */
export interface DeviceRecord {
  readonly userId: string;
  readonly deviceId: string;
  readonly createdAt: number;
  readonly lastSeenAt: number;
  readonly sessionsFrom: number;
  /** The id of its one valid device credential, if it has one. */
  readonly credentialId?: string;
}

/** A one-time device credential not yet used. */
export interface InviteRecord {
  readonly userId: string;
  readonly credentialId: string;
  readonly createdBy: string;
  readonly createdAt: number;
  readonly expiresAt: number;
}

export interface DeviceStore {
  get(userId: string, deviceId: string): Promise<DeviceRecord | undefined>;
  list(userId: string): Promise<DeviceRecord[]>;
  /**
   * A signin on this device: creates it (its sessions count from `now`) or touches it, and makes
   * `credentialId` its one valid credential.
   */
  signedIn(userId: string, deviceId: string, credentialId: string, now: number): Promise<void>;
  /** Touches the device if a session issued at `issuedAt` still counts; false when it does not. */
  resumed(userId: string, deviceId: string, issuedAt: number, now: number): Promise<boolean>;
  /** Makes `credentialId` its one valid credential (undefined: none), if the device exists. */
  setCredential(userId: string, deviceId: string, credentialId: string | undefined): Promise<void>;
  /** Revokes this credential if it is still the device's. */
  revokeCredential(userId: string, deviceId: string, credentialId: string): Promise<void>;
  /** Ends every session issued before `now` and revokes the credential. */
  endSessions(userId: string, deviceId: string, now: number): Promise<void>;
  /** False when there was no such device. */
  remove(userId: string, deviceId: string): Promise<boolean>;
  putInvite(invite: InviteRecord): Promise<void>;
  getInvite(userId: string, credentialId: string, now: number): Promise<InviteRecord | undefined>;
  removeInvite(userId: string, credentialId: string): Promise<void>;
}

const deviceKey = (userId: string, deviceId: string) => ({ userId, sk: `device#${deviceId}` });
const inviteKey = (userId: string, credentialId: string) => ({
  userId,
  sk: `invite#${credentialId}`,
});

const toDevice = (item: Record<string, unknown>): DeviceRecord => ({
  userId: item.userId as string,
  deviceId: item.deviceId as string,
  createdAt: item.createdAt as number,
  lastSeenAt: item.lastSeenAt as number,
  sessionsFrom: item.sessionsFrom as number,
  ...(typeof item.credentialId === 'string' && { credentialId: item.credentialId }),
});

export class DynamoDeviceStore implements DeviceStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async get(userId: string, deviceId: string): Promise<DeviceRecord | undefined> {
    const { Item } = await this.db.send(
      new GetCommand({
        TableName: this.table,
        Key: deviceKey(userId, deviceId),
        ConsistentRead: true,
      }),
    );
    return Item && toDevice(Item);
  }

  async list(userId: string): Promise<DeviceRecord[]> {
    const devices: DeviceRecord[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.db.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: 'userId = :u AND begins_with(sk, :device)',
          ExpressionAttributeValues: { ':u': userId, ':device': 'device#' },
          ConsistentRead: true,
          ExclusiveStartKey: start,
        }),
      );
      devices.push(...(page.Items ?? []).map(toDevice));
      start = page.LastEvaluatedKey;
    } while (start);
    return devices;
  }

  async signedIn(
    userId: string,
    deviceId: string,
    credentialId: string,
    now: number,
  ): Promise<void> {
    await this.db.send(
      new UpdateCommand({
        TableName: this.table,
        Key: deviceKey(userId, deviceId),
        UpdateExpression:
          'SET deviceId = :device, createdAt = if_not_exists(createdAt, :now), ' +
          'sessionsFrom = if_not_exists(sessionsFrom, :now), lastSeenAt = :now, credentialId = :credential',
        ExpressionAttributeValues: {
          ':device': deviceId,
          ':now': now,
          ':credential': credentialId,
        },
      }),
    );
  }

  async resumed(userId: string, deviceId: string, issuedAt: number, now: number): Promise<boolean> {
    return conditionHolds(
      this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: deviceKey(userId, deviceId),
          UpdateExpression: 'SET lastSeenAt = :now',
          ConditionExpression: 'attribute_exists(sk) AND sessionsFrom <= :issued',
          ExpressionAttributeValues: { ':now': now, ':issued': issuedAt },
        }),
      ),
    );
  }

  async setCredential(
    userId: string,
    deviceId: string,
    credentialId: string | undefined,
  ): Promise<void> {
    await conditionHolds(
      this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: deviceKey(userId, deviceId),
          ...(credentialId
            ? {
                UpdateExpression: 'SET credentialId = :credential',
                ExpressionAttributeValues: { ':credential': credentialId },
              }
            : { UpdateExpression: 'REMOVE credentialId' }),
          ConditionExpression: 'attribute_exists(sk)',
        }),
      ),
    );
  }

  async revokeCredential(userId: string, deviceId: string, credentialId: string): Promise<void> {
    await conditionHolds(
      this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: deviceKey(userId, deviceId),
          UpdateExpression: 'REMOVE credentialId',
          ConditionExpression: 'credentialId = :credential',
          ExpressionAttributeValues: { ':credential': credentialId },
        }),
      ),
    );
  }

  async endSessions(userId: string, deviceId: string, now: number): Promise<void> {
    await conditionHolds(
      this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: deviceKey(userId, deviceId),
          UpdateExpression: 'SET sessionsFrom = :now REMOVE credentialId',
          ConditionExpression: 'attribute_exists(sk)',
          ExpressionAttributeValues: { ':now': now },
        }),
      ),
    );
  }

  async remove(userId: string, deviceId: string): Promise<boolean> {
    const { Attributes } = await this.db.send(
      new DeleteCommand({
        TableName: this.table,
        Key: deviceKey(userId, deviceId),
        ReturnValues: 'ALL_OLD',
      }),
    );
    return Attributes !== undefined;
  }

  async putInvite(invite: InviteRecord): Promise<void> {
    await this.db.send(
      new PutCommand({
        TableName: this.table,
        Item: {
          ...inviteKey(invite.userId, invite.credentialId),
          credentialId: invite.credentialId,
          createdBy: invite.createdBy,
          createdAt: invite.createdAt,
          expiresAt: toTtl(invite.expiresAt),
        },
      }),
    );
  }

  async getInvite(
    userId: string,
    credentialId: string,
    now: number,
  ): Promise<InviteRecord | undefined> {
    const { Item } = await this.db.send(
      new GetCommand({
        TableName: this.table,
        Key: inviteKey(userId, credentialId),
        ConsistentRead: true,
      }),
    );
    if (!Item || !isLive(Item, now)) return undefined;
    return {
      userId,
      credentialId,
      createdBy: Item.createdBy as string,
      createdAt: Item.createdAt as number,
      expiresAt: fromTtl(Item.expiresAt as number),
    };
  }

  async removeInvite(userId: string, credentialId: string): Promise<void> {
    await this.db.send(
      new DeleteCommand({ TableName: this.table, Key: inviteKey(userId, credentialId) }),
    );
  }
}
