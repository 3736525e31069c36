/**
 * The audit of a test stack: every DynamoDB item of every table and every S3 object, searched for
 * secrets a scenario used (plaintexts, file bytes, passwords), as raw bytes and as base64 at each
 * of the three alignments a secret can have inside a longer base64 text.
 */
import { ScanCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { LOCAL_BUCKET_NAME, localTableName } from '../../infra/local/names';
import { TABLE_NAMES } from '../../lambdas/tables';
import { makeDynamoClient, makeS3Client } from '../../lambdas/runtime/aws';

export interface Secret {
  readonly label: string;
  readonly bytes: Uint8Array;
}

export interface AuditResult {
  readonly items: number;
  readonly objects: number;
  /** "<label> in <where>" for every secret found. */
  readonly found: string[];
}

/** The forms a secret takes on the wire or at rest: its bytes, and base64 at each alignment
 * (the characters that depend only on the secret, with a 0, 1 or 2 byte prefix before it). */
function forms(secret: Uint8Array): Buffer[] {
  const found = [Buffer.from(secret)];
  for (let prefix = 0; prefix < 3; prefix++) {
    const encoded = Buffer.concat([Buffer.alloc(prefix), Buffer.from(secret)]).toString('base64');
    const skip = prefix === 0 ? 0 : prefix + 1; // characters touched by the prefix
    const whole = Math.floor((prefix + secret.length) / 3) * 4; // characters of whole groups
    const core = encoded.slice(skip, whole);
    if (core.length >= 8) found.push(Buffer.from(core));
  }
  return found;
}

/** Bytes to search in, for a DynamoDB value: strings as UTF-8, binaries as they are. */
function flatten(value: AttributeValue | undefined, into: Buffer[]): void {
  if (!value) return;
  if (value.S !== undefined) into.push(Buffer.from(value.S));
  if (value.N !== undefined) into.push(Buffer.from(value.N));
  if (value.B !== undefined) into.push(Buffer.from(value.B));
  for (const entry of value.SS ?? []) into.push(Buffer.from(entry));
  for (const entry of value.BS ?? []) into.push(Buffer.from(entry));
  for (const entry of value.L ?? []) flatten(entry, into);
  for (const [key, entry] of Object.entries(value.M ?? {})) {
    into.push(Buffer.from(key));
    flatten(entry, into);
  }
}

export async function auditStack(
  endpoints: { readonly dynamodb: string; readonly s3: string },
  secrets: readonly Secret[],
): Promise<AuditResult> {
  const needles = secrets.map((secret) => ({ label: secret.label, forms: forms(secret.bytes) }));
  const found: string[] = [];
  const search = (haystack: Buffer, where: string) => {
    for (const needle of needles)
      if (needle.forms.some((form) => haystack.includes(form)))
        found.push(`${needle.label} in ${where}`);
  };
  let items = 0;
  await scanEveryItem(endpoints.dynamodb, (table, item) => {
    items++;
    const parts: Buffer[] = [];
    for (const [key, value] of Object.entries(item)) {
      parts.push(Buffer.from(key));
      flatten(value, parts);
    }
    search(Buffer.concat(parts.flatMap((part) => [part, Buffer.from([0])])), `table ${table}`);
  });
  const s3 = makeS3Client(endpoints.s3);
  let objects = 0;
  let token: string | undefined;
  do {
    const listing = await s3.send(
      new ListObjectsV2Command({ Bucket: LOCAL_BUCKET_NAME, ContinuationToken: token }),
    );
    for (const object of listing.Contents ?? []) {
      objects++;
      const body = await s3.send(
        new GetObjectCommand({ Bucket: LOCAL_BUCKET_NAME, Key: object.Key }),
      );
      search(Buffer.from(await body.Body!.transformToByteArray()), `object ${object.Key}`);
    }
    token = listing.NextContinuationToken;
  } while (token);
  return { items, objects, found };
}

/** Every item of every table of a local stack, page by page. */
export async function scanEveryItem(
  dynamodbUrl: string,
  visit: (table: (typeof TABLE_NAMES)[number], item: Record<string, AttributeValue>) => void,
): Promise<void> {
  const dynamo = makeDynamoClient(dynamodbUrl);
  for (const table of TABLE_NAMES) {
    let start: Record<string, AttributeValue> | undefined;
    do {
      const page = await dynamo.send(
        new ScanCommand({ TableName: localTableName(table), ExclusiveStartKey: start }),
      );
      for (const item of page.Items ?? []) visit(table, item);
      start = page.LastEvaluatedKey;
    } while (start);
  }
}
