/**
 * Orders the real server does not promise either way, driven by a scripted server: a group message
 * that arrives before the key-share of its epoch waits (persisted) and opens when the key comes,
 * also after a restart in between; a pushed message also seen again in a page shows once.
 */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { toBase64 } from '../../protocol/bytes';
import { statementFromBase64, statementToBase64 } from '../../protocol/group-statement';
import type { PublicBundleWire } from '../../protocol/commands';
import { createJoinEpoch, type GroupView } from '../../client/crypto/group';
import { makeJoinRequest } from '../../client/crypto/group-membership';
import { sealGroup } from '../../client/crypto/group-message';
import {
  bundleFromWire,
  bundleToWire,
  generateLocalKeys,
  publicBundle,
  verifyBundle,
  type LocalKeys,
} from '../../client/crypto/keys';
import { tempDataDir } from '../../tools/local-stack';
import { FakeSocket } from '../support/session-fakes';
import { isMessage, openDevice, type TestDevice } from '../support/session-client';

const work = tempDataDir();
afterAll(() => work.remove());

/** A server that accepts whatever the client sends and remembers what it needs. */
function scriptedServer(socket: FakeSocket, alice: LocalKeys) {
  const seen: { bob?: PublicBundleWire; statement?: string } = {};
  socket.onFrame = (frame) => {
    const page = { events: [], through: { inbox: 0 }, more: false };
    switch (frame.action) {
      case 'signup':
      case 'resume':
        return socket.reply(frame, {
          userId: 'bob',
          deviceId: frame.deviceId,
          token: 'a'.repeat(43),
          expiresAt: 0,
          page,
        });
      case 'keys':
        if (frame.op === 'publish') seen.bob = frame.bundle as PublicBundleWire;
        if (frame.op === 'fetch')
          return socket.reply(frame, { bundle: bundleToWire(publicBundle(alice)) });
        return socket.reply(frame, { stored: true, published: true });
      case 'sharekey':
        seen.statement = frame.statement as string;
        return socket.reply(frame, { epoch: frame.epoch });
      case 'ack':
        return socket.reply(frame, {
          cursors: frame.through,
          page: { events: [], through: frame.through, more: false },
        });
      default:
        return socket.reply(frame, {});
    }
  };
  return seen;
}

describe('a group message before its key', () => {
  let bob: TestDevice;
  it('waits, survives a restart, and opens when the key-share arrives', async () => {
    let now = Date.now();
    const alice = await generateLocalKeys('alice', now);
    let socket = new FakeSocket();
    const seen = scriptedServer(socket, alice);
    const folder = join(work.dir, 'bob');
    bob = await openDevice('ws://scripted', folder, { connect: () => socket });
    const signup = bob.client.signup({
      username: 'bob',
      password: 'orange kettle drifts over seven hills',
    });
    await socket.openWhenStarted();
    await signup;
    // bob makes the group (epoch 1); alice joins with epoch 2.
    socket.onFrame = ((previous) => (frame) => {
      if (frame.action === 'create') return socket.reply(frame, { groupId: 'team', created: true });
      previous(frame);
    })(socket.onFrame);
    await bob.client.groups.create('team');
    const bobBundle = await verifyBundle(bundleFromWire(seen.bob!));
    const latest = statementFromBase64(seen.statement!);
    now = Date.now();
    const epoch2 = await createJoinEpoch({
      me: alice,
      latest,
      request: await makeJoinRequest({ groupId: 'team', me: alice, now }),
      memberBundles: new Map([['bob', bobBundle]]),
      now,
    });
    const view: GroupView = epoch2.view;
    const envelope = await sealGroup({
      sender: alice,
      view,
      messageId: 'm-before-key',
      timestamp: now,
      body: { type: 'group-text', text: 'sent in epoch 2' },
    });
    const message = {
      type: 'group-message',
      stream: 'g:team',
      groupId: 'team',
      epoch: 2,
      from: 'alice',
      messageId: 'm-before-key',
      envelope: toBase64(envelope),
      sentAt: now,
    };
    socket.receive(message);
    await bob.next((e) => e.type === 'waiting-for-key');
    await bob.client.idle();
    expect(bob.events.some((e) => e.type === 'message')).toBe(false);

    // A restart: the waiting message is in the device store, not in memory.
    await bob.close();
    socket = new FakeSocket();
    scriptedServer(socket, alice);
    bob = await openDevice('ws://scripted', folder, { connect: () => socket });
    const resumed = bob.client.resume();
    await socket.openWhenStarted();
    await resumed;
    const share = epoch2.keyShares.find((k) => k.recipientId === 'bob')!;
    socket.receive({
      type: 'key-share',
      stream: 'g:team',
      groupId: 'team',
      epoch: 2,
      from: 'alice',
      messageId: share.messageId,
      envelope: toBase64(share.envelope),
      statement: statementToBase64(epoch2.statement),
      sentAt: now,
    });
    const opened = await bob.next(isMessage('sent in epoch 2'));
    expect(opened).toMatchObject({
      from: 'alice',
      conversation: { kind: 'group', groupId: 'team' },
    });

    // The same message again (a page after the push): dropped as seen.
    socket.receive(message);
    await bob.client.idle();
    expect(bob.events.filter((e) => e.type === 'message')).toHaveLength(1);
    await bob.close();
  });
});
