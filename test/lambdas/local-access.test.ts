/**
 * The local stack holds each handler to its route table grants as AWS does: only the variables of
 * its tables and bucket, and only the SDK calls its IAM statements allow (infra/local/access-guard.ts).
 * The calls go to an endpoint nothing listens on: a refused call fails before it is sent.
 */
import {
  DeleteItemCommand,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import {
  DeleteConnectionCommand,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { beforeAll, describe, expect, it } from 'vitest';
import { LocalAccessDenied, localFunctionAccess } from '../../infra/local/access-guard';
import { LOCAL_CREDENTIALS, localLambdaEnvironment } from '../../infra/local/aws-clients';
import { LOCAL_BUCKET_NAME, localTableName } from '../../infra/local/names';
import { BACKGROUND_FUNCTIONS, ROUTE_TABLE, type RouteSpec } from '../../lambdas/route-table';
import { grantedEnvironmentNames } from '../../lambdas/route-grants';
import { TABLES } from '../../lambdas/tables';
import { lazyClients } from '../../lambdas/runtime/aws';
import { delayQueue, useInProcessDelayQueue } from '../../lambdas/runtime/delay-queue';
import { serverDeps } from '../../lambdas/runtime/deps';
import { localAccessOf, tableName, withLocalAccess } from '../../lambdas/runtime/env';
import { managementClient } from '../../lambdas/runtime/management-api';

const NOWHERE = 'http://127.0.0.1:9';
const lambdaContext = { functionName: 'cipherline-test', awsRequestId: 'r1' };

const accessOf = (name: string, spec: RouteSpec) =>
  localFunctionAccess(name, spec, grantedEnvironmentNames(spec));

/** The error a call gets: the guard's refusal, or (allowed) the network error of the dead endpoint. */
async function outcome(call: () => Promise<unknown>): Promise<string> {
  try {
    await call();
    return 'sent';
  } catch (error) {
    return error instanceof LocalAccessDenied ? `denied: ${error.message}` : 'allowed';
  }
}

beforeAll(() => {
  Object.assign(
    process.env,
    localLambdaEnvironment({ dynamodb: NOWHERE, s3: NOWHERE, managementApi: NOWHERE }),
    { AWS_REGION: 'us-east-1', AWS_MAX_ATTEMPTS: '1' },
    {
      AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
    },
  );
});

describe('granted environment', () => {
  it('hides the variables of tables a route was not granted', () => {
    const send = grantedEnvironmentNames(ROUTE_TABLE.send);
    expect(tableName(TABLES.inbox, send)).toBe(localTableName('inbox'));
    const ping = grantedEnvironmentNames(ROUTE_TABLE.ping);
    expect(() => tableName(TABLES.users, ping)).toThrow('Missing environment variable TABLE_USERS');
    expect(tableName(TABLES.users)).toBe(localTableName('users')); // no grants given: the process environment
  });

  it("marks an invocation's context without changing what the handler reads from it", () => {
    const access = accessOf('ping', ROUTE_TABLE.ping);
    const marked = withLocalAccess(lambdaContext, access);
    expect(marked.functionName).toBe('cipherline-test');
    expect(localAccessOf(marked)).toBe(access);
    expect(localAccessOf(lambdaContext)).toBeUndefined();
  });

  it('gives each function stores that resolve only its own tables, made once', () => {
    const ping = withLocalAccess(lambdaContext, accessOf('ping', ROUTE_TABLE.ping));
    const signup = withLocalAccess(lambdaContext, accessOf('signup', ROUTE_TABLE.signup));
    expect(() => serverDeps(ping).users).toThrow('TABLE_USERS');
    expect(serverDeps(signup).users).toBeDefined();
    expect(serverDeps(ping).connections).toBe(serverDeps(ping).connections);
    expect(serverDeps().users).toBeDefined(); // in AWS: the process environment
  });
});

describe('access guard', () => {
  it('allows the DynamoDB actions a route declares and refuses the others, as IAM does', async () => {
    const ping = lazyClients((client) => accessOf('ping', ROUTE_TABLE.ping).guard(client));
    const key = { connectionId: { S: 'c1=' } };
    const table = localTableName('connections');
    expect(
      await outcome(() =>
        ping.dynamoLowLevel.send(new GetItemCommand({ TableName: table, Key: key })),
      ),
    ).toBe('allowed');
    const put = await outcome(() =>
      ping.dynamoLowLevel.send(new PutItemCommand({ TableName: table, Item: key })),
    );
    expect(put).toContain(
      'denied: User: local/ping is not authorized to perform: dynamodb:PutItem on resource: table/connections',
    );
    const otherTable = await outcome(() =>
      ping.dynamo.send(
        new GetCommand({ TableName: localTableName('users'), Key: { userId: 'a' } }),
      ),
    );
    expect(otherTable).toContain('dynamodb:GetItem on resource: table/users');
  });

  it('tells a query of the table from a query of its index', async () => {
    // No route queries an index any more (deliveries read mailboxes): a function that may.
    const repair = {
      ...ROUTE_TABLE.send,
      tables: { connections: { items: [], indexes: { byUser: ['Query'] } } },
    } as const;
    const send = lazyClients((client) => accessOf('repair', repair).guard(client));
    const query = (IndexName?: string) =>
      outcome(() =>
        send.dynamoLowLevel.send(
          new QueryCommand({
            TableName: localTableName('connections'),
            IndexName,
            KeyConditionExpression: 'userId = :u',
            ExpressionAttributeValues: { ':u': { S: 'alice' } },
          }),
        ),
      );
    expect(await query('byUser')).toBe('allowed');
    expect(await query()).toContain('dynamodb:Query on resource: table/connections');
  });

  it('keeps S3 to the blobs/ prefix and the declared object actions, presigned URLs included', async () => {
    const download = lazyClients((c) => accessOf('download', ROUTE_TABLE.download).guard(c));
    const upload = lazyClients((c) => accessOf('upload', ROUTE_TABLE.upload).guard(c));
    const object = (Key: string) => ({ Bucket: LOCAL_BUCKET_NAME, Key });
    expect(
      await outcome(() => getSignedUrl(download.s3, new GetObjectCommand(object('blobs/x')))),
    ).toBe('sent');
    expect(
      await outcome(() => getSignedUrl(download.s3, new PutObjectCommand(object('blobs/x')))),
    ).toContain('s3:PutObject on resource: bucket/blobs/*');
    expect(
      await outcome(() => getSignedUrl(download.s3, new GetObjectCommand(object('other/x')))),
    ).toContain('s3:GetObject on resource: bucket/other/x');
    // HEAD needs s3:ListBucket too, or S3 answers 403 for a missing key: download may not, upload may.
    expect(
      await outcome(() => download.s3.send(new HeadObjectCommand(object('blobs/x')))),
    ).toContain('s3:ListBucket on resource: bucket');
    expect(await outcome(() => upload.s3.send(new HeadObjectCommand(object('blobs/x'))))).toBe(
      'allowed',
    );
  });

  it('grants @connections per method: pushing routes POST, the reaper DELETE', async () => {
    const send = accessOf('send', ROUTE_TABLE.send);
    const reaper = accessOf('reapUnbound', BACKGROUND_FUNCTIONS.reapUnbound);
    const keys = accessOf('keys', ROUTE_TABLE.keys);
    const post = new PostToConnectionCommand({ ConnectionId: 'c1=', Data: new Uint8Array(1) });
    const del = new DeleteConnectionCommand({ ConnectionId: 'c1=' });
    expect(await outcome(() => managementClient(NOWHERE, send).send(post))).toBe('allowed');
    expect(await outcome(() => managementClient(NOWHERE, keys).send(post))).toContain(
      'execute-api:ManageConnections on resource: @connections/POST',
    );
    expect(await outcome(() => managementClient(NOWHERE, send).send(del))).toContain(
      '@connections/DELETE',
    );
    expect(await outcome(() => managementClient(NOWHERE, reaper).send(del))).toBe('allowed');
  });

  it('lets every pushing route forget a connection its push found gone (410), as the push policy does', async () => {
    const pushing = Object.entries(ROUTE_TABLE).filter(([, spec]) => spec.pushes);
    expect(pushing.map(([name]) => name)).toContain('ping');
    for (const [name, spec] of pushing) {
      const clients = lazyClients((client) => accessOf(name, spec).guard(client));
      const mailbox = new UpdateItemCommand({
        TableName: localTableName('mailboxes'),
        Key: { userId: { S: 'u' } },
        UpdateExpression: 'REMOVE connections.#c',
        ExpressionAttributeNames: { '#c': 'c1=' },
      });
      const connection = new DeleteItemCommand({
        TableName: localTableName('connections'),
        Key: { connectionId: { S: 'c1=' } },
      });
      expect(await outcome(() => clients.dynamoLowLevel.send(mailbox)), name).toBe('allowed');
      expect(await outcome(() => clients.dynamoLowLevel.send(connection)), name).toBe('allowed');
    }
  });

  it('lets only $connect schedule unbound checks on the in-process queue', () => {
    useInProcessDelayQueue({ schedule: async () => undefined });
    try {
      expect(() => delayQueue(accessOf('$connect', ROUTE_TABLE.$connect))).not.toThrow();
      expect(() => delayQueue(accessOf('ping', ROUTE_TABLE.ping))).toThrow(
        'sqs:SendMessage on resource: unbound-queue',
      );
    } finally {
      useInProcessDelayQueue(undefined);
    }
  });

  it('refuses an SDK operation it cannot map to IAM actions, so a new kind of call gets mapped first', async () => {
    const upload = lazyClients((c) => accessOf('upload', ROUTE_TABLE.upload).guard(c));
    const { ListBucketsCommand } = await import('@aws-sdk/client-s3');
    expect(await outcome(() => upload.s3.send(new ListBucketsCommand({})))).toContain(
      'does not know which IAM actions S3Client ListBuckets needs',
    );
  });

  it('answers with the error name AWS gives a denied call, so handlers treat it as AWS would', async () => {
    const ping = lazyClients((client) => accessOf('ping', ROUTE_TABLE.ping).guard(client));
    const error = await ping.dynamoLowLevel
      .send(new PutItemCommand({ TableName: localTableName('connections'), Item: {} }))
      .catch((e: unknown) => e as LocalAccessDenied);
    expect(error).toMatchObject({
      name: 'AccessDeniedException',
      $metadata: { httpStatusCode: 400 },
    });
  });
});
