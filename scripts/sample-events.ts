/**
 * The sample events in events/: one API Gateway-shaped event per route (and an SQS event for the
 * background reaper), made with the local gateway's own event builders and fixed values, so the
 * files are stable. `npm run events` rewrites them; test/local/sample-events.test.ts checks they
 * are up to date and runs every handler on its event against the local cloud. The frames form
 * one story: sample-alice signs up, talks to sample-bob and to the group sample-group.
 */
import { writeFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  connectEvent,
  disconnectEvent,
  messageEvent,
  type ConnectionInfo,
  type EventSite,
} from '../infra/local/gateway-events';
import { LOCAL_BASE_ENVIRONMENT, localLambdaEnvironment } from '../infra/local/aws-clients';
import { DEFAULT_PORTS } from '../infra/local/stack';
import { ALL_FUNCTION_SPECS } from '../lambdas/route-table';
import type { CommandRoute } from '../protocol/routes';

export const EVENTS_DIR = join(import.meta.dirname, '..', 'events');

/** Where the local gateway listens by default (`npm start`). */
export const SAMPLE_SITE: EventSite = {
  apiId: 'local',
  stage: 'local',
  domainName: '127.0.0.1:3001',
};
export const SAMPLE_MANAGEMENT_ENDPOINT = 'http://127.0.0.1:3001/local';

const b64 = (text: string) => Buffer.from(text).toString('base64');

export const SAMPLE = {
  /** base64 of "sample-conn": connection ids look like that. */
  connectionId: b64('sample-conn'),
  /** A connection that never signs in, for the reaper. */
  unboundConnectionId: b64('sample-idle'),
  user: 'sample-alice',
  other: 'sample-bob',
  deviceId: 'sample-device-1',
  /** A sample value of the right length (32 bytes), not anyone's key. */
  authKey: Buffer.alloc(32, 7).toString('base64'),
  /** The session token resume presents; the test stores a session for it first. */
  token: Buffer.alloc(32, 9).toString('base64url'),
  groupId: 'sample-group',
  /** A completed blob of sample-alice's; the test records it first. */
  blobId: 'c2FtcGxlLWJsb2ItMDAwMQ',
  envelope: b64('sample ciphertext, opaque to the server'),
  time: Date.UTC(2026, 0, 1, 12, 0, 0),
  /**
   * sample-alice's signing key and what it signed at `time` (Ed25519 is deterministic: the key
   * is made from the seed bytes 1..32, a sample, not anyone's key): the public keys the test
   * publishes for her, epoch 1 of sample-group, her join request and leave, and her admin's
   * removal and addition of sample-bob. Artefacts older than a few minutes are refused, so
   * `sam local invoke` of join/leave/remove/add shows the refusal unless re-signed.
   */
  identitySign: 'ebVWLo/mVPlAeLES6KmLp5AfhTrmlb7X4OORC60ElmQ=',
  identityDh: 'BQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQU=',
  statement:
    'AgAAANkAAAAdY2lwaGVybGluZS92Mi9ncm91cC1zdGF0ZW1lbnQAAAAMc2FtcGxlLWdyb3VwAAAABAAAAAEAAAAGY3JlYXRlAAAADHNhbXBsZS1hbGljZQAAACAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAgAAAGbeW3WAAAAAAEAAAAAIQAAAB0BzanYHKQX3xGOIrBpmoC/EnNhbXBsZS1hbGljZQAAACAJe4II0f0YLtwxt9tHLwzUiNXXhSjGv2HX25fFPeq+CgAAAAAAAAAAAAAAQEGzuMNB6q/MC2w23l6VzM5Q66t0A91V/jY0gWBmUysY46hO189baUnIhJCD+p9jwbYxKfN4tWw5Ux4lQmErawU=',
  joinRequest:
    'AQAAAAxzYW1wbGUtZ3JvdXAAAAAMc2FtcGxlLWFsaWNlAAAAIAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAACAAAAZt5bdYAAAAAQMCoFvQ51NSHG9KxdD3Ih++4CA5xDX9SvIc4ZrQUJsuIt1dP2yCmCH+lY5IMyWNep8EqIIv/id8sNIzodjdsDQ8=',
  leave:
    'AgAAAAxzYW1wbGUtZ3JvdXAAAAAMc2FtcGxlLWFsaWNlAAAACAAAAZt5bdYAAAAAQI/kMFW3Dxq01wpvKc6Q9fBDKhDhmC/IsQqI7jj8ORpvdVknQhhVVj6W/FXFlqgY9rUYeFjilxpFxfq0ot9PNgg=',
  removal:
    'AwAAAAxzYW1wbGUtZ3JvdXAAAAAMc2FtcGxlLWFsaWNlAAAACnNhbXBsZS1ib2IAAAAIAAABm3lt1gAAAABAYYk4SQGgjrGVq9d2uvVHh33327BNFhkzblBEBycRJ5LBUuj7Yeo/11E329yI6A2QiodRowIkq3gMLIROlNZADw==',
  addition:
    'BAAAAAxzYW1wbGUtZ3JvdXAAAAAMc2FtcGxlLWFsaWNlAAAACnNhbXBsZS1ib2IAAAAIAAABm3lt1gAAAABA4Hni1Ue95QGvR/9co0G5hx7/c3F2y43edjvNszyq1V6IXg4/VK2wFMWYqZojMk+rpimcY5etN0XyMbvzJUQBAA==',
} as const;

