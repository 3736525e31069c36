/** A connection that does not sign in within the grace period is closed (grace shortened through the stack's limits). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../infra/local/stack';
import { PRODUCTION_LIMITS } from '../../lambdas/shared/limits';
import { newAuthKey, newDeviceId } from '../../tools/accounts';
import { startTestStack } from '../../tools/local-stack';
import { TestClient } from '../../tools/ws-client';

// Long enough for a signup (scrypt) on a loaded 2-core machine to finish inside it.
const GRACE_MS = 3000;
let stack: LocalStack;
beforeAll(async () => {
  stack = await startTestStack({ serverLimits: { unboundGraceMs: GRACE_MS } });
});
afterAll(() => stack.stop());

describe('unbound connections', () => {
  it('are closed by the server after the grace period, even while they keep calling', async () => {
    const client = await TestClient.connect(stack.endpoints.websocket);
    const opened = Date.now();
    expect(await client.request('ping')).toMatchObject({ code: 'UNAUTHENTICATED' });
    const closed = await client.closed;
    expect(closed.code).toBe(1000);
    expect(Date.now() - opened).toBeGreaterThanOrEqual(GRACE_MS - 50);
    expect(Date.now() - opened).toBeLessThan(GRACE_MS + 20_000);
  });

  it('stay open once they sign up within the grace period', async () => {
    const client = await TestClient.connect(stack.endpoints.websocket);
    expect(
      await client.request('signup', {
        username: 'quick',
        authKey: newAuthKey(),
        deviceId: newDeviceId(),
      }),
    ).toMatchObject({ type: 'ok' });
    await new Promise((resolve) => setTimeout(resolve, GRACE_MS + 500));
    expect(client.socket.readyState).toBe(client.socket.OPEN);
    expect(await client.request('ping')).toMatchObject({ type: 'ok' });
    client.close();
  });

  it('use a 10 s grace period in production', () => {
    expect(PRODUCTION_LIMITS.unboundGraceMs).toBe(10_000);
  });
});
