/**
 * `npm run bench:load`: the load curve (issue 10 point 5). N clients signed in to one local stack
 * (its own process), in groups of GROUP_SIZE; for a fixed time each client sends one message per
 * interval, alternating a 1:1 message to another client and a group message to its group, and
 * follows the catch-up contract (after pushes, it acks the pushed streams and confirms the page).
 * For each N it prints messages delivered per second, delivery latency p50/p99 (send → each
 * recipient's push), errors (error replies, and deliveries missing after a grace period), and the
 * stack's CPU (of one core) and resident memory. Everything is bounded: every client sends exactly
 * rate × duration messages; only 127.0.0.1 is touched.
 *
 *   npm run bench:load                                   # N = 10, 50, 100, 250; 20 s each, 1 msg/s per client
 *   npm run bench:load -- --clients 10,50 --seconds 10 --interval-ms 500
 *   npm run bench:load -- --clients 75 --cpu-prof /tmp/prof   # then: npx tsx bench/cpu-profile.ts /tmp/prof/*.cpuprofile
 */
import { randomUUID } from 'node:crypto';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { LOCAL_BASE_ENVIRONMENT } from '../infra/local/aws-clients';
import { REPO_ROOT } from '../infra/local/stack';
import { fakeEnvelope, signupUser, type TestUser } from '../tools/accounts';
import { isDurable } from '../tools/wire-events';
import { formGroup } from '../tools/group-actors';
import { calibrate } from './calibration';
import { startStackProcess, type StackProcess } from './stack-process';
import { asMultiples, percentile } from './stats';

const { values } = parseArgs({
  options: {
    clients: { type: 'string', default: '10,50,100,250' },
    seconds: { type: 'string', default: '20' },
    'interval-ms': { type: 'string', default: '1000' },
    'stack-dir': { type: 'string' },
    'cpu-prof': { type: 'string' },
  },
});
const phases = values.clients.split(',').map(Number);
const durationMs = Number(values.seconds) * 1000;
const intervalMs = Number(values['interval-ms']);
const GROUP_SIZE = 10;
/** After the last send, how long deliveries may still arrive before they count as missing. */
const GRACE_MS = 10_000;

interface Sent {
  readonly at: number;
  readonly recipients: number;
  arrivals: number;
}

/** One simulated client: sends on a timer, records arrivals, acks what it was pushed. */
class LoadClient {
  through: Record<string, number> = {};
  private pushedStreams = new Set<string>();
  private acking = false;

  constructor(
    readonly user: TestUser,
    private readonly onArrival: (messageId: string, at: number) => void,
    private readonly onError: () => void,
  ) {
    Object.assign(this.through, user.page?.through ?? {});
    user.client.socket.on('message', (data) => {
      const message = JSON.parse(String(data)) as Record<string, unknown>;
      if (!isDurable(message)) return;
      this.pushedStreams.add(message.stream as string);
      // Receipts carry the receipted message's id: not a delivery of it.
      if (message.type === 'message' || message.type === 'group-message')
        this.onArrival(message.messageId as string, performance.now());
    });
  }

  /** Acks the streams pushed since the last ack, and confirms the page it gets (the contract). */
  async ackPushed(): Promise<void> {
    this.user.client.takeQueued(isDurable); // counted on arrival; nothing waits for them
    if (this.acking || this.pushedStreams.size === 0) return;
    this.acking = true;
    try {
      const named = Object.fromEntries(
        [...this.pushedStreams].map((stream) => [stream, this.through[stream] ?? 0]),
      );
      this.pushedStreams.clear();
      for (let page = 0; page < 5; page++) {
        const reply = await this.user.client.request('ack', { through: named }, 30_000);
        if (reply.type !== 'ok') return this.onError();
        const served = reply.page as { through: Record<string, number>; more: boolean };
        const moved = Object.entries(served.through).some(([s, n]) => n !== named[s]);
        Object.assign(this.through, served.through);
        Object.assign(named, served.through);
        if (!moved && !served.more) return;
      }
    } finally {
      this.acking = false;
    }
  }
}

async function signUpAll(url: string, count: number, prefix: string): Promise<TestUser[]> {
  const users: TestUser[] = [];
  for (let i = 0; i < count; i += 10)
    users.push(
      ...(await Promise.all(
        Array.from({ length: Math.min(10, count - i) }, (_, j) =>
          signupUser(url, `${prefix}-${i + j}`),
        ),
      )),
    );
  return users;
}