const connection = (connectionId: string): ConnectionInfo => ({
  connectionId,
  connectedAt: SAMPLE.time,
  sourceIp: '127.0.0.1',
  userAgent: 'cipherline-sample',
});

/** Fixed ids and times instead of the gateway's random and current ones. */
function fixed<E extends { requestContext: object }>(event: E, n: number): E {
  const requestId = `sample-request-${String(n).padStart(2, '0')}`;
  const context = event.requestContext as Record<string, unknown>;
  return {
    ...event,
    requestContext: {
      ...context,
      requestId,
      extendedRequestId: requestId,
      requestTime: '01/Jan/2026:12:00:00 +0000',
      requestTimeEpoch: SAMPLE.time,
      ...('messageId' in context && { messageId: `sample-frame-${String(n).padStart(2, '0')}` }),
    },
  };
}

/** The frame each command route's sample event carries. */
export const SAMPLE_FRAMES: Record<CommandRoute, Record<string, unknown>> = {
  ping: { echo: 'sample' },
  signup: { username: SAMPLE.user, authKey: SAMPLE.authKey, deviceId: SAMPLE.deviceId },
  signin: { username: SAMPLE.user, authKey: SAMPLE.authKey, deviceId: SAMPLE.deviceId },
  resume: { token: SAMPLE.token, deviceId: SAMPLE.deviceId },
  signout: {},
  devices: { op: 'list' },
  // The same key again: what a client sends when it retries a password change whose reply it lost.
  password: { authKey: SAMPLE.authKey, newAuthKey: SAMPLE.authKey },
  block: { op: 'add', userId: SAMPLE.other },
  keys: { op: 'put-backup', backup: SAMPLE.envelope, version: 1, replaces: 0 },
  send: { to: SAMPLE.other, messageId: 'sample-message-1', envelope: SAMPLE.envelope },
  ack: { through: { inbox: 1 } },
  create: { groupId: SAMPLE.groupId },
  join: { groupId: SAMPLE.groupId, request: SAMPLE.joinRequest },
  leave: { groupId: SAMPLE.groupId, request: SAMPLE.leave },
  remove: { groupId: SAMPLE.groupId, userId: SAMPLE.other, request: SAMPLE.removal },
  add: { groupId: SAMPLE.groupId, userId: SAMPLE.other, request: SAMPLE.addition },
  list: { mine: true },
  members: { groupId: SAMPLE.groupId },
  sharekey: {
    op: 'store',
    groupId: SAMPLE.groupId,
    epoch: 1,
    statement: SAMPLE.statement,
    keyShares: [{ to: SAMPLE.user, messageId: 'sample-keyshare-1', envelope: SAMPLE.envelope }],
  },
  sendgroup: {
    groupId: SAMPLE.groupId,
    epoch: 1,
    messageId: 'sample-group-message-1',
    envelope: SAMPLE.envelope,
  },
  upload: { op: 'start', size: 1000 },
  download: { blobId: SAMPLE.blobId },
  sendfile: {
    to: SAMPLE.other,
    messageId: 'sample-file-message-1',
    blobId: SAMPLE.blobId,
    envelope: SAMPLE.envelope,
  },
  sendgroupfile: {
    groupId: SAMPLE.groupId,
    epoch: 1,
    messageId: 'sample-group-file-1',
    blobId: SAMPLE.blobId,
    envelope: SAMPLE.envelope,
  },
};

