/** Test users over the real protocol: the server treats auth keys and envelopes as opaque bytes. */
import { randomBytes, randomUUID } from 'node:crypto';
import { QueryCommand } from '@aws-sdk/client-dynamodb';
import { localTableName } from '../../infra/resources';
import { makeDynamoClient } from '../../lambdas/runtime/aws';
import { TestClient } from './ws-client';

export interface TestUser {
  readonly username: string;
  readonly authKey: string;
  readonly deviceId: string;
  client: TestClient;
  token?: string;
  /** The device credential the last signup or signin answered. */
  deviceCredential?: string;
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
  user.deviceCredential = reply.deviceCredential as string;
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
  return {
    ...user,
    deviceId,
    client,
    token: reply.token as string,
    deviceCredential: reply.deviceCredential as string,
  };
}

/** Closes the user's connection and waits until the server has forgotten it ($disconnect ran). */
export async function goOffline(dynamodbEndpoint: string, user: TestUser): Promise<void> {
  user.client.close();
  await user.client.closed;
  const db = makeDynamoClient(dynamodbEndpoint);
  for (const started = Date.now(); Date.now() - started < 5000;) {
    const { Count } = await db.send(
      new QueryCommand({
        TableName: localTableName('connections'),
        IndexName: 'byUser',
        KeyConditionExpression: 'userId = :u',
        ExpressionAttributeValues: { ':u': { S: user.username } },
        Select: 'COUNT',
      }),
    );
    if (Count === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`${user.username} still has a connection row 5 s after closing`);
}
