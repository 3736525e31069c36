/** The per-user daily upload quota (issue 9, point 15), lowered through the stack's own limits. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../infra/local/stack';
import { PRODUCTION_LIMITS } from '../../lambdas/shared/limits';
import { MAX_BLOB_BYTES } from '../../protocol/blobs';
import { signupUser, type TestUser } from '../../tools/accounts';
import { startTestStack } from '../../tools/local-stack';

const MIB = 1024 * 1024;
let stack: LocalStack;
let alice: TestUser;
let bob: TestUser;
beforeAll(async () => {
  stack = await startTestStack({ serverLimits: { uploadBytesPerDay: 100 * MIB } });
  [alice, bob] = (await Promise.all(
    ['alice', 'bob'].map((name) => signupUser(stack.endpoints.websocket, name)),
  )) as [TestUser, TestUser];
});
afterAll(async () => {
  alice.client.close();
  bob.client.close();
  await stack.stop();
});

const start = (user: TestUser, size: number) =>
  user.client.request('upload', { op: 'start', size });

describe('the daily upload quota', () => {
  it('counts announced bytes per user and refuses what would pass it, saying how much is left', async () => {
    expect(await start(alice, 60 * MIB)).toMatchObject({ type: 'ok' });
    expect(await start(alice, 50 * MIB)).toMatchObject({
      code: 'RATE_LIMITED',
      message: expect.stringMatching(/Daily upload quota reached: 0\.059 of 0\.098 GiB used today/),
    });
    // What still fits does; other users have their own quota.
    expect(await start(alice, 40 * MIB)).toMatchObject({ type: 'ok' });
    expect(await start(alice, 1)).toMatchObject({ code: 'RATE_LIMITED' });
    expect(await start(bob, 100 * MIB)).toMatchObject({ type: 'ok' });
  });

  it('is 10 GiB a day in production: five of the largest files', () => {
    expect(PRODUCTION_LIMITS.uploadBytesPerDay).toBe(5 * MAX_BLOB_BYTES);
  });
});
