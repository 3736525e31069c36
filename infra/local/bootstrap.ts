/**
 * Creates the missing tables in the local DynamoDB from the shared definitions, through the real
 * SDK, and describes the blob bucket's CORS for s3rver. (dynalite has no TTL API: expired items
 * are filtered on read, as DESIGN.md section 5 asks anyway.)
 */
import {
  CreateTableCommand,
  ListTablesCommand,
  type DynamoDBClient,
  type KeySchemaElement,
} from '@aws-sdk/client-dynamodb';
import { BLOB_BUCKET, TABLES, TABLE_NAMES, type TableName } from '../../lambdas/tables';
import { localTableName } from './names';
import type { KeyAttribute } from '../../lambdas/stores/table-definition';

function keySchema(partitionKey: KeyAttribute, sortKey?: KeyAttribute): KeySchemaElement[] {
  const schema: KeySchemaElement[] = [{ AttributeName: partitionKey.name, KeyType: 'HASH' }];
  if (sortKey) schema.push({ AttributeName: sortKey.name, KeyType: 'RANGE' });
  return schema;
}

function createTableInput(table: TableName) {
  const def = TABLES[table];
  const indexes = 'globalIndexes' in def ? def.globalIndexes : [];
  const keyAttributes = [
    def.partitionKey,
    'sortKey' in def ? def.sortKey : undefined,
    ...indexes.flatMap((i) => [i.partitionKey, 'sortKey' in i ? i.sortKey : undefined]),
  ];
  const attributes = new Map<string, KeyAttribute>();
  for (const attribute of keyAttributes) if (attribute) attributes.set(attribute.name, attribute);
  return {
    TableName: localTableName(table),
    BillingMode: 'PAY_PER_REQUEST' as const,
    AttributeDefinitions: [...attributes.values()].map((a) => ({
      AttributeName: a.name,
      AttributeType: a.type,
    })),
    KeySchema: keySchema(def.partitionKey, 'sortKey' in def ? def.sortKey : undefined),
    ...(indexes.length > 0 && {
      GlobalSecondaryIndexes: indexes.map((index) => ({
        IndexName: index.indexName,
        KeySchema: keySchema(index.partitionKey, 'sortKey' in index ? index.sortKey : undefined),
        Projection: { ProjectionType: 'ALL' as const },
      })),
    }),
  };
}

/** Returns the names of the tables it created. */
export async function createMissingTables(client: DynamoDBClient): Promise<string[]> {
  const existing = new Set<string>();
  let start: string | undefined;
  do {
    const page = await client.send(new ListTablesCommand({ ExclusiveStartTableName: start }));
    for (const name of page.TableNames ?? []) existing.add(name);
    start = page.LastEvaluatedTableName;
  } while (start);
  const created: string[] = [];
  for (const table of TABLE_NAMES) {
    if (existing.has(localTableName(table))) continue;
    await client.send(new CreateTableCommand(createTableInput(table)));
    created.push(localTableName(table));
  }
  return created;
}

/** The bucket's CORS rules in the XML s3rver reads at start. */
export function corsXml(allowedOrigins: readonly string[]): string {
  const { allowedMethods, allowedHeaders, exposedHeaders, maxAgeSeconds } = BLOB_BUCKET.cors;
  const tags = (tag: string, values: readonly string[]) =>
    values.map((v) => `<${tag}>${v}</${tag}>`).join('');
  return `<CORSConfiguration><CORSRule>${tags('AllowedOrigin', allowedOrigins)}${tags('AllowedMethod', allowedMethods)}${tags('AllowedHeader', allowedHeaders)}${tags('ExposeHeader', exposedHeaders)}<MaxAgeSeconds>${maxAgeSeconds}</MaxAgeSeconds></CORSRule></CORSConfiguration>`;
}
