/** The names the local stack gives its tables and bucket (in AWS, CloudFormation names them). */
import type { TableName } from '../../lambdas/tables';

export const localTableName = (table: TableName): string => `cipherline-${table}`;
export const LOCAL_BUCKET_NAME = 'cipherline-blobs';
