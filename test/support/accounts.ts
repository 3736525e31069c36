/** Test users over the real protocol: the server treats auth keys and envelopes as opaque bytes. */
import { randomBytes, randomUUID } from 'node:crypto';
import { TestClient } from './ws-client';

export interface TestUser {
  readonly username: string;
  readonly authKey: string;
  readonly deviceId: string;
  client: TestClient;
  token?: string;
}

export const newAuthKey = (): string => randomBytes(32).toString('base64');
export const newDeviceId = (): string => `dev-${randomUUID()}`;
/** Stand-in ciphertext: opaque random bytes as base64. */
export const fakeEnvelope = (bytes = 200): string => randomBytes(bytes).toString('base64');

export async function signupUser(url: string, username: string): Promise<TestUser> {
  const client = await TestClient.connect(url);
  const user: TestUser = { username, authKey: newAuthKey(), deviceId: newDeviceId(), client };
  const reply = await client.request('signup', {
    username,
    authKey: user.authKey,
    deviceId: user.deviceId,
  });
  if (reply.type !== 'ok') throw new Error(`signup ${username} failed: ${JSON.stringify(reply)}`);
  user.token = reply.token as string;
  return user;
}

/** The same account on another device (its own cursor). */
export async function signinDevice(
  url: string,
  user: Pick<TestUser, 'username' | 'authKey'>,
  deviceId = newDeviceId(),
): Promise<TestUser> {
  const client = await TestClient.connect(url);
  const reply = await client.request('signin', {
    username: user.username,
    authKey: user.authKey,
    deviceId,
  });
  if (reply.type !== 'ok')
    throw new Error(`signin ${user.username} failed: ${JSON.stringify(reply)}`);
  return { ...user, deviceId, client, token: reply.token as string };
}
