/**
 * Group membership through the session against the local stack (issue 13): an admin's REMOVE
 * (the removed member reads nothing after; the epoch moves on without them), a leave (the next
 * sender rotates first), an admin's ADD, and a send on a stale epoch: CONFLICT, catch up, the
 * same message id again on the new epoch, and the message arrives once.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClientEvent } from '../../client/session/events';
import { startTestStack, tempDataDir } from '../../tools/local-stack';
import { isMessage, openDevice, tappedConnector, type TestDevice } from '../support/session-client';

const PASSWORD = 'orange kettle drifts over seven hills';
let stack: Awaited<ReturnType<typeof startTestStack>>;
const work = tempDataDir();
const devices: TestDevice[] = [];
let folders = 0;

beforeAll(async () => {
  stack = await startTestStack();
}, 60_000);

afterAll(async () => {
  for (const d of devices) await d.close().catch(() => undefined);
  await stack?.stop();
  work.remove();
});

async function signedUp(
  username: string,
  options: Parameters<typeof openDevice>[2] = {},
): Promise<TestDevice> {
  const folder = join(work.dir, `device-${folders++}`);
  const d = await openDevice(stack.endpoints.websocket, folder, options);
  devices.push(d);
  await d.client.signup({ username, password: PASSWORD });
  return d;
}

const groupChanges = (d: TestDevice, groupId: string) =>
  d.events.filter(
    (event): event is Extract<ClientEvent, { type: 'group-change' }> =>
      event.type === 'group-change' && event.groupId === groupId,
  );
const count = (d: TestDevice, text: string) => d.events.filter(isMessage(text)).length;

describe('group membership through the session', () => {
  it('an admin REMOVE: the removed member reads nothing after; a leave: the next sender rotates', async () => {
    const ann = await signedUp('ann');
    const bob = await signedUp('bob');
    const cyd = await signedUp('cyd');
    const dee = await signedUp('dee');
    await ann.client.groups.create('club');
    for (const member of [bob, cyd, dee]) await member.client.groups.join('club');
    await ann.client.groups.sendText('club', 'before');
    for (const member of [bob, cyd, dee]) await member.next(isMessage('before'));

    // Only an admin may remove; ann made the group, so she is its admin.
    await expect(bob.client.groups.remove('club', 'cyd')).rejects.toMatchObject({
      code: 'FORBIDDEN',
    });
    const removed = await ann.client.groups.remove('club', 'cyd');
    expect(removed).toEqual({ groupId: 'club', userId: 'cyd', removed: true, memberCount: 3 });
    // The epoch that leaves cyd out is made at once: the others see it as a change by ann.
    const change = await bob.next(
      (event) => event.type === 'group-change' && event.removed.includes('cyd'),
    );
    expect(change).toMatchObject({ by: 'ann', removed: ['cyd'] });
    // A retry (the reply was lost) changes nothing.
    expect(await ann.client.groups.remove('club', 'cyd')).toMatchObject({
      removed: false,
      memberCount: 3,
    });

    await bob.client.groups.sendText('club', 'after cyd');
    await ann.next(isMessage('after cyd'));
    await dee.next(isMessage('after cyd'));
    // cyd catches up on a fresh connection and gets nothing of it, and may not write.
    await cyd.close();
    const cydAgain = await openDevice(stack.endpoints.websocket, cyd.folder);
    devices.push(cydAgain);
    await cydAgain.client.resume();
    await cydAgain.client.idle();
    expect(count(cydAgain, 'after cyd')).toBe(0);
    expect(cydAgain.events.some((event) => event.type === 'waiting-for-key')).toBe(false);
    await expect(cydAgain.client.groups.sendText('club', 'still here?')).rejects.toMatchObject({
      code: 'FORBIDDEN',
    });

    // dee leaves; bob, the next to send, makes an epoch without dee before his message. He sends
    // at once, maybe before the notice of the leave reaches him: the server refuses the old epoch
    // (CONFLICT), his client reads the roster, rotates and sends again.
    const epochBefore = Math.max(...groupChanges(bob, 'club').map((event) => event.epoch));
    await dee.client.groups.leave('club');
    await bob.client.groups.sendText('club', 'after dee');
    await ann.next(isMessage('after dee'));
    const rotation = groupChanges(ann, 'club').find((event) => event.left.includes('dee'));
    expect(rotation).toMatchObject({ by: 'bob', epoch: epochBefore + 1 });
    await dee.client.idle();
    expect(count(dee, 'after dee')).toBe(0);
  }, 180_000);

  it('an admin ADD: the added user reads from the epoch that adds them on', async () => {
    const eve = await signedUp('eve');
    const fay = await signedUp('fay');
    await eve.client.groups.create('guild');
    await eve.client.groups.sendText('guild', 'before fay');
    const added = await eve.client.groups.add('guild', 'fay');
    expect(added).toEqual({ groupId: 'guild', userId: 'fay', added: true, memberCount: 2 });
    expect(await eve.client.groups.add('guild', 'fay')).toMatchObject({ added: false });
    await eve.client.groups.sendText('guild', 'welcome fay');
    await fay.next(isMessage('welcome fay'));
    expect(count(fay, 'before fay')).toBe(0);
    expect((await fay.client.groups.members('guild')).map((m) => m.userId).sort()).toEqual([
      'eve',
      'fay',
    ]);
  }, 120_000);

  it('a send on a stale epoch: CONFLICT, catch up, the same message id again, arriving once', async () => {
    const gus = await signedUp('gus');
    const hal = tappedConnector();
    const halDevice = await signedUp('hal', { connect: hal.connect });
    const ivy = await signedUp('ivy');
    await gus.client.groups.create('band');
    await halDevice.client.groups.join('band');
    await ivy.client.groups.join('band');
    await gus.client.groups.sendText('band', 'warm up');
    await halDevice.next(isMessage('warm up'));
    // hal sends once (its view is checked against the roster), then acknowledges everything
    // pushed to it and is done with it: once every push is handled (idle), its ack is due within
    // the session's 200 ms debounce (client/session/inbox.ts); idle again runs that ack through.
    await halDevice.client.groups.sendText('band', 'ready');
    await gus.next(isMessage('ready'));
    await halDevice.client.idle();
    const idleAt = Date.now();
    await waitUntil(() => Date.now() - idleAt > 500);
    await halDevice.client.idle();
    expect(hal.tap.conflicts).toBe(0);

    // hal hears nothing pushed while gus moves the group to a new epoch (removing ivy).
    hal.tap.hold = true;
    const sentBefore = hal.tap.sent.length;
    await gus.client.groups.remove('band', 'ivy');
    const sent = await halDevice.client.groups.sendText('band', 'on a stale epoch');
    hal.release();
    // Refused on the old epoch, then the same message id again on the new one.
    const sends = hal.tap.sent.slice(sentBefore).filter((frame) => frame.action === 'sendgroup');
    expect(sends.map((frame) => frame.messageId)).toEqual([sent.messageId, sent.messageId]);
    expect(hal.tap.conflicts).toBeGreaterThan(0);
    const got = await gus.next(isMessage('on a stale epoch'));
    expect(got).toMatchObject({ messageId: sent.messageId, from: 'hal' });
    await gus.client.idle();
    expect(count(gus, 'on a stale epoch')).toBe(1);
  }, 120_000);
});

async function waitUntil(check: () => boolean, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
