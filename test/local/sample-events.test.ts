/**
 * events/: one sample event per function, up to date with scripts/sample-events.ts, and each one
 * runs its handler against the local cloud (with the grants the route table gives it), as `sam
 * local invoke -e events/<route>.json` would. They tell one story, so they run in its order; the
 * few facts a static event cannot create (a session token, a second user, an uploaded blob) are
 * recorded first through the stores.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lambdaContext } from '../../infra/local/gateway-events';
import { importGrantedHandler, loadRouteHandlers, type LocalStack } from '../../infra/local/stack';
import { BACKGROUND_FUNCTIONS, ROUTE_TABLE } from '../../lambdas/route-table';
import { hashToken } from '../../lambdas/shared/sessions';
import { serverDeps } from '../../lambdas/runtime/deps';
import type { LambdaHandler } from '../../infra/local/gateway';
import {
  EVENTS_DIR,
  SAMPLE,
  SAM_ENV_FILE,
  sampleEventFile,
  sampleEvents,
  samEnvironment,
} from '../../scripts/sample-events';
import { startTestStack } from '../../tools/local-stack';

const readEvent = (file: string) =>
  JSON.parse(readFileSync(join(EVENTS_DIR, file), 'utf8')) as Record<string, unknown> & {
    requestContext?: { routeKey: string };
  };

type Reply = { type: string; replyTo?: string; code?: string } & Record<string, unknown>;

let stack: LocalStack;
let handlers: Map<string, LambdaHandler>;
beforeAll(async () => {
  stack = await startTestStack({ serverLimits: { unboundGraceMs: 60_000 } });
  handlers = await loadRouteHandlers(stack.serverSettings);
});
afterAll(async () => {
  await stack?.stop();
});

async function invoke(file: string): Promise<{ statusCode?: number; reply?: Reply }> {
  const event = readEvent(file);
  const route = event.requestContext!.routeKey;
  const result = (await handlers.get(route)!(
    event as never,
    lambdaContext(`cipherline-${route}`),
  )) as { statusCode?: number; body?: string };
  return {
    statusCode: result.statusCode,
    ...(result.body && { reply: JSON.parse(result.body) as Reply }),
  };
}

/** Artefacts are refused when older than a few minutes: a static one shows the handler's refusal. */
async function expectStale(file: string): Promise<void> {
  const { statusCode, reply } = await invoke(file);
  expect(statusCode, file).toBe(200);
  expect(reply, file).toMatchObject({
    type: 'error',
    code: 'BAD_REQUEST',
    message: expect.stringContaining('STALE_ARTEFACT'),
  });
}

async function expectOk(file: string, fields: Record<string, unknown> = {}): Promise<void> {
  const { statusCode, reply } = await invoke(file);
  expect(statusCode, file).toBe(200);
  expect(reply, file).toMatchObject({ type: 'ok', ...fields });
}

