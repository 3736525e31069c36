/** Test users over the real protocol: the server treats auth keys and envelopes as opaque bytes. */
import { randomBytes, randomUUID } from 'node:crypto';
import { GetItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import { localTableName } from '../infra/local/names';
import { makeDynamoClient } from '../lambdas/runtime/aws';
import type { WirePage } from './wire-events';
import { TestClient } from './ws-client';

export interface TestUser {
  readonly username: string;
  readonly authKey: string;
  readonly deviceId: string;
  client: TestClient;
  token?: string;
  /** The device credential the last signup or signin answered. */
  deviceCredential?: string;
  /** The page the sign-up or sign-in answered. */
  page?: WirePage;
}

export const newAuthKey = (): string => randomBytes(32).toString('base64');
export const newDeviceId = (): string => `dev-${randomUUID()}`;
/** Stand-in ciphertext: opaque random bytes as base64. */
export const fakeEnvelope = (bytes = 200): string => randomBytes(bytes).toString('base64');
/** Sign-ups and sign-ins run scrypt: on a busy 2-core machine many at once take seconds. */
const SIGN_IN_WAIT_MS = 20_000;

export async function signupUser(url: string, username: string): Promise<TestUser> {
  const client = await TestClient.connect(url);
  const user: TestUser = { username, authKey: newAuthKey(), deviceId: newDeviceId(), client };
  const reply = await client.request(
    'signup',
    { username, authKey: user.authKey, deviceId: user.deviceId },
    SIGN_IN_WAIT_MS,
  );
  if (reply.type !== 'ok') throw new Error(`signup ${username} failed: ${JSON.stringify(reply)}`);
  user.token = reply.token as string;
  user.deviceCredential = reply.deviceCredential as string;
  user.page = reply.page as WirePage;
  return user;
}

/** The same account on another device (its own cursor). */
export async function signinDevice(
  url: string,
  user: Pick<TestUser, 'username' | 'authKey'>,
  deviceId = newDeviceId(),
): Promise<TestUser> {
  const client = await TestClient.connect(url);
  const reply = await client.request(
    'signin',
    { username: user.username, authKey: user.authKey, deviceId },
    SIGN_IN_WAIT_MS,
  );
  if (reply.type !== 'ok')
    throw new Error(`signin ${user.username} failed: ${JSON.stringify(reply)}`);
  return {
    ...user,
    deviceId,
    client,
    token: reply.token as string,
    deviceCredential: reply.deviceCredential as string,
    page: reply.page as WirePage,
  };
}

/** Resumes the user's session on a new connection; answers the client and the first page. */
export async function resumeUser(
  url: string,
  user: Pick<TestUser, 'token' | 'deviceId'>,
): Promise<{ client: TestClient; page: WirePage }> {
  const client = await TestClient.connect(url);
  const reply = await client.request('resume', { token: user.token, deviceId: user.deviceId });
  if (reply.type !== 'ok') throw new Error(`resume failed: ${JSON.stringify(reply)}`);
  return { client, page: reply.page as WirePage };
}

/**
 * Closes the user's connection and waits until the server has forgotten it ($disconnect ran):
 * no connection row for the user, and none listed in its mailbox.
 */
export async function goOffline(dynamodbEndpoint: string, user: TestUser): Promise<void> {
  user.client.close();
  await user.client.closed;
  const db = makeDynamoClient(dynamodbEndpoint);
  for (const started = Date.now(); Date.now() - started < 5000;) {
    const [{ Count }, { Item }] = await Promise.all([
      db.send(
        new QueryCommand({
          TableName: localTableName('connections'),
          IndexName: 'byUser',
          KeyConditionExpression: 'userId = :u',
          ExpressionAttributeValues: { ':u': { S: user.username } },
          Select: 'COUNT',
        }),
      ),
      db.send(
        new GetItemCommand({
          TableName: localTableName('mailboxes'),
          Key: { userId: { S: user.username } },
          ConsistentRead: true,
        }),
      ),
    ]);
    const listed = Object.keys(Item ?? {}).some((name) => name.startsWith('c#'));
    if (Count === 0 && !listed) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`${user.username} is still connected 5 s after closing`);
}
