/**
 * Request budgets (issue 10 point 1): how many DynamoDB, S3 and @connections requests each command
 * makes, counted by middleware on the handlers' own SDK clients (test/support/request-counter.ts),
 * never by timing. Each budget is the exact count by the code today, as a function of what it
 * depends on (members, receipts, groups with news); docs/server.md lists them. A change that
 * makes a command cost more fails here; one that makes it cost less should lower its budget.
 * Counts are taken after each function's first frame (its connection cache is warm, as in a
 * container that has served the connection before).
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../infra/local/stack';
import { BLOB_CONTENT_TYPE } from '../../protocol/blobs';
import { joinGroup } from '../../lambdas/commands/join';
import { shareKey } from '../../lambdas/commands/sharekey';
import { fanOutToGroup } from '../../lambdas/shared/group-fan-out';
import {
  fakeEnvelope,
  goOffline,
  resumeUser,
  signinDevice,
  signupUser,
  type TestUser,
} from '../../tools/accounts';
import type { WirePage } from '../../tools/wire-events';
import { asUser, quickUsers } from '../support/deps';
import { startTestStack } from '../../tools/local-stack';
import { RequestCounter, type RequestCounts } from '../support/request-counter';
import { BUDGETS } from '../../bench/request-budgets';
import type { TestClient } from '../../tools/ws-client';
import {
  chainAdding,
  epochFrame,
  joinArtefact,
  publishSignerInStore,
} from '../../tools/group-actors';
import { statementToBase64 } from '../../protocol/group-statement';

let stack: LocalStack;
let url: string;
const counter = new RequestCounter();

beforeAll(async () => {
  // No unbound-connection checks during the counts: they would read connections in between.
  // A group of 250 takes several epochs (a statement carries about 40 join requests), each with
  // a key-share per member: more than a minute's key-shares of one maker.
  stack = await startTestStack({
    serverLimits: { unboundGraceMs: 600_000, perMinute: { keyShares: 100_000 } },
  });
  url = stack.endpoints.websocket;
  counter.install();
});
afterAll(async () => {
  counter.uninstall();
  await stack.stop();
});

/** A resume slides its session's expiry only when that moves it past the stored whole second. */
const resumeBudget = (groups: number, withNews: number) => [
  BUDGETS.resume(groups, withNews) - 1,
  BUDGETS.resume(groups, withNews),
];

const log: string[] = [];
afterAll(() => console.log(`Requests per command:\n${log.join('\n')}`));
function record(label: string, counts: RequestCounts): RequestCounts {
  log.push(
    `  ${label}: dynamodb ${counts.dynamodb}, s3 ${counts.s3}, @connections ${counts.connections}  ${JSON.stringify(counts.byCommand)}`,
  );
  return counts;
}

async function counted(label: string, client: TestClient, action: string, fields: object) {
  const { result, counts } = await counter.during(() => client.request(action, fields, 30_000));
  expect(result.type, JSON.stringify(result)).toBe('ok');
  return { reply: result, counts: record(label, counts) };
}

/** A user made by quickUsers joins through the core with its signed join request. */
async function joinDirect(userId: string, groupId: string): Promise<void> {
  await publishSignerInStore(userId);
  const { deps, context } = asUser(stack.endpoints.managementApi, userId);
  const request = await joinArtefact(userId, groupId);
  await joinGroup(deps, { action: 'join', id: 'j', groupId, request }, context);
}

/**
 * `members` join a group; the first of them stores epoch 1, then the epochs adding all the others
 * (their signed statements): through the cores, no WebSocket.
 */
async function groupWithEpoch(groupId: string, members: readonly string[]): Promise<number> {
  for (const userId of members) await joinDirect(userId, groupId);
  const chain = await chainAdding(members[0]!, groupId, members.slice(1));
  const { deps, context } = asUser(stack.endpoints.managementApi, members[0]!);
  for (const statement of chain) {
    const frame = { action: 'sharekey', id: 's', op: 'store' } as const;
    const keyShares = (await epochFrame(statement)).keyShares;
    await shareKey(
      deps,
      {
        ...frame,
        groupId,
        epoch: statement.epoch,
        statement: statementToBase64(statement),
        keyShares,
      },
      context,
    );
  }
  return chain.length;
}

/** A group of `size` members, made through the stores and the cores (no scrypt), all online. */
async function onlineGroup(size: number) {
  const groupId = `g${size}-${randomUUID().slice(0, 8)}`;
  const users = await quickUsers(Array.from({ length: size }, (_, i) => `m${i}-${groupId}`));
  const epoch = await groupWithEpoch(
    groupId,
    users.map((user) => user.username),
  );
  const clients: TestClient[] = [];
  for (let i = 0; i < users.length; i += 25)
    clients.push(
      ...(await Promise.all(
        users.slice(i, i + 25).map(async (user) => (await resumeUser(url, user)).client),
      )),
    );
  return { groupId, users, clients, epoch };
}

