/**
 * The capacity and cost model of docs/SCALING.md, computed from the request budgets
 * (bench/request-budgets.ts, asserted by test/server/request-budgets.test.ts), AWS list prices
 * (us-east-1, below) and the stated usage assumptions. Prints the tables the document quotes.
 *
 *   npx tsx bench/cost-model.ts
 */
import { BUDGETS } from './request-budgets';

/** AWS list prices, us-east-1, in USD (aws.amazon.com/…/pricing pages as of 2026-12-01). */
const PRICE = {
  /** DynamoDB on-demand (since the 2024-11-01 cut): per write / read request unit. */
  wru: 0.625e-6,
  rru: 0.125e-6,
  /** DynamoDB standard table class storage, per GB-month (PITR adds 0.20 per GB-month). */
  dynamoGbMonth: 0.25 + 0.2,
  /** API Gateway WebSocket: per message (first billion a month, 32 KB increments), per connection minute. */
  wsMessage: 1.0e-6,
  wsConnectionMinute: 0.25e-6,
  /** Lambda arm64: per request, per GB-second (first 7.5 billion GB-s a month). */
  lambdaRequest: 0.2e-6,
  lambdaGbSecond: 0.0000133334,
  /** Data transfer out to the internet, per GB (after the first 100 GB a month). */
  transferOutGb: 0.09,
  /** S3 Standard: per GB-month, per PUT, per GET. */
  s3GbMonth: 0.023,
  s3Put: 0.005e-3,
  s3Get: 0.0004e-3,
} as const;

/** The Lambdas' memory (infra/cdk/handler-function.ts) and an assumed mean duration per frame in AWS. */
const LAMBDA_GB = 0.5;
const LAMBDA_MS = { base: 40, perMember: 0.5 };

interface Scale {
  readonly users: number;
  /** Mean members of a group a message goes to. */
  readonly groupSize: number;
}
const SCALES: readonly Scale[] = [
  { users: 1_000, groupSize: 8 },
  { users: 100_000, groupSize: 20 },
  { users: 10_000_000, groupSize: 20 },
];

/** Usage per user, the same at every scale. */
const USAGE = {
  devicesPerUser: 1.5,
  /** Share of devices connected, on average over the day and in the peak hour. */
  connected: 0.2,
  connectedPeak: 0.35,
  /** Messages a user sends per day: 1:1 and to groups. */
  direct: 40,
  group: 10,
  /** Peak hour traffic over the mean. */
  peakFactor: 2.5,
  /** Pushed messages a connected client confirms with one ack pair (it debounces about 2 s). */
  pushesPerAck: 4,
  /** Events per catch-up page for a device that was away. */
  pageEvents: 100,
  /** Connections (binds) per device per day: reconnects, the 2 h connection limit. */
  bindsPerDevice: 12,
  /** Groups a user is in (its cursor item holds one entry per group). */
  groupsPerUser: 10,
  /** Envelope bytes (base64) of a mean message; pushes and items carry it. */
  envelopeBytes: 1000,
  /** Share of messages that are files, and their mean size. */
  fileShare: 0.05,
  fileBytes: 1_000_000,
} as const;

const KB = 1024;
const wcu = (bytes: number) => Math.max(1, Math.ceil(bytes / KB));
const rru = (bytes: number) => Math.max(1, Math.ceil(bytes / (4 * KB)));
const ITEM = USAGE.envelopeBytes + 400; // an inbox item or log entry
const PUSH_BYTES = USAGE.envelopeBytes + 250;
const CURSOR_ITEM = 150 + 70 * USAGE.groupsPerUser;
const groupItem = (members: number) => 300 + 25 * members;

interface Cost {
  lambda: number;
  gbSeconds: number;
  wru: number;
  rru: number;
  dynamoRequests: number;
  pushes: number;
  wsMessages: number;
  transferBytes: number;
}
const zero = (): Cost => ({
  lambda: 0,
  gbSeconds: 0,
  wru: 0,
  rru: 0,
  dynamoRequests: 0,
  pushes: 0,
  wsMessages: 0,
  transferBytes: 0,
});
function add(into: Cost, part: Partial<Cost>, times = 1): Cost {
  for (const key of Object.keys(part) as (keyof Cost)[]) into[key] += (part[key] ?? 0) * times;
  return into;
}

/** One frame a client sends that runs a Lambda: frame in, reply out. */
const frame = (ms: number): Partial<Cost> => ({
  lambda: 1,
  gbSeconds: (LAMBDA_GB * ms) / 1000,
  wsMessages: 2,
});

