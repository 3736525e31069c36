/**
 * Group fan-out for bench/server.ts: N members online, each on its own connection; one member
 * sends a group message and we time until the last of the other N-1 has it pushed.
 */
import { randomUUID } from 'node:crypto';
import { fakeEnvelope, signupUser, type TestUser } from '../test/support/accounts';

const REPEATS = 5;
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
  const reply = await user.client.request(action, fields);
  if (reply.type !== 'ok') throw new Error(`${action} failed: ${JSON.stringify(reply)}`);
  return reply;
}

/** Signs up `size` users, puts them all in one group, and stores epoch 1 wrapped for every member. */
async function groupOf(
  url: string,
  size: number,
): Promise<{ groupId: string; members: TestUser[] }> {
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
  await Promise.all(members.map((m) => m.client.waitFor((e) => e.type === 'key-share', 30_000)));
  return { groupId, members };
}

async function timeOneFanOut(groupId: string, members: readonly TestUser[]): Promise<number> {
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
  const reply = await sender!.client.waitFor((m) => m.replyTo === messageId);
  if (reply.type !== 'ok') throw new Error(`sendgroup failed: ${JSON.stringify(reply)}`);
  return elapsed;
}

export async function measureGroupFanOut(
  url: string,
  size: number,
): Promise<{ median: number; min: number; max: number }> {
  const { groupId, members } = await groupOf(url, size);
  try {
    await timeOneFanOut(groupId, members); // warm-up
    const times: number[] = [];
    for (let i = 0; i < REPEATS; i++) times.push(await timeOneFanOut(groupId, members));
    times.sort((a, b) => a - b);
    return { median: times[Math.floor(times.length / 2)]!, min: times[0]!, max: times.at(-1)! };
  } finally {
    for (const member of members) member.client.close();
  }
}
