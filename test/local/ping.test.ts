/** The first route end to end: the real ping handler behind the local gateway, on the local stack. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../infra/local/stack';
import { signupUser } from '../../tools/accounts';
import { startTestStack } from '../../tools/local-stack';
import { TestClient } from '../../tools/ws-client';

let stack: LocalStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(() => stack.stop());

describe('ping', () => {
  it('answers the frame and pushes a pong through the @connections API', async () => {
    const { client } = await signupUser(stack.endpoints.websocket, 'pinger');
    const before = Date.now();
    const reply = await client.request('ping', { echo: 'hello' });
    expect(reply).toMatchObject({ type: 'ok' });
    expect(reply.serverTime).toBeGreaterThanOrEqual(before);
    // The push went out through the real SDK client and the management endpoint.
    const pong = await client.waitFor((m) => m.type === 'pong');
    expect(pong).toMatchObject({ type: 'pong', echo: 'hello' });
    client.close();
  });

  it('serves four clients at once, each getting its own pong', async () => {
    const users = await Promise.all(
      [1, 2, 3, 4].map((i) => signupUser(stack.endpoints.websocket, `four-${i}`)),
    );
    await Promise.all(users.map((u, i) => u.client.request('ping', { echo: `client-${i}` })));
    const pongs = await Promise.all(users.map((u) => u.client.waitFor((m) => m.type === 'pong')));
    expect(pongs.map((p) => p.echo)).toEqual(['client-0', 'client-1', 'client-2', 'client-3']);
    for (const u of users) u.client.close();
  });

  it('refuses a connection that has not signed in', async () => {
    const client = await TestClient.connect(stack.endpoints.websocket);
    expect(await client.request('ping')).toMatchObject({ type: 'error', code: 'UNAUTHENTICATED' });
    client.close();
  });
});

describe('bad input gets a structured error and the connection stays usable', () => {
  it('answers non-JSON, an unknown action, a missing action and invalid fields with BAD_REQUEST', async () => {
    const { client } = await signupUser(stack.endpoints.websocket, 'sloppy');
    client.socket.send('hello?');
    expect(await client.next()).toMatchObject({
      type: 'error',
      code: 'BAD_REQUEST',
      message: expect.stringContaining('JSON'),
    });

    expect(await client.request('teleport')).toMatchObject({
      type: 'error',
      code: 'BAD_REQUEST',
      message: expect.stringContaining('Unknown action "teleport"'),
    });

    client.sendJson({ id: 'no-action' });
    expect(await client.next()).toMatchObject({
      type: 'error',
      replyTo: 'no-action',
      code: 'BAD_REQUEST',
    });

    const tooLong = await client.request('ping', { echo: 'x'.repeat(2000) });
    expect(tooLong).toMatchObject({
      type: 'error',
      code: 'BAD_REQUEST',
      message: expect.stringContaining('echo'),
    });

    client.sendJson({ action: 'ping', id: 42 });
    expect(await client.next()).toMatchObject({
      type: 'error',
      code: 'BAD_REQUEST',
      message: expect.stringContaining('id'),
    });

    expect(await client.request('ping')).toMatchObject({ type: 'ok' });
    client.close();
  });
});
