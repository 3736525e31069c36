/** `download`: a presigned GET for the uploader and for the users a file message granted. */
import { BLOB_URL_TTL_SECONDS, DownloadFrame, type DownloadReply } from '../../protocol/blobs';
import { ProtocolError } from '../../protocol/errors';
import { commandHandler } from '../runtime/command-handler';
import type { ServerDeps } from '../runtime/deps';
import type { RouteContext } from '../runtime/route';
import { unknownBlob } from '../shared/blob-access';
import { requireUser } from '../shared/sessions';
import { blobKey } from '../stores/blob-objects';

export async function download(
  deps: ServerDeps,
  frame: DownloadFrame,
  context: RouteContext,
): Promise<DownloadReply> {
  const user = await requireUser(deps, context);
  const now = deps.now();
  const blob = await deps.blobs.get(frame.blobId, now);
  if (!blob) throw unknownBlob();
  const allowed =
    blob.owner === user.userId || (await deps.blobs.hasGrant(blob.blobId, user.userId, now));
  if (!allowed)
    throw new ProtocolError(
      'FORBIDDEN',
      'You may not read this file: only its uploader and the people it was sent to can.',
    );
  if (blob.state !== 'completed')
    throw new ProtocolError(
      'CONFLICT',
      'This upload is not complete yet: finish it with upload op "complete" first.',
    );
  return {
    blobId: blob.blobId,
    size: blob.size,
    url: await deps.blobObjects.signGet(blobKey(blob.blobId), BLOB_URL_TTL_SECONDS),
    urlExpiresAt: now + BLOB_URL_TTL_SECONDS * 1000,
  };
}

export const handler = commandHandler('download', DownloadFrame, download);
