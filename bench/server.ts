/**
 * `npm run bench:server`: on a private local stack (dynalite, s3rver, local gateway, real
 * handlers), measures 1:1 send-to-delivery latency over many messages, and group fan-out time to
 * the last delivery for groups of several sizes. Prints its figures; asserts nothing.
 *
 *   npm run bench:server                 # 1000 messages, groups of 10, 100 and 250
 *   npm run bench:server -- --messages 200 --groups 10,50
 *   npm run bench:server -- --url ws://127.0.0.1:3001/local   # a stack that is already running
 *     (started with --limits '{"signupsPerAddressPerHour":100000}': every user signs up from here)
 *
 * The stack runs as `npm start` in its own process (one core for gateway, handlers, dynalite and
 * s3rver, as its event loop is single-threaded); the clients run in this process on the other core.
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { fakeEnvelope, signupUser, type TestUser } from '../test/support/accounts';
import { REPO_ROOT } from '../infra/local/stack';
import { tempDataDir } from '../test/support/local-stack';
import { npmStart } from '../test/support/processes';
import { measureGroupFanOut } from './server-fanout';

const { values } = parseArgs({
  options: {
    messages: { type: 'string', default: '1000' },
    groups: { type: 'string', default: '10,100,250' },
    /** Measure a stack that is already running (e.g. one under a profiler) instead of starting one. */
    url: { type: 'string' },
  },
});
const messageCount = Number(values.messages);
const groupSizes = values.groups.split(',').filter(Boolean).map(Number);
const WARM_UP = 50;
/** Per-user send limits stay in force, so messages rotate over enough senders to stay under them. */
const SENDS_PER_SENDER = 100;

const percentile = (sorted: readonly number[], p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

async function oneToOneLatency(
  senders: readonly TestUser[],
  receiver: TestUser,
  count: number,
): Promise<number[]> {
  const envelope = fakeEnvelope(300);
  const latencies: number[] = [];
  for (let i = 0; i < count; i++) {
    const sender = senders[i % senders.length]!;
    const messageId = randomUUID();
    const started = performance.now();
    const delivered = receiver.client.waitFor(
      (m) => m.type === 'message' && m.messageId === messageId,
      10_000,
    );
    sender.client.sendJson({
      action: 'send',
      id: messageId,
      to: receiver.username,
      messageId,
      envelope,
    });
    await delivered;
    latencies.push(performance.now() - started);
    const reply = await sender.client.waitFor((m) => m.replyTo === messageId);
    if (reply.type !== 'ok') throw new Error(`send failed: ${JSON.stringify(reply)}`);
  }
  return latencies;
}

process.env.LOG_LEVEL = 'warn';
const data = tempDataDir();
const ports = ['--gateway-port', '0', '--dynamo-port', '0', '--s3-port', '0'];
// Every benchmark user signs up from this machine: the stack's own configuration allows it.
const limits = ['--limits', JSON.stringify({ signupsPerAddressPerHour: 100_000 })];
const stack = values.url
  ? undefined
  : npmStart(['--data', data.dir, ...ports, ...limits, '--no-web', '--quiet'], REPO_ROOT);
try {
  const url = values.url ?? /ws:\/\/\S+/.exec(await stack!.waitForLine(/^Ready: /, 60_000))![0];
  console.log(
    `Cipherline server benchmark (local stack; node ${process.version}; ${new Date().toISOString()})`,
  );
  const senderCount = Math.ceil((messageCount + WARM_UP) / SENDS_PER_SENDER);
  const senders = await Promise.all(
    Array.from({ length: senderCount }, (_, i) => signupUser(url, `bench-sender-${i}`)),
  );
  const receiver = await signupUser(url, 'bench-receiver');
  await oneToOneLatency(senders, receiver, WARM_UP); // JIT, connections, dynalite caches
  const sorted = (await oneToOneLatency(senders, receiver, messageCount)).sort((a, b) => a - b);
  const mean = sorted.reduce((sum, v) => sum + v, 0) / sorted.length;
  console.log(`\n1:1 send → delivery over ${messageCount} messages (ms):`);
  console.log(
    `  p50 ${percentile(sorted, 50).toFixed(2)}   p99 ${percentile(sorted, 99).toFixed(2)}   mean ${mean.toFixed(2)}   max ${sorted.at(-1)!.toFixed(2)}`,
  );
  console.log('  targets: p50 ≤ 10 ms, p99 ≤ 30 ms');
  for (const user of [...senders, receiver]) user.client.close();

  if (groupSizes.length > 0) {
    console.log(
      '\nGroup fan-out, sendgroup → last member has it (ms; median of 5 after a warm-up):',
    );
    for (const size of groupSizes) {
      const result = await measureGroupFanOut(url, size);
      console.log(
        `  ${String(size).padStart(4)} members online: median ${result.median.toFixed(1)}   min ${result.min.toFixed(1)}   max ${result.max.toFixed(1)}`,
      );
    }
    console.log('  target: 100 members ≤ 150 ms');
  }
} finally {
  stack?.interrupt();
  await stack?.exited;
  data.remove();
}