/**
 * Each device that receives a message eventually confirms it: a connected one after a push (the
 * ack that asks for the page and the one that confirms it, a cursor item write each), shared by
 * `pushesPerAck` messages; one that was away, in its catch-up pages.
 */
function confirmations(devices: number, stream: 'inbox' | 'group'): Partial<Cost> {
  const online = devices * USAGE.connected;
  const away = devices - online;
  const pairs = online / USAGE.pushesPerAck + away / USAGE.pageEvents;
  const page = rru(ITEM * USAGE.pushesPerAck);
  const pair = add(
    add(zero(), frame(LAMBDA_MS.base), 2),
    stream === 'inbox'
      ? // ask: cursor, page, write; confirm: cursor, page, write, the range passed
        {
          dynamoRequests: BUDGETS.ackNothingNew + 1 + BUDGETS.ackPassing(0),
          wru: 2 * wcu(CURSOR_ITEM),
          rru: 2 * rru(CURSOR_ITEM) + 2 * page + 1,
        }
      : // each: cursor, membership rows, the group's head; the page; the writes
        {
          dynamoRequests: BUDGETS.ackGroup + BUDGETS.ackGroupConfirming,
          wru: 2 * wcu(CURSOR_ITEM),
          rru: 2 * (rru(CURSOR_ITEM) + rru(60 * USAGE.groupsPerUser) + 1) + page,
        },
  );
  return Object.fromEntries(Object.entries(pair).map(([k, v]) => [k, v * pairs]));
}

/** A 1:1 message, its pushes, its receipt, and every confirmation. */
function directMessage(): Cost {
  const devices = USAGE.devicesPerUser;
  const cost = add(zero(), frame(LAMBDA_MS.base), 1);
  // send: rate window, mailbox counter, item, claim (writes); the recipient's user item (its
  // block list) and mailbox (reads).
  add(cost, { dynamoRequests: BUDGETS.send, wru: 1 + 1 + wcu(ITEM) + 1, rru: 2 });
  const pushes = devices * USAGE.connected;
  add(cost, { pushes, wsMessages: pushes, transferBytes: pushes * PUSH_BYTES });
  // The receipt: the sender's mailbox counter, its item, claim, the mark on the item, a read.
  add(cost, { dynamoRequests: 5, wru: 1 + 1 + 1 + wcu(ITEM), rru: 1 });
  add(cost, { pushes, wsMessages: pushes, transferBytes: pushes * 300 });
  add(cost, confirmations(devices, 'inbox')); // the recipient's devices confirm the message
  add(cost, confirmations(devices, 'inbox')); // the sender's devices confirm the receipt
  return cost;
}

/** A group message to `members` members: written once, pushed to every connected device. */
function groupMessage(members: number): Cost {
  const cost = add(zero(), frame(LAMBDA_MS.base + LAMBDA_MS.perMember * members));
  // rate window, the group item (charged its whole size), entry, claim; the members' mailboxes.
  add(cost, {
    dynamoRequests: BUDGETS.sendgroup(members),
    wru: 1 + wcu(groupItem(members)) + wcu(ITEM) + 1,
    rru: members,
  });
  const devices = members * USAGE.devicesPerUser - 1;
  const pushes = devices * USAGE.connected;
  add(cost, { pushes, wsMessages: pushes, transferBytes: pushes * PUSH_BYTES });
  add(cost, confirmations(devices, 'group'));
  return cost;
}

function dollars(cost: Cost): Record<string, number> {
  return {
    Lambda: cost.lambda * PRICE.lambdaRequest + cost.gbSeconds * PRICE.lambdaGbSecond,
    DynamoDB: cost.wru * PRICE.wru + cost.rru * PRICE.rru,
    'API Gateway messages': cost.wsMessages * PRICE.wsMessage,
    'transfer out': (cost.transferBytes / 1e9) * PRICE.transferOutGb,
  };
}
const total = (parts: Record<string, number>) => Object.values(parts).reduce((a, b) => a + b, 0);
const money = (value: number) =>
  value >= 100 ? `$${Math.round(value).toLocaleString('en-US')}` : `$${value.toFixed(2)}`;

