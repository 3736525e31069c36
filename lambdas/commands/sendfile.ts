/** `sendfile`: a completed blob the sender uploaded goes to one user, who is granted read access first. */
import { SendFileFrame } from '../../protocol/blobs';
import { commandHandler } from '../runtime/command-handler';
import type { ServerDeps } from '../runtime/deps';
import type { RouteContext } from '../runtime/route';
import { sendableBlob } from '../shared/blob-access';
import { sendToUser } from '../shared/delivery';
import type { BlobRecord } from '../stores/blobs';

export async function sendfile(deps: ServerDeps, frame: SendFileFrame, context: RouteContext) {
  let blob: BlobRecord | undefined;
  const result = await sendToUser(deps, context, frame, {
    check: async (senderId) => {
      blob = await sendableBlob(deps, frame.blobId, senderId);
    },
    // Grant first, so the recipient can download as soon as the message arrives.
    beforeDeliver: (senderId, recipientId) =>
      deps.blobs.grant(blob!.blobId, [recipientId], {
        grantedBy: senderId,
        messageId: frame.messageId,
        expiresAt: blob!.expiresAt,
      }),
  });
  return { ...result, blobId: frame.blobId };
}

export const handler = commandHandler('sendfile', SendFileFrame, sendfile);
