/**
 * A File (picker, drop, paste, camera) or any Blob (a voice note) as the session's FileSource:
 * read through `Blob.stream()`, so a 200 MiB video is never read whole (the session cuts it into
 * 1 MiB chunks as it goes). Every `open()` is a new stream, so a retried send reads it again.
 */
import type { FileSource } from '../../../client/session/ports';

/** What a file without a type is sent as (the receiver offers it for saving). */
export const UNKNOWN_MIME_TYPE = 'application/octet-stream';

export function fileSourceFromBlob(
  blob: Blob,
  name = blob instanceof File ? blob.name : 'file',
): FileSource {
  return {
    name: name || 'file',
    size: blob.size,
    // Browsers give '' for extensions they do not know.
    mimeType: blob.type || UNKNOWN_MIME_TYPE,
    open: () => blob.stream(),
  };
}
