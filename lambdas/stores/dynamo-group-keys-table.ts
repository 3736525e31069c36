/**
 * The `groupKeys` table holds, per group (pk groupId), the epoch records, each member's key-shares
 * and the group message bodies (sk `epoch#…`, `share#…`, `msg#…`). Shared by the adapters that
 * read and write those items (dynamo-groups.ts, dynamo-group-messages.ts).
 */
import { GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { conditionHolds } from './dynamo-common';

/** Writes an item unless its (groupId, sk) exists; false when it does. */
export const putNewKeysItem = (
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

export async function getKeysItem(
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
export function strip(item: Record<string, unknown>): Record<string, unknown> {
  const { sk: _sk, ...rest } = item;
  return rest;
}