/** The events file of a function: named after its handler file (events/connect.json for $connect). */
export const sampleEventFile = (entry: string): string => `${basename(entry, '.ts')}.json`;

/** Every sample event by file name. */
export function sampleEvents(): Record<string, object> {
  const site = SAMPLE_SITE;
  const bound = connection(SAMPLE.connectionId);
  const events: Record<string, object> = {};
  let n = 0;
  for (const [name, spec] of ALL_FUNCTION_SPECS) {
    n++;
    const file = sampleEventFile(spec.entry);
    if (name === '$connect') {
      const request = {
        headers: {
          host: site.domainName,
          'sec-websocket-key': 'c2FtcGxlLXdzLWtleQ==',
          'sec-websocket-version': '13',
          'user-agent': 'cipherline-sample',
        },
      } as unknown as IncomingMessage;
      events[file] = fixed(connectEvent(site, bound, request, new URL('ws://x/')), n);
    } else if (name === '$disconnect') {
      events[file] = fixed(disconnectEvent(site, bound, 1000, 'Client closed'), n);
    } else if (name === '$default') {
      const body = JSON.stringify({ action: 'no-such-command', id: 'sample-default' });
      events[file] = fixed(messageEvent(site, bound, '$default', body), n);
    } else if (name === 'reapUnbound') {
      events[file] = reapEvent();
    } else {
      const route = name as CommandRoute;
      const body = JSON.stringify({
        action: route,
        id: `sample-${route}`,
        ...SAMPLE_FRAMES[route],
      });
      events[file] = fixed(messageEvent(site, bound, route, body), n);
    }
  }
  return events;
}

/** What the delay queue hands the reaper: one check of a connection that never signed in. */
function reapEvent(): object {
  return {
    Records: [
      {
        messageId: 'sample-sqs-message-1',
        receiptHandle: 'sample-receipt-handle',
        body: JSON.stringify({
          connectionId: SAMPLE.unboundConnectionId,
          managementEndpoint: SAMPLE_MANAGEMENT_ENDPOINT,
        }),
        attributes: {
          ApproximateReceiveCount: '1',
          SentTimestamp: String(SAMPLE.time),
          SenderId: 'AROAEXAMPLE',
          ApproximateFirstReceiveTimestamp: String(SAMPLE.time + 10_000),
        },
        messageAttributes: {},
        md5OfBody: '',
        eventSource: 'aws:sqs',
        eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:UnboundConnectionQueue',
        awsRegion: 'us-east-1',
      },
    ],
  };
}

/** `sam local invoke --env-vars`: every function's variables pointed at `npm start`'s local cloud. */
export const SAM_ENV_FILE = 'sam-env.json';

export function samEnvironment(): { Parameters: Record<string, string> } {
  const host = 'http://127.0.0.1';
  const environment = localLambdaEnvironment({
    dynamodb: `${host}:${DEFAULT_PORTS.dynamo}`,
    s3: `${host}:${DEFAULT_PORTS.s3}`,
    managementApi: `${host}:${DEFAULT_PORTS.gateway}/${SAMPLE_SITE.stage}`,
  });
  // SAM only sets variables the template declares; credentials and region come from sam's own environment.
  for (const name of Object.keys(LOCAL_BASE_ENVIRONMENT)) delete environment[name];
  return { Parameters: { ...environment, LOG_LEVEL: 'debug' } };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  // Prettier (npm run format) may then lay the files out its way; the test compares parsed JSON.
  for (const [file, event] of Object.entries(sampleEvents()))
    writeFileSync(join(EVENTS_DIR, file), `${JSON.stringify(event, null, 2)}\n`);
  writeFileSync(join(EVENTS_DIR, SAM_ENV_FILE), `${JSON.stringify(samEnvironment(), null, 2)}\n`);
  console.log(`Wrote ${Object.keys(sampleEvents()).length} sample events to events/.`);
}
