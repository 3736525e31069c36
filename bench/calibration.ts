/**
 * The calibration every server benchmark measures in the same run (issue 10 point 4): absolute
 * times swing about 3× between these shared machines, so figures are also given as multiples of
 * one `ping` round trip through the local gateway (frame in, Lambda, reply out) and of one
 * DynamoDB GetItem through the AWS SDK against the stack's own dynalite.
 */
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { localTableName } from '../infra/local/names';
import { makeDynamoClient } from '../lambdas/runtime/aws';
import type { TestUser } from '../tools/accounts';
import { median, type Calibration } from './stats';

/**
 * Medians of `rounds` ping round trips and GetItems, after a warm-up of 20 each. The benchmarks
 * calibrate next to each measurement, so load that comes and goes hits both alike.
 */
export async function calibrate(
  user: TestUser,
  dynamodb: string,
  rounds = 100,
): Promise<Calibration> {
  const pings: number[] = [];
  for (let i = 0; i < rounds + 20; i++) {
    const started = performance.now();
    const reply = await user.client.request('ping', {});
    if (reply.type !== 'ok') throw new Error(`ping failed: ${JSON.stringify(reply)}`);
    if (i >= 20) pings.push(performance.now() - started); // after a warm-up
  }
  user.client.takeQueued((m) => m.type === 'pong');
  const db = makeDynamoClient(dynamodb);
  const reads: number[] = [];
  const read = new GetItemCommand({
    TableName: localTableName('users'),
    Key: { userId: { S: user.username } },
    ConsistentRead: true,
  });
  for (let i = 0; i < rounds + 20; i++) {
    const started = performance.now();
    await db.send(read);
    if (i >= 20) reads.push(performance.now() - started);
  }
  db.destroy();
  return { pingMs: median(pings), getItemMs: median(reads) };
}
