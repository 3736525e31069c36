/**
 * How much CPU the AWS SDK v3 spends per DynamoDB request on the caller's thread: UpdateItem
 * calls (the fan-out's per-member sequence-counter update), 16 at a time, against dynalite in its
 * own thread as the local stack runs it. Prints wall time and main-thread busy time per call.
 *
 *   npx tsx bench/sdk-overhead.ts
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { CreateTableCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { startDynamoThread } from '../infra/local/dynamo-thread';
import { LOCAL_BASE_ENVIRONMENT } from '../infra/local/aws-clients';
import { makeDynamoClient } from '../lambdas/runtime/aws';
import { nextInboxSeq } from '../lambdas/stores/dynamo-common';

const CALLS = 2000;
const CONCURRENCY = 16;
const ROUNDS = 3;

Object.assign(process.env, LOCAL_BASE_ENVIRONMENT);
const dir = mkdtempSync(join(tmpdir(), 'cipherline-sdk-'));
const dynamo = await startDynamoThread({ path: dir, host: '127.0.0.1', port: 0 });
try {
  const client = makeDynamoClient(`http://127.0.0.1:${dynamo.port}`);
  await client.send(
    new CreateTableCommand({
      TableName: 'bench-counters',
      KeySchema: [{ AttributeName: 'key', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'key', AttributeType: 'S' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  const db = DynamoDBDocumentClient.from(client);
  console.log(`AWS SDK cost per UpdateItem, ${CONCURRENCY} at a time (node ${process.version}):`);
  for (let round = 1; round <= ROUNDS; round++) {
    let next = 0;
    const busyBefore = performance.eventLoopUtilization();
    const started = performance.now();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < CALLS) await nextInboxSeq(db, 'bench-counters', `user-${next++ % 100}`);
      }),
    );
    const wall = (performance.now() - started) / CALLS;
    const busy = performance.eventLoopUtilization(busyBefore).active / CALLS;
    console.log(
      `  round ${round}: wall ${wall.toFixed(3)} ms/call, main thread busy ${busy.toFixed(3)} ms/call`,
    );
  }
} finally {
  await dynamo.close();
  rmSync(dir, { recursive: true, force: true });
}
