/**
 * Group fan-out for bench/server.ts: N members online, each on its own connection; one member
 * sends a group message and we time until the last of the other N-1 has it pushed. Uses only
 * frames whose shape did not change with the delivery rework, so it measures older checkouts too.
 */
import { randomUUID } from 'node:crypto';
import { fakeEnvelope, signupUser, type TestUser } from '../test/support/accounts';

/** Key-shares per sharekey frame: about 330 bytes each keeps a frame well under 32 KB. */
const SHARES_PER_FRAME = 80;

async function inBatches<T, R>(
  items: readonly T[],
  size: number,
  work: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = [];
  for (let i = 0; i < items.length; i += size)
    results.push(...(await Promise.all(items.slice(i, i + size).map(work))));
  return results;
}

async function expectOk(
  user: TestUser,
  action: string,
  fields: object,
): Promise<Record<string, unknown>> {
  const reply = await user.client.request(action, fields, 30_000);
  if (reply.type !== 'ok') throw new Error(`${action} failed: ${JSON.stringify(reply)}`);
  return reply;
}

export interface BenchGroup {
  readonly groupId: string;
  readonly members: TestUser[];
}

/** Signs up `size` users, puts them all in one group, and stores epoch 1 wrapped for every member. */
export async function groupOf(url: string, size: number): Promise<BenchGroup> {
  const groupId = `bench-${size}-${Date.now()}`;
  const names = Array.from({ length: size }, (_, i) => `f${size}-${i}-${Date.now() % 100000}`);
  const members = await inBatches(names, 10, (name) => signupUser(url, name));
  for (const member of members) await expectOk(member, 'join', { groupId });
  // Epoch 1 for the whole list (the server treats statement and key-shares as opaque bytes).
  const statement = fakeEnvelope(400);
  const shares = members.map((m) => ({
    to: m.username,
    messageId: randomUUID(),
    envelope: fakeEnvelope(180),
  }));
  for (let i = 0; i < shares.length; i += SHARES_PER_FRAME) {
    await expectOk(members[0]!, 'sharekey', {
      op: 'store',
      groupId,
      epoch: 1,
      statement,
      keyShares: shares.slice(i, i + SHARES_PER_FRAME),
    });
  }
  // Every other member has its key-share (the maker is not pushed its own).
  await Promise.all(
    members.slice(1).map((m) => m.client.waitFor((e) => e.type === 'key-share', 30_000)),
  );
  for (const member of members) member.client.takeQueued(() => true); // join notices
  return { groupId, members };
}

export async function timeOneFanOut({ groupId, members }: BenchGroup): Promise<number> {
  const [sender, ...others] = members;
  const messageId = randomUUID();
  const arrivals = others.map((m) =>
    m.client.waitFor((e) => e.type === 'group-message' && e.messageId === messageId, 30_000),
  );
  const started = performance.now();
  sender!.client.sendJson({
    action: 'sendgroup',
    id: messageId,
    groupId,
    epoch: 1,
    messageId,
    envelope: fakeEnvelope(300),
  });
  await Promise.all(arrivals);
  const elapsed = performance.now() - started;
  const reply = await sender!.client.waitFor((m) => m.replyTo === messageId, 30_000);
  if (reply.type !== 'ok') throw new Error(`sendgroup failed: ${JSON.stringify(reply)}`);
  return elapsed;
}
