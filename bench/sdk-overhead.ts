/**
 * How much CPU the AWS SDK v3 spends per DynamoDB request on the caller's thread: UpdateItem
 * calls (a counter update, as a mailbox's inbox counter takes its next number), 16 at a time, against dynalite in its
 * own thread as the local stack runs it. Prints wall time and main-thread busy time per call, for
 * the DocumentClient (most stores) and for the low-level client with its middleware cached
 * (lambdas/runtime/aws.ts dynamoLowLevel: the calls made per recipient).
 *
 *   npx tsx bench/sdk-overhead.ts
 *   npx tsx bench/sdk-overhead.ts --async-local-storage   # the calls inside an AsyncLocalStorage scope
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { CreateTableCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { startDynamoThread } from '../infra/local/dynamo-thread';
import { LOCAL_BASE_ENVIRONMENT } from '../infra/local/aws-clients';
import { makeDynamoClient } from '../lambdas/runtime/aws';

const CALLS = 2000;
const CONCURRENCY = 16;
const ROUNDS = 3;
const TABLE = 'bench-counters';
/** What the local stack's grant check once used: on Node 20 its promise hooks run for every promise. */
const scope = process.argv.includes('--async-local-storage')
  ? new AsyncLocalStorage<string>()
  : undefined;

Object.assign(process.env, LOCAL_BASE_ENVIRONMENT);
const dir = mkdtempSync(join(tmpdir(), 'cipherline-sdk-'));
const dynamo = await startDynamoThread({ path: dir, host: '127.0.0.1', port: 0 });
try {
  const endpoint = `http://127.0.0.1:${dynamo.port}`;
  const lowLevel = makeDynamoClient(endpoint, { cacheMiddleware: true });
  await lowLevel.send(
    new CreateTableCommand({
      TableName: TABLE,
      KeySchema: [{ AttributeName: 'key', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'key', AttributeType: 'S' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  const documents = DynamoDBDocumentClient.from(makeDynamoClient(endpoint));
  const clients: Record<string, (key: string) => Promise<unknown>> = {
    'DocumentClient         ': (key) =>
      documents.send(
        new UpdateCommand({
          TableName: TABLE,
          Key: { key },
          UpdateExpression: 'ADD #count :one',
          ExpressionAttributeNames: { '#count': 'count' },
          ExpressionAttributeValues: { ':one': 1 },
          ReturnValues: 'UPDATED_NEW',
        }),
      ),
    'low-level, cached stack': (key) =>
      lowLevel.send(
        new UpdateItemCommand({
          TableName: TABLE,
          Key: { key: { S: key } },
          UpdateExpression: 'ADD #count :one',
          ExpressionAttributeNames: { '#count': 'count' },
          ExpressionAttributeValues: { ':one': { N: '1' } },
          ReturnValues: 'UPDATED_NEW',
        }),
      ),
  };
  console.log(
    `AWS SDK cost per UpdateItem, ${CONCURRENCY} at a time (node ${process.version}${scope ? ', inside an AsyncLocalStorage scope' : ''}):`,
  );
  for (let round = 1; round <= ROUNDS; round++) {
    for (const [name, update] of Object.entries(clients)) {
      let next = 0;
      const busyBefore = performance.eventLoopUtilization();
      const started = performance.now();
      const calls = () =>
        Promise.all(
          Array.from({ length: CONCURRENCY }, async () => {
            while (next < CALLS) await update(`user-${next++ % 100}`);
          }),
        );
      await (scope ? scope.run('bench', calls) : calls());
      const wall = (performance.now() - started) / CALLS;
      const busy = performance.eventLoopUtilization(busyBefore).active / CALLS;
      console.log(
        `  round ${round}, ${name}: wall ${wall.toFixed(3)} ms/call, main thread busy ${busy.toFixed(3)} ms/call`,
      );
    }
  }
} finally {
  await dynamo.close();
  rmSync(dir, { recursive: true, force: true });
}
