/**
 * `sendgroupfile`: a completed blob the sender uploaded goes to every member of a group. The
 * group fan-out (membership, current epoch, body stored once, a pointer per member, pushes) is
 * the groups core's; this adds the blob check and grants every recipient read access before
 * anything is delivered.
 */
import { SendGroupFileFrame } from '../../protocol/blobs';
import { commandHandler } from '../runtime/command-handler';
import type { ServerDeps } from '../runtime/deps';
import type { RouteContext } from '../runtime/route';
import { sendableBlob } from '../shared/blob-access';
import { fanOutToGroup, sendGroupReply } from '../shared/group-fan-out';
import { assertWithinRate } from '../shared/rate-limits';
import { requireUser } from '../shared/sessions';

export async function sendgroupfile(
  deps: ServerDeps,
  frame: SendGroupFileFrame,
  context: RouteContext,
) {
  const sender = await requireUser(deps, context);
  await assertWithinRate(deps, 'send', sender.userId, deps.now());
  const blob = await sendableBlob(deps, frame.blobId, sender.userId);
  const result = await fanOutToGroup(
    deps,
    context,
    {
      groupId: frame.groupId,
      epoch: frame.epoch,
      from: sender.userId,
      messageId: frame.messageId,
      envelope: frame.envelope,
    },
    {
      // The members at send time, after the membership and epoch checks, before any write.
      beforeDeliver: (recipients) =>
        deps.blobs.grant(blob.blobId, recipients, {
          grantedBy: sender.userId,
          messageId: frame.messageId,
          expiresAt: blob.expiresAt,
        }),
    },
  );
  return { ...sendGroupReply(result), blobId: blob.blobId };
}

export const handler = commandHandler('sendgroupfile', SendGroupFileFrame, sendgroupfile);
