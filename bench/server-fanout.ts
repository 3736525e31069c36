/**
 * Group fan-out for bench/server.ts: N members online, each on its own connection; one member
 * sends a group message and we time until the last of the other N-1 has it pushed. Members join
 * with signed requests and real statements (tools/group-actors.ts), as the server requires.
 */
import { randomUUID } from 'node:crypto';
import { fakeEnvelope, signupUser, type TestUser } from '../tools/accounts';
import { formGroup } from '../tools/group-actors';

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

export interface BenchGroup {
  readonly groupId: string;
  readonly members: TestUser[];
  readonly epoch: number;
}

/** Signs up `size` users, puts them all in one group, and stores the epochs that add them all. */
export async function groupOf(url: string, size: number): Promise<BenchGroup> {
  const groupId = `bench-${size}-${Date.now()}`;
  const names = Array.from({ length: size }, (_, i) => `f${size}-${i}-${Date.now() % 100000}`);
  const members = await inBatches(names, 10, (name) => signupUser(url, name));
  const epoch = await formGroup(members, groupId, SHARES_PER_FRAME);
  await new Promise((resolve) => setTimeout(resolve, 1000)); // setup pushes drain
  for (const member of members) member.client.takeQueued(() => true); // joins, key-shares
  return { groupId, members, epoch };
}

export async function timeOneFanOut({ groupId, members, epoch }: BenchGroup): Promise<number> {
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
    epoch,
    messageId,
    envelope: fakeEnvelope(300),
  });
  await Promise.all(arrivals);
  const elapsed = performance.now() - started;
  const reply = await sender!.client.waitFor((m) => m.replyTo === messageId, 30_000);
  if (reply.type !== 'ok') throw new Error(`sendgroup failed: ${JSON.stringify(reply)}`);
  return elapsed;
}
