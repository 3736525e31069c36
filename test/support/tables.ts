/** Reading the local stack's tables straight, for tests that check what was (not) stored. */
import { DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { localTableName } from '../../infra/local/names';
import { makeDynamoClient } from '../../lambdas/runtime/aws';

/** Every item of a user's inbox (skipped numbers included), in sequence order. */
export async function inboxItems(
  dynamodbEndpoint: string,
  userId: string,
): Promise<Record<string, unknown>[]> {
  const db = DynamoDBDocumentClient.from(makeDynamoClient(dynamodbEndpoint));
  const { Items } = await db.send(
    new QueryCommand({
      TableName: localTableName('inbox'),
      KeyConditionExpression: 'userId = :u',
      ExpressionAttributeValues: { ':u': userId },
      ConsistentRead: true,
    }),
  );
  return Items ?? [];
}
