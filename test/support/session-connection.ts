/** A signed-up account's Connection on the real Node socket, for tests of session parts below the client. */
import { randomBytes, randomUUID } from 'node:crypto';
import { nodeSocket } from '../../client/node/reconnecting-socket';
import type { ReconnectingSocket } from '../../client/session/reconnecting-socket';
import { Connection } from '../../client/session/connection';
import { systemClock } from '../../client/session/ports';

export interface TestConnection {
  readonly connection: Connection;
  readonly username: string;
  readonly socket: ReconnectingSocket;
}

export async function signedUpConnection(url: string, username: string): Promise<TestConnection> {
  const socket = nodeSocket({ url });
  const authKey = randomBytes(32).toString('base64');
  const deviceId = `dev-${randomUUID()}`;
  let token: string | undefined;
  const connection = new Connection({
    socket,
    clock: systemClock,
    authenticate: async (rpc) => {
      const reply = token
        ? await rpc.request('resume', { token, deviceId })
        : await rpc.request('signup', { username, authKey, deviceId });
      token = reply.token as string;
      return reply;
    },
    onAuthenticated: () => undefined,
    onPush: () => undefined,
  });
  connection.start();
  await connection.whenOnline(30_000);
  return { connection, username, socket };
}
