/** Group messages: per-message keys, signatures, membership, and the epoch time rules (issue 9
 * point 4: a removed member cannot keep writing under the old key). */
import { beforeAll, describe, expect, it } from 'vitest';
import { sealDirect, sealWithKeys } from '../../client/crypto/envelope';
import type { GroupBody } from '../../client/crypto/envelope-payloads';
import {
  type GroupView,
  type NewEpoch,
  createChangeEpoch,
  currentEpoch,
} from '../../client/crypto/group';
import { makeAdminChange } from '../../client/crypto/group-membership';
import {
  type OpenGroupInput,
  deriveGroupMessageKeys,
  openGroup,
  sealGroup,
} from '../../client/crypto/group-message';
import { INBOX_RETENTION_MS } from '../../client/crypto/keys';
import { randomBytes } from '../../client/crypto/primitives';
import { MemorySeenStore } from '../../client/crypto/seen-store';
import { bytesEqual, toBase64, utf8 } from '../../protocol/bytes';
import { CLOCK_SLACK_MS } from '../../protocol/limits';
import { rejectsWith } from '../support/crypto-errors';
import { GROUP, MINUTE, type Name, type Story, T0, makeStory } from '../support/group-story';

let s: Story;
beforeAll(async () => {
  s = await makeStory();
});

const at = T0 + 25 * MINUTE;

const sendText = (
  sender: Name,
  view: GroupView,
  text: string,
  timestamp: number,
  messageId: string = crypto.randomUUID(),
) =>
  sealGroup({
    sender: s.keys[sender],
    view,
    messageId,
    timestamp,
    body: { type: 'group-text', text },
  });

const openInput = (
  envelope: Uint8Array,
  view: GroupView,
  from: Name,
  now: number,
  overrides: Partial<OpenGroupInput> = {},
): OpenGroupInput => ({
  envelope,
  view,
  sender: s.bundles[from],
  authenticatedSenderId: from,
  expectedType: ['group-text', 'group-file'],
  seen: new MemorySeenStore(),
  now,
  ...overrides,
});

describe('group messages', () => {
  it('round-trips group text and group file to every member, not late in the current epoch', async () => {
    const bodies: GroupBody[] = [
      { type: 'group-text', text: 'hello friends 👋' },
      {
        type: 'group-file',
        file: {
          blobId: 'b1',
          fileKey: randomBytes(32),
          name: 'clip.mp4',
          mimeType: 'video/mp4',
          size: 123_456_789,
          digest: randomBytes(32),
        },
      },
    ];
    for (const body of bodies) {
      const envelope = await sealGroup({
        sender: s.keys.bob,
        view: s.views.bob,
        messageId: crypto.randomUUID(),
        timestamp: at,
        body,
      });
      for (const reader of ['alice', 'carol'] as const) {
        const opened = await openGroup(
          openInput(envelope, s.views[reader], 'bob', at + MINUTE, { expectedType: body.type }),
        );
        expect(opened.body).toEqual(body);
        expect(opened.header).toMatchObject({ groupId: GROUP, epoch: 3, senderId: 'bob' });
        expect(opened.late).toBe(false);
      }
    }
  });

  it('uses a new key for every message', async () => {
    const key = currentEpoch(s.views.bob).groupKey;
    const context = { type: 'group-text' as const, groupId: GROUP, epoch: 3, senderId: 'bob' };
    const k1 = await deriveGroupMessageKeys(key, { ...context, messageId: 'm1' });
    const k2 = await deriveGroupMessageKeys(key, { ...context, messageId: 'm2' });
    const k3 = await deriveGroupMessageKeys(key, {
      ...context,
      messageId: 'm1',
      senderId: 'alice',
    });
    expect(bytesEqual(k1.encryptionKey, k2.encryptionKey)).toBe(false);
    expect(bytesEqual(k1.encryptionKey, k3.encryptionKey)).toBe(false);
    expect(bytesEqual(k1.macKey, k2.macKey)).toBe(false);
    const a = await sendText('bob', s.views.bob, 'same', at);
    const b = await sendText('bob', s.views.bob, 'same', at);
    expect(toBase64(a)).not.toBe(toBase64(b));
  });

  it('stops a member from writing as another member (BAD_SIGNATURE, WRONG_SENDER)', async () => {
    const epoch = currentEpoch(s.views.bob);
    const header = {
      type: 'group-text' as const,
      senderId: 'alice',
      groupId: GROUP,
      epoch: epoch.epoch,
      messageId: 'forged',
      timestamp: at,
    };
    const keysForAlice = await deriveGroupMessageKeys(epoch.groupKey, header);
    const forged = await sealWithKeys(
      header,
      keysForAlice,
      s.keys.bob.identitySign.privateKey,
      utf8('alice owes bob 100'),
    );
    await rejectsWith(openGroup(openInput(forged, s.views.carol, 'alice', at)), 'BAD_SIGNATURE');
    await rejectsWith(openGroup(openInput(forged, s.views.carol, 'bob', at)), 'WRONG_SENDER');
  });

  it('lets no newcomer open a message from before it joined (BAD_EPOCH), even with its own key forced in', async () => {
    const aliceAt2: GroupView = { groupId: GROUP, epochs: s.views.alice.epochs.slice(0, 2) };
    const before = await sendText('alice', aliceAt2, 'before carol', T0 + 15 * MINUTE);
    await rejectsWith(openGroup(openInput(before, s.views.carol, 'alice', at)), 'BAD_EPOCH');
    const forcedKey: GroupView = {
      groupId: GROUP,
      epochs: [{ ...currentEpoch(s.views.carol), epoch: 2, members: ['alice', 'bob'] }],
    };
    await rejectsWith(openGroup(openInput(before, forcedKey, 'alice', at)), 'BAD_MAC');
    // Bob, a member since epoch 2, reads it, marked late: epoch 3 had begun when it arrived.
    const opened = await openGroup(openInput(before, s.views.bob, 'alice', at));
    expect(opened.body).toEqual({ type: 'group-text', text: 'before carol' });
    expect(opened.late).toBe(true);
  });

  it("refuses a sender who was not in the message's epoch (NOT_A_MEMBER), and a non-member cannot seal", async () => {
    const fakeView: GroupView = {
      groupId: GROUP,
      epochs: [{ ...currentEpoch(s.views.carol), epoch: 2, members: ['alice', 'bob', 'carol'] }],
    };
    const claim = await sendText('carol', fakeView, 'I was there', T0 + 15 * MINUTE);
    await rejectsWith(openGroup(openInput(claim, s.views.bob, 'carol', at)), 'NOT_A_MEMBER');
    await rejectsWith(sendText('mallory', s.views.alice, 'let me in', at), 'NOT_A_MEMBER');
  });

  it('refuses 1:1 envelopes here (WRONG_TYPE), other groups (WRONG_RECIPIENT), replays and old messages', async () => {
    const direct = await sealDirect({
      sender: s.keys.alice,
      recipient: s.bundles.bob,
      messageId: 'd1',
      timestamp: at,
      body: { type: 'text', text: 'hi' },
    });
    await rejectsWith(openGroup(openInput(direct, s.views.bob, 'alice', at)), 'WRONG_TYPE');
    const envelope = await sendText('alice', s.views.alice, 'once', at, 'g1');
    await rejectsWith(
      openGroup(openInput(envelope, s.views.bob, 'alice', at, { expectedType: 'group-file' })),
      'WRONG_TYPE',
    );
    await rejectsWith(
      openGroup(openInput(envelope, { ...s.views.bob, groupId: 'enemies' }, 'alice', at)),
      'WRONG_RECIPIENT',
    );
    const seen = new MemorySeenStore();
    await openGroup(openInput(envelope, s.views.bob, 'alice', at, { seen }));
    await rejectsWith(openGroup(openInput(envelope, s.views.bob, 'alice', at, { seen })), 'REPLAY');
    await rejectsWith(
      openGroup(openInput(envelope, s.views.bob, 'alice', at + INBOX_RETENTION_MS + 1)),
      'TOO_OLD',
    );
    const flipped = envelope.slice();
    flipped[flipped.length - 70]! ^= 4; // inside the MAC
    await rejectsWith(openGroup(openInput(flipped, s.views.bob, 'alice', at)), 'BAD_MAC');
  });
});