describe('sample events', () => {
  it('exist for every function and match scripts/sample-events.ts (npm run events rewrites them)', () => {
    const expected = sampleEvents();
    const files = readdirSync(EVENTS_DIR).filter(
      (name) => name.endsWith('.json') && name !== SAM_ENV_FILE,
    );
    expect(files.sort()).toEqual(Object.keys(expected).sort());
    for (const spec of [...Object.values(ROUTE_TABLE), ...Object.values(BACKGROUND_FUNCTIONS)])
      expect(files).toContain(sampleEventFile(spec.entry));
    for (const [file, event] of Object.entries(expected))
      expect(readEvent(file), file).toEqual(event);
  });

  it('come with the SAM environment file, every table, bucket and endpoint pointed at npm start', () => {
    expect(readEvent(SAM_ENV_FILE)).toEqual(samEnvironment());
    const { Parameters } = samEnvironment();
    expect(Parameters).toMatchObject({
      DYNAMODB_ENDPOINT: 'http://127.0.0.1:4567',
      S3_ENDPOINT: 'http://127.0.0.1:4568',
      MANAGEMENT_API_ENDPOINT: 'http://127.0.0.1:3001/local',
      TABLE_USERS: 'cipherline-users',
      BLOB_BUCKET: 'cipherline-blobs',
    });
  });

  it('name their own route, and carry frames whose action is that route', () => {
    for (const [route, spec] of Object.entries(ROUTE_TABLE)) {
      const event = readEvent(sampleEventFile(spec.entry));
      expect(event.requestContext?.routeKey).toBe(route);
      if (!route.startsWith('$'))
        expect(JSON.parse(event.body as string)).toMatchObject({ action: route });
    }
  });

  it('run every handler against the local cloud, in the order of their story', async () => {
    const deps = serverDeps();
    expect(await invoke('connect.json')).toEqual({ statusCode: 200 });
    await expectOk('signup.json', { userId: SAMPLE.user, replyTo: 'sample-signup' });
    await expectOk('signin.json', { userId: SAMPLE.user });

    await deps.sessions.create({
      tokenHash: hashToken(SAMPLE.token),
      userId: SAMPLE.user,
      deviceId: SAMPLE.deviceId,
      issuedAt: Date.now(),
      expiresAt: Date.now() + 60_000,
    });
    await expectOk('resume.json', { userId: SAMPLE.user });
    await expectOk('devices.json', { devices: [{ deviceId: SAMPLE.deviceId, current: true }] });
    await expectOk('password.json', { changed: true, deviceCredential: expect.any(String) });
    await expectOk('keys.json', { stored: true });
    await expectOk('ping.json', { serverTime: expect.any(Number) });
    // The sample connection is not open at the gateway: the pong finds it gone (410) and the push
    // policy forgets it, as for any gone connection; resuming binds it again.
    expect(await deps.connections.get(SAMPLE.connectionId, Date.now())).toBeUndefined();
    await expectOk('resume.json', { userId: SAMPLE.user });

    await deps.users.create({ userId: SAMPLE.other, authSalt: 'x', authHash: 'x', createdAt: 1 });
    await expectOk('block.json', { blocked: [SAMPLE.other] });
    await expectOk('send.json', { messageId: 'sample-message-1', duplicate: false });
    await expectOk('ack.json', {
      cursors: { inbox: expect.any(Number) },
      page: expect.any(Object),
    });
    await expectOk('create.json', { groupId: SAMPLE.groupId, created: true });
    // A member already: joining again changes nothing and checks no request.
    await expectOk('join.json', { groupId: SAMPLE.groupId, joined: false });
    await deps.users.publishBundle(SAMPLE.user, {
      userId: SAMPLE.user,
      identityDh: SAMPLE.identityDh,
      identitySign: SAMPLE.identitySign,
      signedPrekey: {
        id: 1,
        publicKey: SAMPLE.identityDh,
        signature: Buffer.alloc(64, 1).toString('base64'),
        createdAt: SAMPLE.time,
      },
    });

    const joined = await deps.groups.addMember(SAMPLE.groupId, SAMPLE.other, 256);
    expect(joined).toMatchObject({ outcome: 'joined' });
    const joinSeq = joined.outcome === 'joined' ? joined.group.logSeq : 0;
    await deps.memberships.putMembership(SAMPLE.other, SAMPLE.groupId, joinSeq, Date.now());
    await expectOk('members.json', { memberCount: 2 });
    await expectOk('list.json', { groups: [{ groupId: SAMPLE.groupId, memberCount: 2 }] });
    await expectOk('sharekey.json', { epoch: 1, stored: 1, current: true });
    await expectOk('sendgroup.json', { epoch: 1, recipients: 1 });
    await expectStale('remove.json');
    // sample-bob is a member already: nothing to add, no request checked.
    await expectOk('add.json', { added: false, memberCount: 2 });
    await expectOk('upload.json', { size: 1000, multipart: false });

    const now = Date.now();
    await deps.blobs.create({
      blobId: SAMPLE.blobId,
      owner: SAMPLE.user,
      size: 4,
      partSize: 4,
      partCount: 1,
      state: 'completed',
      createdAt: now,
      completedAt: now,
      expiresAt: now + 60_000,
    });
    await expectOk('download.json', { blobId: SAMPLE.blobId, url: expect.any(String) });
    await expectOk('sendfile.json', { blobId: SAMPLE.blobId });
    await expectOk('sendgroupfile.json', { blobId: SAMPLE.blobId, recipients: 1 });
    await expectStale('leave.json');

    await expectOk('signout.json', { signedOut: true });

    const unknown = await invoke('default.json');
    expect(unknown.reply).toMatchObject({ type: 'error', code: 'BAD_REQUEST' });
    expect(await invoke('disconnect.json')).toEqual({ statusCode: 200 });
    expect(await deps.connections.get(SAMPLE.connectionId, Date.now())).toBeUndefined();
  });

  it('run the reaper on its SQS event (pointed at this stack’s gateway)', async () => {
    const event = readEvent('reap-unbound.json') as { Records: { body: string }[] };
    const check = JSON.parse(event.Records[0]!.body) as { managementEndpoint: string };
    check.managementEndpoint = stack.endpoints.managementApi;
    event.Records[0]!.body = JSON.stringify(check);
    const reap = await importGrantedHandler<typeof event, { batchItemFailures: unknown[] }>(
      'reapUnbound',
      BACKGROUND_FUNCTIONS.reapUnbound,
      stack.serverSettings,
    );
    // Nothing for SQS to retry: the check ran (partial batch failures would name the record).
    await expect(reap(event, lambdaContext('cipherline-reap-unbound') as Context)).resolves.toEqual(
      { batchItemFailures: [] },
    );
  });
});