/** An uploaded, completed blob of the user's. */
async function uploadBlob(client: TestClient): Promise<string> {
  const bytes = new Uint8Array(100);
  const started = await client.request('upload', { op: 'start', size: bytes.length });
  const [part] = started.urls as { url: string }[];
  const put = await fetch(part!.url, {
    method: 'PUT',
    headers: { 'content-type': BLOB_CONTENT_TYPE },
    body: bytes,
  });
  expect(put.status).toBe(200);
  expect(await client.request('upload', { op: 'complete', blobId: started.blobId })).toMatchObject({
    type: 'ok',
  });
  return started.blobId as string;
}

describe('request budgets', () => {
  let alice: TestUser;
  let bob: TestUser;

  beforeAll(async () => {
    [alice, bob] = await Promise.all([signupUser(url, 'alice'), signupUser(url, 'bob')]);
    // Warm each function's connection cache with a first frame.
    await alice.client.request('send', { to: 'alice', messageId: randomUUID(), envelope: 'AAAA' });
    await bob.client.request('ack', { through: { inbox: 0 } });
  });

  it('send: a fixed number of requests and one push per live connection of the recipient', async () => {
    const id = randomUUID();
    const { counts } = await counted('send', alice.client, 'send', {
      to: 'bob',
      messageId: id,
      envelope: fakeEnvelope(),
    });
    expect(counts).toMatchObject({ dynamodb: BUDGETS.send, s3: 0, connections: 1 });
    await bob.client.waitFor((m) => m.messageId === id);
  });

  it('ack: the page a push asks for, the ack that confirms it (with its receipt), and one with nothing new', async () => {
    const id = randomUUID();
    await alice.client.request('send', { to: 'bob', messageId: id, envelope: fakeEnvelope() });
    await bob.client.waitFor((m) => m.messageId === id);
    const ask = await counted('ack (after a push)', bob.client, 'ack', { through: { inbox: 0 } });
    expect(ask.counts.dynamodb).toBe(BUDGETS.ackNothingNew + 1); // + the served marks
    const page = ask.reply.page as WirePage;
    const receipts = page.events.filter((event) => event.type === 'message').length;
    const confirm = await counted(`ack (passing ${receipts} messages)`, bob.client, 'ack', {
      through: page.through,
    });
    expect(confirm.reply.receipts).toBe(receipts);
    expect(confirm.counts).toMatchObject({
      dynamodb: BUDGETS.ackPassing(receipts),
      connections: receipts, // a receipt push each; alice is online on one connection
    });
    const again = await counted('ack (nothing new)', bob.client, 'ack', { through: page.through });
    expect(again.counts).toMatchObject({ dynamodb: BUDGETS.ackNothingNew, connections: 0 });
  });

  it('signin and resume: fixed, plus per group its head (100 a call) and a read if it has news', async () => {
    const carol = await signupUser(url, 'carol');
    await goOffline(stack.endpoints.dynamodb, carol);
    const signedIn = await counter.during(() => signinDevice(url, carol, carol.deviceId));
    record('signin (no groups)', signedIn.counts);
    expect(signedIn.counts).toMatchObject({ dynamodb: BUDGETS.signinNoGroups, connections: 0 });
    await goOffline(stack.endpoints.dynamodb, signedIn.result);
    const quiet = await counter.during(() => resumeUser(url, carol));
    record('resume (no groups)', quiet.counts);
    expect(quiet.counts.connections).toBe(0);
    expect(resumeBudget(0, 0)).toContain(quiet.counts.dynamodb);
    await goOffline(stack.endpoints.dynamodb, { ...carol, client: quiet.result.client });

    // Three groups; two of them get a message while carol is away.
    const groups = [
      `r1-${randomUUID().slice(0, 8)}`,
      `r2-${randomUUID().slice(0, 8)}`,
      `r3-${randomUUID().slice(0, 8)}`,
    ];
    for (const groupId of groups) await groupWithEpoch(groupId, ['carol']);
    // A first resume reads all three (joins and epochs are news), a second after acking only two.
    const first = await resumeUser(url, carol);
    await first.client.request('ack', { through: first.page.through });
    await goOffline(stack.endpoints.dynamodb, { ...carol, client: first.client });
    for (const groupId of groups.slice(0, 2)) {
      const { deps, context } = asUser(stack.endpoints.managementApi, 'carol');
      await fanOutToGroup(deps, context, {
        groupId,
        epoch: 1,
        from: 'carol',
        messageId: randomUUID(),
        envelope: fakeEnvelope(),
      });
    }
    const busy = await counter.during(() => resumeUser(url, carol));
    record('resume (3 groups, 2 with news)', busy.counts);
    expect(busy.result.page.events).toHaveLength(2);
    expect(resumeBudget(3, 2)).toContain(busy.counts.dynamodb);
    busy.result.client.close();
  });

  it.each([10, 100, 250])(
    'sendgroup and join in a group of %i online members: about one request per member (the push)',
    async (size) => {
      const { groupId, clients, epoch } = await onlineGroup(size);
      await clients[0]!.request('members', { groupId }); // warm the connection caches
      // A member reads the log so far (joins, the epoch with its key-share) and confirms it, so
      // that its acks below read only the new message (an epoch in a page adds its key-share read).
      const stream = `g:${groupId}`;
      let sofar = (await clients[1]!.request('ack', { through: { [stream]: 0 } })).page as WirePage;
      while (sofar.more)
        sofar = (await clients[1]!.request('ack', { through: sofar.through })).page as WirePage;
      await clients[1]!.request('ack', { through: sofar.through });
      const warm = await clients[0]!.request('sendgroup', {
        groupId,
        epoch,
        messageId: randomUUID(),
        envelope: 'AAAA',
      });
      expect(warm.type).toBe('ok');
      const { counts } = await counted(`sendgroup (${size} members)`, clients[0]!, 'sendgroup', {
        groupId,
        epoch,
        messageId: randomUUID(),
        envelope: fakeEnvelope(),
      });
      expect(counts).toMatchObject({
        dynamodb: BUDGETS.sendgroup(size),
        s3: 0,
        connections: size - 1,
      });
      // A member's acks after the push: the page that holds it, and the ack that confirms it.
      const asked = await counted(`ack of g:… (after a push)`, clients[1]!, 'ack', {
        through: sofar.through,
      });
      expect(asked.counts.dynamodb).toBe(BUDGETS.ackGroup);
      const confirmed = await counted(`ack of g:… (confirming)`, clients[1]!, 'ack', {
        through: (asked.reply.page as WirePage).through,
      });
      expect(confirmed.counts.dynamodb).toBe(BUDGETS.ackGroupConfirming);
      const idle = await counted(`ack of g:… (nothing new)`, clients[1]!, 'ack', {
        through: (asked.reply.page as WirePage).through,
      });
      expect(idle.counts.dynamodb).toBe(BUDGETS.ackGroupNothingNew);
      const perMember = (counts.dynamodb + counts.connections) / (size - 1);
      log.push(`    = ${perMember.toFixed(3)} requests per member`);
      if (size >= 100) expect(perMember).toBeLessThanOrEqual(1.1);

      const blobId = await uploadBlob(clients[0]!);
      await clients[0]!.request('sendgroupfile', {
        groupId,
        epoch,
        messageId: randomUUID(),
        blobId,
        envelope: 'AAAA',
      }); // warm
      const file = await counted(`sendgroupfile (${size} members)`, clients[0]!, 'sendgroupfile', {
        groupId,
        epoch,
        messageId: randomUUID(),
        blobId,
        envelope: fakeEnvelope(),
      });
      expect(file.counts).toMatchObject({
        dynamodb: BUDGETS.sendgroupfile(size),
        s3: 0,
        connections: size - 1,
      });
      const filePerMember = (file.counts.dynamodb + file.counts.connections) / (size - 1);
      log.push(`    = ${filePerMember.toFixed(3)} requests per member`);
      // The read grants (one per member, 25 per BatchWriteItem) add 0.04 per member: 1.10 at 100.
      if (size >= 100) expect(filePerMember).toBeLessThanOrEqual(1.11);

      const [joiner] = await quickUsers([`j-${groupId}`]);
      const { client } = await resumeUser(url, joiner!);
      await publishSignerInStore(joiner!.username);
      // Warm the join function's connection cache with a join elsewhere.
      const elsewhere = `warm-${groupId}`;
      expect(
        await client.request('join', {
          groupId: elsewhere,
          request: await joinArtefact(joiner!.username, elsewhere),
        }),
      ).toMatchObject({ type: 'ok' });
      const join = await counted(`join (${size} → ${size + 1} members)`, client, 'join', {
        groupId,
        request: await joinArtefact(joiner!.username, groupId),
      });
      expect(join.counts).toMatchObject({ dynamodb: BUDGETS.join(size + 1), connections: size });
      for (const member of [...clients, client]) member.close();
    },
    300_000,
  );
});
