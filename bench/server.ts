/**
 * `npm run bench:server`: on a local stack of its own (dynalite, s3rver, local gateway, real
 * handlers, in their own process), measures in one run:
 *   - a calibration: one `ping` round trip through the gateway, one DynamoDB GetItem (bench/calibration.ts);
 *   - 1:1 send → delivery latency, p50 and p99, over repeated rounds;
 *   - group fan-out, sendgroup → the last of N online members has it, over repeated rounds;
 * and prints every figure in ms and as multiples of the calibration, with the targets of issue 10
 * in both units (judged by the multiples). Asserts nothing.
 *
 *   npm run bench:server                                  # 5 rounds of 300 messages; groups of 10, 100, 250
 *   npm run bench:server -- --rounds 3 --messages 100 --groups 100
 *   npm run bench:server -- --stack-dir /tmp/old-checkout # the same measurements of another checkout
 *   npm run bench:server -- --url ws://127.0.0.1:3001/local --dynamodb http://127.0.0.1:4567
 *     (started with --limits '{"signupsPerAddressPerHour":100000}': every user signs up from here)
 */
import { randomUUID } from 'node:crypto';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { LOCAL_BASE_ENVIRONMENT } from '../infra/local/aws-clients';
import { REPO_ROOT } from '../infra/local/stack';
import { fakeEnvelope, signupUser, type TestUser } from '../tools/accounts';
import { calibrate as calibrateNow } from './calibration';
import { groupOf, timeOneFanOut } from './server-fanout';
import { startStackProcess } from './stack-process';
import {
  calibratedSpread,
  median,
  percentile,
  spread,
  type Calibrated,
  type Calibration,
} from './stats';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    messages: { type: 'string', default: '300' },
    groups: { type: 'string', default: '10,100,250' },
    fanouts: { type: 'string', default: '5' },
    /** Measure another checkout's stack (e.g. the code before a change) with this benchmark. */
    'stack-dir': { type: 'string' },
    /** Or a stack that is already running (e.g. one under a profiler): its WebSocket and DynamoDB URLs. */
    url: { type: 'string' },
    dynamodb: { type: 'string' },
  },
});
const rounds = Number(values.rounds);
const messageCount = Number(values.messages);
const fanOuts = Number(values.fanouts);
const groupSizes = values.groups.split(',').filter(Boolean).map(Number);
const WARM_UP = 50;
/** Per-user send limits stay in force, so messages rotate over enough senders to stay under them. */
const SENDS_PER_SENDER = 100;

/**
 * Issue 10's targets were set on a machine where the code before the delivery rework measured a
 * 1:1 p50 of 7-9 ms. In runs of that code on this machine the p50 was 2.3 pings (median of the
 * runs in docs/benchmarks.md), so that machine's ping took about 8 / 2.3 ≈ 3.5 ms: these are the
 * targets in pings (the multiples are what is judged), and in ms on that machine.
 */
const TARGETS = {
  p50: { ms: 5, pings: 5 / 3.5 },
  p99: { ms: 20, pings: 20 / 3.5 },
  fanOut: { 100: { ms: 100, pings: 100 / 3.5 }, 250: { ms: 250, pings: 250 / 3.5 } },
} as const;

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
Object.assign(process.env, LOCAL_BASE_ENVIRONMENT);
const stack =
  values.url && values.dynamodb
    ? undefined
    : await startStackProcess(values['stack-dir'] ?? REPO_ROOT);
const url = values.url ?? stack!.websocket;
const dynamodb = values.dynamodb ?? stack!.dynamodb;

/** Judged by the median of the rounds' multiples of their own calibration. */
function judged(rounds: readonly Calibrated[], target: { ms: number; pings: number }): string {
  const pings = median(rounds.map((r) => r.ms / r.calibration.pingMs));
  return `target ≤ ${target.ms} ms = ${target.pings.toFixed(1)} pings: ${pings <= target.pings ? 'met' : 'MISSED'}`;
}

try {
  console.log(
    `Cipherline server benchmark (${values['stack-dir'] ?? 'this checkout'}; node ${process.version}; ${new Date().toISOString()}; load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')})`,
  );
  const senderCount = Math.ceil((messageCount * rounds + WARM_UP) / SENDS_PER_SENDER);
  const senders: TestUser[] = [];
  for (let i = 0; i < senderCount; i += 10)
    senders.push(
      ...(await Promise.all(
        Array.from({ length: Math.min(10, senderCount - i) }, (_, j) =>
          signupUser(url, `bench-sender-${i + j}`),
        ),
      )),
    );
  const receiver = await signupUser(url, 'bench-receiver');
  const probe = await signupUser(url, 'bench-probe');
  const calibrations: Calibration[] = [];
  const calibrate = async () => {
    const calibration = await calibrateNow(probe, dynamodb);
    calibrations.push(calibration);
    return calibration;
  };

  await oneToOneLatency(senders, receiver, WARM_UP); // JIT, connections, dynalite caches
  const p50s: Calibrated[] = [];
  const p99s: Calibrated[] = [];
  for (let round = 0; round < rounds; round++) {
    const calibration = await calibrate();
    const latencies = await oneToOneLatency(senders, receiver, messageCount);
    p50s.push({ ms: percentile(latencies, 50), calibration });
    p99s.push({ ms: percentile(latencies, 99), calibration });
  }
  for (const user of [...senders, receiver]) user.client.close();

  const fanOutRounds = new Map<number, Calibrated[]>();
  for (const size of groupSizes) {
    const group = await groupOf(url, size);
    await timeOneFanOut(group); // warm-up
    const medians: Calibrated[] = [];
    for (let round = 0; round < rounds; round++) {
      const calibration = await calibrate();
      const times: number[] = [];
      for (let i = 0; i < fanOuts; i++) times.push(await timeOneFanOut(group));
      medians.push({ ms: median(times), calibration });
    }
    fanOutRounds.set(size, medians);
    for (const member of group.members) member.client.close();
  }
  probe.client.close();

  console.log(
    `\nCalibration, measured before each round (${calibrations.length} times, median of 100 each; median (min-max)):`,
  );
  console.log(
    `  ping round trip ${spread(
      calibrations.map((c) => c.pingMs),
      2,
    )} ms   DynamoDB GetItem ${spread(
      calibrations.map((c) => c.getItemMs),
      2,
    )} ms`,
  );
  console.log(
    `\n1:1 send → delivery, ${rounds} rounds of ${messageCount} messages; each figure also as a multiple of its round's calibration (median of the rounds (min-max)):`,
  );
  console.log(`  p50 ${calibratedSpread(p50s)}   ${judged(p50s, TARGETS.p50)}`);
  console.log(`  p99 ${calibratedSpread(p99s)}   ${judged(p99s, TARGETS.p99)}`);
  if (groupSizes.length > 0) {
    console.log(
      `\nGroup fan-out, sendgroup → last member has it: ${rounds} rounds, each the median of ${fanOuts} (median of the rounds (min-max)):`,
    );
    for (const [size, medians] of fanOutRounds) {
      const target = TARGETS.fanOut[size as keyof typeof TARGETS.fanOut];
      console.log(
        `  ${String(size).padStart(4)} members online: ${calibratedSpread(medians)}${target ? `   ${judged(medians, target)}` : ''}`,
      );
    }
  }
} finally {
  await stack?.stop();
}
