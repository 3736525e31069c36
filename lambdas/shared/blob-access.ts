/** Which blobs may be sent: completed ones, by their uploader. Shared by `sendfile` and `sendgroupfile`. */
import { ProtocolError } from '../../protocol/errors';
import { RETENTION_DAYS } from '../../protocol/limits';
import type { ServerDeps } from '../runtime/deps';
import type { BlobRecord } from '../stores/blobs';

/** A completed blob the sender uploaded, or the error that says why it cannot be sent. */
export async function sendableBlob(
  deps: ServerDeps,
  blobId: string,
  senderId: string,
): Promise<BlobRecord> {
  const blob = await deps.blobs.get(blobId, deps.now());
  if (!blob) throw unknownBlob();
  if (blob.owner !== senderId)
    throw new ProtocolError(
      'FORBIDDEN',
      'You can only send a file you uploaded yourself: upload it, then send it.',
    );
  if (blob.state !== 'completed')
    throw new ProtocolError(
      'CONFLICT',
      'This upload is not complete yet: finish it with upload op "complete", then send it.',
    );
  return blob;
}

export const unknownBlob = () =>
  new ProtocolError(
    'NOT_FOUND',
    `There is no such file (it never existed, or it expired after ${RETENTION_DAYS} days).`,
  );
