/**
 * API Gateway's 32 KB frame limit, end to end against the local stack: the session never sends a
 * frame it knows is too big (TOO_LARGE, the connection stays up), and when a too-big frame does
 * reach the gateway (sent around the session), the gateway closes with 1009 "Message too big"
 * as AWS does, and every request in flight fails at once; an idempotent one is resent on the next
 * connection and answered there.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectNodeSocket } from '../../client/node/reconnecting-socket';
import { Connection } from '../../client/session/connection';
import { systemClock, type SocketEvent } from '../../client/session/ports';
import { signupUser, type TestUser } from '../../tools/accounts';
import { startTestStack } from '../../tools/local-stack';

let stack: Awaited<ReturnType<typeof startTestStack>>;
let alice: TestUser;

beforeAll(async () => {
  stack = await startTestStack();
  alice = await signupUser(stack.endpoints.websocket, 'alice');
  alice.client.close();
}, 60_000);
afterAll(() => stack?.stop());

function session() {
  const socket = connectNodeSocket(stack.endpoints.websocket);
  const events: SocketEvent[] = [];
  socket.subscribe((event) => events.push(event));
  const connection = new Connection({
    socket,
    clock: systemClock,
    authenticate: (rpc) => rpc.request('resume', { token: alice.token, deviceId: alice.deviceId }),
    onAuthenticated: () => undefined,
    onPush: () => undefined,
  });
  connection.start();
  return { socket, connection, closes: () => events.filter((e) => e.type === 'closed') };
}

describe('frames over 32 KB', () => {
  it('are refused by the session before sending, with TOO_LARGE, on a connection that stays up', async () => {
    const { connection, closes } = session();
    await connection.whenOnline();
    const refused = await connection
      .call('send', { to: 'alice', messageId: 'big-00001', envelope: 'A'.repeat(40_000) })
      .catch((error: unknown) => error);
    expect(refused).toMatchObject({
      code: 'TOO_LARGE',
      message: expect.stringMatching(/was not sent: it needs \d+ bytes, more than the 32768/),
    });
    await expect(connection.call('ping', {})).resolves.toMatchObject({ type: 'ok' });
    expect(closes()).toEqual([]);
    connection.stop();
  });

  it('close the connection with 1009 at the gateway; requests in flight fail at once, retried ones are resent', async () => {
    const { socket, connection, closes } = session();
    await connection.whenOnline();
    const plain = connection.call('list', {}).catch((error: unknown) => error);
    const retried = connection.call('list', {}, { retry: true });
    // Around the session's check, as a buggy client would.
    socket.send(JSON.stringify({ action: 'ping', id: 'x', pad: 'A'.repeat(40_000) }));
    expect(await plain).toMatchObject({
      code: 'OFFLINE',
      message: expect.stringMatching(/closed \(1009 Message too big, a frame was too big\)/),
    });
    expect(closes()[0]).toMatchObject({ code: 1009, reason: 'Message too big' });
    // The idempotent one went again on the next connection and got its answer there.
    await expect(retried).resolves.toMatchObject({ type: 'ok', groups: expect.any(Array) });
    connection.stop();
  });
});
