/**
 * One failure policy (issue 12 point 5): `ack` never answers INTERNAL once its cursor moved, and
 * the queue-fed reaper validates its records and reports only the failed ones for a retry.
 */
import { randomUUID } from 'node:crypto';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../infra/local/stack';
import { handler as reapUnbound } from '../../lambdas/background/reap-unbound';
import { ack } from '../../lambdas/commands/ack';
import { send } from '../../lambdas/commands/send';
import { startTestStack } from '../../tools/local-stack';
import { asUser, depsWith, quickUsers } from '../support/deps';

let stack: LocalStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(() => stack.stop());

const ackFrame = (through: number) =>
  ({ action: 'ack', id: randomUUID(), through: { inbox: through } }) as const;

describe('ack after its cursor moved', () => {
  it('answers with its page when the delivery receipts fail, and the cursor stays moved', async () => {
    const [ann, ben] = await quickUsers([
      `ann-${randomUUID().slice(0, 8)}`,
      `ben-${randomUUID().slice(0, 8)}`,
    ]);
    const asAnn = asUser(stack.endpoints.managementApi, ann!.username);
    await send(
      asAnn.deps,
      {
        action: 'send',
        id: randomUUID(),
        to: ben!.username,
        messageId: randomUUID(),
        envelope: 'AAAA',
      },
      asAnn.context,
    );
    const asBen = asUser(stack.endpoints.managementApi, ben!.username);
    const first = await ack(asBen.deps, ackFrame(0), asBen.context);
    expect(first.page.events).toHaveLength(1);
    expect(first.page.through).toEqual({ inbox: 1 });
    // The receipt's store write fails after the cursor was saved.
    const failing = depsWith({
      ...asBen.deps,
      inbox: {
        ...asBen.deps.inbox,
        after: (...args) => asBen.deps.inbox.after(...args),
        appendAt: () => Promise.reject(new Error('the inbox is down')),
        markReceipted: () => Promise.reject(new Error('the inbox is down')),
        recordDropped: (...args) => asBen.deps.inbox.recordDropped(...args),
      },
    });
    const second = await ack(failing, ackFrame(1), asBen.context);
    expect(second).toMatchObject({ cursors: { inbox: 1 }, receipts: 0 });
    const stored = await asBen.deps.deviceCursors.get(ben!.username, `direct-${ben!.username}`);
    expect(stored.cursors).toEqual({ inbox: 1 });
  });
});

const record = (body: string): SQSRecord =>
  ({ messageId: randomUUID(), receiptHandle: randomUUID(), body }) as SQSRecord;

describe('the unbound-connection reaper', () => {
  it('drops a record that is no valid check and reports only the check that failed', async () => {
    const notJson = record('{not json');
    const wrongShape = record(JSON.stringify({ connectionId: 'c', managementEndpoint: 'ftp://x' }));
    // A valid check whose @connections endpoint refuses: closing fails, SQS should retry it.
    const unreachable = record(
      JSON.stringify({
        connectionId: `gone-${randomUUID()}`,
        managementEndpoint: 'http://127.0.0.1:1/local',
      }),
    );
    const event: SQSEvent = { Records: [notJson, wrongShape, unreachable] };
    const response = await reapUnbound(event);
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: unreachable.messageId }]);
  });
});