describe('epoch time rules (issue 9 point 4)', () => {
  let removal: NewEpoch;
  let bobAfter: GroupView;
  const removedAt = T0 + 40 * MINUTE;

  beforeAll(async () => {
    // Alice (admin) removes carol at epoch 4; bob accepts it.
    const artefact = await makeAdminChange({
      kind: 'admin-remove',
      groupId: GROUP,
      me: s.keys.alice,
      target: 'carol',
      now: removedAt,
    });
    removal = await createChangeEpoch({
      view: s.views.alice,
      me: s.keys.alice,
      removals: [artefact],
      memberBundles: s.bundleMap('bob', 'carol'),
      now: removedAt,
    });
    bobAfter = (await s.accept(s.views.bob, 'bob', removal)).view;
  });

  it('a removed member writing in the old epoch after the next began (plus the slack) is refused (EPOCH_ENDED)', async () => {
    const late = await sendText(
      'carol',
      s.views.carol,
      'still here',
      removedAt + CLOCK_SLACK_MS + 1,
    );
    await rejectsWith(
      openGroup(openInput(late, bobAfter, 'carol', removedAt + CLOCK_SLACK_MS + MINUTE)),
      'EPOCH_ENDED',
    );
    const muchLater = await sendText('carol', s.views.carol, 'hello?', removedAt + 60 * MINUTE);
    await rejectsWith(
      openGroup(openInput(muchLater, bobAfter, 'carol', removedAt + 61 * MINUTE)),
      'EPOCH_ENDED',
    );
  });

  it('a message of the old epoch from before the change (or within the slack) opens, marked late', async () => {
    for (const sentAt of [removedAt - MINUTE, removedAt + CLOCK_SLACK_MS]) {
      const envelope = await sendText('carol', s.views.carol, 'just before', sentAt);
      const opened = await openGroup(
        openInput(envelope, bobAfter, 'carol', removedAt + 10 * MINUTE),
      );
      expect(opened.body).toEqual({ type: 'group-text', text: 'just before' });
      expect(opened.late).toBe(true);
    }
    // The same message to a member who has not taken epoch 4 yet is not late.
    const envelope = await sendText('carol', s.views.carol, 'just before', removedAt - MINUTE);
    expect((await openGroup(openInput(envelope, s.views.bob, 'carol', removedAt))).late).toBe(
      false,
    );
  });

  it('the new epoch is read normally, and the removed member cannot open it', async () => {
    const envelope = await sendText('alice', removal.view, 'carol is gone', removedAt + MINUTE);
    const opened = await openGroup(openInput(envelope, bobAfter, 'alice', removedAt + 2 * MINUTE));
    expect(opened.late).toBe(false);
    await rejectsWith(
      openGroup(openInput(envelope, s.views.carol, 'alice', removedAt + 2 * MINUTE)),
      'BAD_EPOCH',
    );
  });
});
