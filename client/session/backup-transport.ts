/**
 * How a sealed key backup travels: inline in `put-backup` / `get-backup` while it fits an
 * envelope (about 170 pinned contacts), through the blob store above that (docs/protocol.md
 * section 3). A big backup is uploaded like a file and `put-backup` names it {blobId, size,
 * SHA-256}; `get-backup` then answers a presigned GET, and the bytes are checked against the size
 * and digest before anything opens them (the backup's own MAC is checked after, as ever).
 */
import { bytesEqual, fromBase64, sha256, toBase64 } from '../../protocol/bytes';
import {
  MAX_BACKUP_BLOB_BYTES,
  type BackupBlobRef,
  type GetBackupReply,
} from '../../protocol/commands';
import { backupFitsInline } from '../crypto/backup';
import { sleep, uploadSealedBytes } from './blob-transfer';
import { CipherlineError } from './errors';
import type { BlobHttp, Clock } from './ports';
import type { CallServer } from './rpc';

export interface BackupTransportDeps {
  readonly call: CallServer<'keys' | 'upload'>;
  readonly http: BlobHttp;
  readonly clock: Clock;
}

/** A replaced backup's blob is deleted at once: a GET that lost that race asks again. */
const READ_ATTEMPTS = 3;

/** The backup field of `put-backup` for these sealed bytes: inline, or uploaded first. */
export async function backupFields(
  deps: BackupTransportDeps,
  sealed: Uint8Array,
): Promise<{ backup: string } | { blob: BackupBlobRef }> {
  if (backupFitsInline(sealed)) return { backup: toBase64(sealed) };
  if (sealed.length > MAX_BACKUP_BLOB_BYTES)
    throw new CipherlineError(
      'TOO_LARGE',
      `The key backup has grown past ${MAX_BACKUP_BLOB_BYTES / 1024} KiB (about 10 000 pinned contacts); it was not updated.`,
    );
  const blobId = await uploadSealedBytes(deps, sealed, 'the key backup');
  return { blob: { blobId, size: sealed.length, digest: toBase64(await sha256(sealed)) } };
}

/** The stored backup's sealed bytes and version (a ServerError NOT_FOUND when there is none). */
export async function readStoredBackup(
  deps: BackupTransportDeps,
): Promise<{ sealed: Uint8Array; version: number }> {
  let lastProblem = '';
  for (let attempt = 1; attempt <= READ_ATTEMPTS; attempt++) {
    const reply = await deps.call<'keys', GetBackupReply>('keys', { op: 'get-backup' });
    if ('backup' in reply) return { sealed: fromBase64(reply.backup), version: reply.version };
    const response = await deps.http.get(reply.blob.url);
    if (response.status === 200) {
      const sealed = await collect(response.body, reply.blob.size);
      const digest = await sha256(sealed);
      if (sealed.length !== reply.blob.size || !bytesEqual(digest, fromBase64(reply.blob.digest)))
        throw new CipherlineError(
          'PROTOCOL',
          'The key backup downloaded does not have the size and SHA-256 the server named; it was not opened.',
        );
      return { sealed, version: reply.version };
    }
    // 404: replaced (and deleted) between the reply and the GET; 403: the URL expired.
    lastProblem = `S3 answered ${response.status}`;
    await sleep(deps.clock, 200 * attempt);
  }
  throw new CipherlineError(
    'OFFLINE',
    `Downloading the key backup failed (${lastProblem}); it is tried again at the next sign-in.`,
  );
}

/** The whole body, refusing more than `size` bytes (a backup is at most 1 MiB). */
async function collect(body: AsyncIterable<Uint8Array>, size: number): Promise<Uint8Array> {
  const out = new Uint8Array(size);
  let filled = 0;
  for await (const chunk of body) {
    if (filled + chunk.length > size)
      throw new CipherlineError(
        'PROTOCOL',
        'The key backup downloaded is larger than the server said; it was not opened.',
      );
    out.set(chunk, filled);
    filled += chunk.length;
  }
  return out.subarray(0, filled);
}
