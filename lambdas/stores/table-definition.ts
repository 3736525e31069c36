/**
 * The shape of a table definition: plain data, declared beside the store that owns the table
 * (./<aggregate>.ts). lambdas/tables.ts collects them for the CDK stack, the local cloud and the
 * tests; the Lambdas find each table through the environment variable named here.
 */
export interface KeyAttribute {
  readonly name: string;
  readonly type: 'S' | 'N' | 'B';
}

export interface GlobalIndexDefinition {
  readonly indexName: string;
  readonly partitionKey: KeyAttribute;
  readonly sortKey?: KeyAttribute;
}

export interface TableDefinition {
  /** Environment variable that carries the table's name to the Lambdas. */
  readonly envVar: string;
  readonly partitionKey: KeyAttribute;
  readonly sortKey?: KeyAttribute;
  /** DynamoDB TTL attribute (epoch seconds). TTL deletion is late in AWS and absent locally: reads also check it. */
  readonly ttlAttribute?: string;
  readonly globalIndexes?: readonly GlobalIndexDefinition[];
}

export const S = (name: string): KeyAttribute => ({ name, type: 'S' });
export const N = (name: string): KeyAttribute => ({ name, type: 'N' });
