/**
 * Group message bodies in the `groupKeys` table (sk `msg#<sender>#<messageId>`, 30-day TTL):
 * stored once, with the recipients' inbox numbers recorded on them (lambdas/core/group-send.ts).
 */
import { UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { conditionHolds, fromTtl, isLive, toTtl } from './dynamo-common';
import { getKeysItem, putNewKeysItem, strip } from './dynamo-group-keys-table';
import type { GroupMessageBody, GroupMessageStore } from './group-ports';

const messageKey = (from: string, messageId: string) => `msg#${from}#${messageId}`;

/** Recipients moved to new numbers per UpdateItem (lambdas/core/group-send.ts). */
const MOVES_PER_UPDATE = 50;

export class DynamoGroupMessageStore implements GroupMessageStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly keysTable: string,
  ) {}

  async putMessage(body: GroupMessageBody): Promise<boolean> {
    return putNewKeysItem(this.db, this.keysTable, {
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
    const item = await getKeysItem(this.db, this.keysTable, groupId, messageKey(from, messageId));
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
    const item = await getKeysItem(
      this.db,
      this.keysTable,
      body.groupId,
      messageKey(body.from, body.messageId),
    );
    if (!item?.seqs) throw new Error('group message body vanished while recording its fan-out');
    return item.seqs as Record<string, number>;
  }
}