console.log('Per message (requests; the push is one per connected device):');
const shapes: [string, Cost][] = [
  ['1:1 message, with its receipt and confirmations', directMessage()],
  ...[8, 20, 100, 256].map(
    (members) => [`group message, ${members} members`, groupMessage(members)] as [string, Cost],
  ),
];
for (const [name, cost] of shapes) {
  const parts = dollars(cost);
  console.log(
    `  ${name.padEnd(50)} DynamoDB ${cost.dynamoRequests.toFixed(1).padStart(5)} req (${cost.wru.toFixed(1)} WRU, ${cost.rru.toFixed(1)} RRU), Lambda ${cost.lambda.toFixed(2)}, pushes ${cost.pushes.toFixed(1)}, API GW msgs ${cost.wsMessages.toFixed(1)}; per million: ${money(total(parts) * 1e6)} (${Object.entries(
      parts,
    )
      .map(([k, v]) => `${k} ${money(v * 1e6)}`)
      .join(', ')})`,
  );
}

console.log('\nPer month at each scale (30 days):');
for (const scale of SCALES) {
  const perDay = zero();
  const { users } = scale;
  add(perDay, directMessage(), users * USAGE.direct);
  add(perDay, groupMessage(scale.groupSize), users * USAGE.group);
  const devices = users * USAGE.devicesPerUser;
  // Binds: session, mailbox, row, cursor item, rows, inbox, group heads (resume's budget).
  add(
    perDay,
    {
      ...frame(LAMBDA_MS.base),
      dynamoRequests: BUDGETS.resume(USAGE.groupsPerUser, 2),
      wru: 1 + 1 + wcu(CURSOR_ITEM),
      rru: 6 + USAGE.groupsPerUser + 2,
    },
    devices * USAGE.bindsPerDevice,
  );
  const month = Object.fromEntries(Object.entries(dollars(perDay)).map(([k, v]) => [k, v * 30]));
  month['API Gateway connection minutes'] =
    devices * USAGE.connected * 1440 * 30 * PRICE.wsConnectionMinute;
  // At rest: 30 days of inbox items and log entries, users, cursors, key-shares; PITR on top.
  const messagesPerDay = users * (USAGE.direct + USAGE.group);
  const storedGb =
    (messagesPerDay * 30 * (ITEM + 200) + users * 8 * KB + devices * CURSOR_ITEM) / 1e9;
  month['DynamoDB storage'] = storedGb * PRICE.dynamoGbMonth;
  // Files: S3 storage for 30 days, one PUT, and a GET + transfer per receiving device.
  const files = messagesPerDay * USAGE.fileShare;
  const downloads = files * (0.5 * 1 + 0.5 * (scale.groupSize - 1)) * USAGE.devicesPerUser;
  month['S3 files'] =
    ((files * 30 * USAGE.fileBytes) / 1e9) * PRICE.s3GbMonth +
    files * 30 * PRICE.s3Put +
    downloads * 30 * PRICE.s3Get +
    ((downloads * 30 * USAGE.fileBytes) / 1e9) * PRICE.transferOutGb;
  const sum = total(month);
  const msgs = messagesPerDay * 30;
  console.log(
    `  ${users.toLocaleString('en-US').padStart(10)} users (groups of ${scale.groupSize}): ${money(sum)} a month, ${money((sum / msgs) * 1e6)} per million messages sent`,
  );
  for (const [k, v] of Object.entries(month)) console.log(`      ${k.padEnd(32)} ${money(v)}`);
  const peak = USAGE.peakFactor / 86_400;
  const sentPerSecond = messagesPerDay * peak;
  const pushesPerSecond = perDay.pushes * peak * (USAGE.connectedPeak / USAGE.connected);
  const invocationsPerSecond = perDay.lambda * peak;
  const meanMs = (perDay.gbSeconds / perDay.lambda / LAMBDA_GB) * 1000;
  console.log(
    `      peak hour: ${sentPerSecond.toFixed(1)} messages sent/s, ${pushesPerSecond.toFixed(0)} pushes/s (@connections: 10,000 requests/s per account), ${invocationsPerSecond.toFixed(0)} Lambda invocations/s × ${meanMs.toFixed(0)} ms = ${((invocationsPerSecond * meanMs) / 1000).toFixed(0)} concurrent (default quota 1,000), ${((perDay.wru * peak) / 1).toFixed(0)} WRU/s and ${(perDay.rru * peak).toFixed(0)} RRU/s; reconnecting every connected device at 500 new connections/s takes ${((devices * USAGE.connectedPeak) / 500).toFixed(0)} s`,
  );
}