async function phase(stack: StackProcess, n: number) {
  const prefix = `load${n}-${Date.now() % 100000}`;
  const users = await signUpAll(stack.websocket, n, prefix);
  const groups: { groupId: string; members: TestUser[]; epoch: number }[] = [];
  for (let g = 0; g * GROUP_SIZE < n; g++) {
    const members = users.slice(g * GROUP_SIZE, (g + 1) * GROUP_SIZE);
    const groupId = `${prefix}-g${g}`;
    const epoch = await formGroup(members, groupId);
    groups.push({ groupId, members, epoch });
  }
  await new Promise((resolve) => setTimeout(resolve, 500)); // setup pushes drain
  for (const user of users) user.client.takeQueued(() => true);

  const sent = new Map<string, Sent>();
  const latencies: number[] = [];
  let errors = 0;
  let delivered = 0;
  const clients = users.map(
    (user) =>
      new LoadClient(
        user,
        (messageId, at) => {
          const message = sent.get(messageId);
          if (!message) return; // a setup notice or key-share
          message.arrivals++;
          delivered++;
          latencies.push(at - message.at);
        },
        () => errors++,
      ),
  );
  const groupOf = new Map(groups.flatMap((g) => g.members.map((m) => [m.username, g] as const)));

  const cpuBefore = stack.cpuSeconds();
  let peakRss = stack.rssMiB();
  const started = performance.now();
  const sends = Math.floor(durationMs / intervalMs);
  await Promise.all(
    clients.map(async (client, index) => {
      // Spread the clients over the interval, then one send per interval, exactly `sends` of them.
      await new Promise((resolve) => setTimeout(resolve, (index / clients.length) * intervalMs));
      for (let i = 0; i < sends; i++) {
        const due = started + (index / clients.length) * intervalMs + i * intervalMs;
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, due - performance.now())));
        const messageId = randomUUID();
        const group = groupOf.get(client.user.username)!;
        const toGroup = i % 2 === 1 && group.members.length > 1;
        const to = users[(index + 1 + (i % (n - 1 || 1))) % n]!;
        sent.set(messageId, {
          at: performance.now(),
          recipients: toGroup ? group.members.length - 1 : 1,
          arrivals: 0,
        });
        const frame = toGroup
          ? { groupId: group.groupId, epoch: group.epoch, messageId, envelope: fakeEnvelope(300) }
          : { to: to.username, messageId, envelope: fakeEnvelope(300) };
        void client.user.client.request(toGroup ? 'sendgroup' : 'send', frame, 30_000).then(
          (reply) => reply.type === 'ok' || errors++,
          () => errors++,
        );
        void client.ackPushed().catch(() => errors++);
        if (i % 5 === 0) peakRss = Math.max(peakRss, stack.rssMiB());
      }
    }),
  );
  const sendingMs = performance.now() - started;
  const expected = [...sent.values()].reduce((sum, m) => sum + m.recipients, 0);
  const deadline = performance.now() + GRACE_MS;
  while (delivered < expected && performance.now() < deadline)
    await new Promise((resolve) => setTimeout(resolve, 100));
  const cpuSeconds = stack.cpuSeconds() - cpuBefore;
  const elapsedMs = performance.now() - started;
  peakRss = Math.max(peakRss, stack.rssMiB());
  for (const user of users) user.client.close();
  return {
    n,
    offeredPerSecond: (sent.size / sendingMs) * 1000,
    deliveredPerSecond: (delivered / elapsedMs) * 1000,
    delivered,
    expected,
    missing: expected - delivered,
    errors,
    p50: latencies.length ? percentile(latencies, 50) : NaN,
    p99: latencies.length ? percentile(latencies, 99) : NaN,
    cpuPercent: (cpuSeconds / (elapsedMs / 1000)) * 100,
    peakRss,
  };
}

process.env.LOG_LEVEL = 'warn';
Object.assign(process.env, LOCAL_BASE_ENVIRONMENT);
const stack = await startStackProcess(values['stack-dir'] ?? REPO_ROOT, values['cpu-prof']);
try {
  console.log(
    `Cipherline load curve (node ${process.version}; ${new Date().toISOString()}; load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(
        ' ',
      )}): ${durationMs / 1000} s per N, one message per ${intervalMs} ms per client (1:1 and group by turns), groups of ${GROUP_SIZE}`,
  );
  const probe = await signupUser(stack.websocket, 'load-probe');
  const calibration = await calibrate(probe, stack.dynamodb);
  console.log(
    `Calibration: ping ${calibration.pingMs.toFixed(2)} ms, DynamoDB GetItem ${calibration.getItemMs.toFixed(2)} ms`,
  );
  console.log(
    '\n    N  sent/s  delivered/s  deliveries (missing)  errors   p50 (ms, pings)      p99 (ms, pings)       stack CPU  stack RSS',
  );
  for (const n of phases) {
    const r = await phase(stack, n);
    const ms = (v: number) =>
      Number.isNaN(v) ? '-' : asMultiples(v, calibration).split(' = ').slice(0, 2).join(' = ');
    console.log(
      `  ${String(r.n).padStart(3)}  ${r.offeredPerSecond.toFixed(1).padStart(6)}  ${r.deliveredPerSecond.toFixed(1).padStart(11)}  ${String(r.delivered).padStart(10)} (${r.missing})  ${String(r.errors).padStart(6)}   ${ms(r.p50).padEnd(20)} ${ms(r.p99).padEnd(21)} ${r.cpuPercent.toFixed(0).padStart(5)} %  ${r.peakRss.toFixed(0)} MiB`,
    );
  }
  probe.client.close();
} finally {
  await stack.stop();
}
