/**
 * `keys`: public key bundles and the sealed key backup, opaque to the server, bound to their
 * owner.
 *
 * The key backup (`keys {op:'put-backup' | 'get-backup'}`): opaque sealed bytes, written by
 * compare and swap on its version. A backup that fits an envelope lives inline in the user item;
 * a bigger one (more than about 170 pinned contacts) is uploaded like a file (`upload`, which
 * counts its bytes against the daily upload quota) and named by a reference {blobId, size,
 * digest}. The server takes such an upload only when it is a completed upload of the writer's
 * own, at most MAX_BACKUP_BLOB_BYTES, whose bytes have that size and SHA-256; it copies them to
 * `backups/<blobId>` (no lifecycle rule expires that prefix, unlike `blobs/`), swaps the
 * reference in, then deletes the upload and the backup blob the new one replaced.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { BLOB_URL_TTL_SECONDS } from '../../protocol/blobs';
import {
  KeysFrame,
  MAX_BACKUP_BLOB_BYTES,
  type BackupBlobRef,
  type BackupStoredReply,
  type GetBackupReply,
} from '../../protocol/commands';
import { ProtocolError } from '../../protocol/errors';
import type { CommandReplies } from '../../protocol/replies';
import { commandHandler } from '../runtime/command-handler';
import type { ServerDeps } from '../runtime/deps';
import type { Logger } from '../runtime/log';
import type { RouteContext } from '../runtime/route';
import { requireUser } from '../shared/sessions';
import { blobKey, keptBackupKey } from '../stores/blob-objects';
import type { BackupOutcome, StoredBackup } from '../stores/users';
import { missingCase } from '../../protocol/missing-case';

export async function keys(
  deps: ServerDeps,
  frame: KeysFrame,
  context: RouteContext,
): Promise<CommandReplies['keys']> {
  const me = await requireUser(deps, context);
  switch (frame.op) {
    case 'publish': {
      if (frame.bundle.userId !== me.userId)
        throw new ProtocolError('FORBIDDEN', 'You can only publish your own key bundle.');
      const outcome = await deps.users.publishBundle(me.userId, frame.bundle);
      switch (outcome) {
        case 'published':
          return { published: true };
        case 'identity-differs':
          throw new ProtocolError(
            'CONFLICT',
            'Your identity keys differ from the ones on record; they are never replaced silently. Restore your key backup.',
          );
        case 'prekey-not-newer':
          // Two devices of one account rotated at once: the other one's prekey is published.
          throw new ProtocolError(
            'CONFLICT',
            'A signed prekey at least as new as this one is published already (another of your devices rotated). Drop yours and restore the key backup.',
          );
        default: {
          return missingCase(outcome);
        }
      }
    }
    case 'fetch': {
      const user = await deps.users.get(frame.userId);
      if (!user?.bundle)
        throw new ProtocolError('NOT_FOUND', `No keys are published for "${frame.userId}".`);
      return { bundle: user.bundle };
    }
    case 'put-backup':
      return putBackup(deps, me.userId, frame, context.log);
    case 'get-backup':
      return getBackup(deps, me.userId);
    default: {
      return missingCase(
        frame,
        new ProtocolError('BAD_REQUEST', `Unknown keys operation ${String(frame)}.`),
      );
    }
  }
}

type PutBackupFrame = Extract<KeysFrame, { op: 'put-backup' }>;

export async function putBackup(
  deps: ServerDeps,
  userId: string,
  frame: PutBackupFrame,
  log: Logger,
): Promise<BackupStoredReply> {
  let outcome: BackupOutcome;
  if (frame.blob) {
    // A stale version is refused before anything is read or copied (and a retry after a lost
    // reply finds its version taken, its upload gone, and merges like any CONFLICT).
    const current = (await deps.users.get(userId))?.backupVersion ?? 0;
    if (current !== frame.replaces) throw staleVersion(current, frame.replaces);
    const bytes = await checkedUpload(deps, userId, frame.blob);
    const kept = keptBackupKey(frame.blob.blobId);
    await deps.blobObjects.write(kept, bytes);
    outcome = await store(deps, userId, { blob: frame.blob }, frame);
    if (!outcome.stored) {
      await deps.blobObjects.remove(kept);
      throw staleVersion(outcome.currentVersion, frame.replaces);
    }
    await cleanUp(log, () => deps.blobObjects.remove(blobKey(frame.blob!.blobId)));
    await cleanUp(log, () => deps.blobs.remove(frame.blob!.blobId));
  } else {
    outcome = await store(deps, userId, { inline: frame.backup! }, frame);
    if (!outcome.stored) throw staleVersion(outcome.currentVersion, frame.replaces);
  }
  const replaced = outcome.replacedBlob;
  if (replaced && replaced.blobId !== frame.blob?.blobId)
    await cleanUp(log, () => deps.blobObjects.remove(keptBackupKey(replaced.blobId)));
  return { stored: true, version: frame.version };
}

export async function getBackup(deps: ServerDeps, userId: string): Promise<GetBackupReply> {
  const user = await deps.users.get(userId);
  const version = user?.backupVersion ?? 0;
  if (user?.backupBlob) {
    const { blobId, size, digest } = user.backupBlob;
    return {
      version,
      blob: {
        size,
        digest,
        url: await deps.blobObjects.signGet(keptBackupKey(blobId), BLOB_URL_TTL_SECONDS),
        urlExpiresAt: deps.now() + BLOB_URL_TTL_SECONDS * 1000,
      },
    };
  }
  if (user?.backup) return { version, backup: user.backup };
  throw new ProtocolError('NOT_FOUND', 'No key backup is stored for this account.');
}

/** The upload's bytes, when it is a completed upload of mine with exactly the named size and digest. */
async function checkedUpload(
  deps: ServerDeps,
  userId: string,
  ref: BackupBlobRef,
): Promise<Uint8Array> {
  const blob = await deps.blobs.get(ref.blobId, deps.now());
  if (!blob)
    throw new ProtocolError(
      'NOT_FOUND',
      'The key backup names an upload that does not exist (or expired): upload the sealed backup, then name it.',
    );
  if (blob.owner !== userId)
    throw new ProtocolError(
      'FORBIDDEN',
      'The key backup names an upload of another user: a backup can only be an upload of your own.',
    );
  if (blob.size > MAX_BACKUP_BLOB_BYTES)
    throw new ProtocolError(
      'TOO_LARGE',
      `A key backup is at most ${MAX_BACKUP_BLOB_BYTES} bytes; this upload has ${blob.size}.`,
    );
  if (blob.state !== 'completed' || blob.size !== ref.size)
    throw new ProtocolError(
      'BAD_REQUEST',
      blob.state !== 'completed'
        ? 'The key backup’s upload is not complete: complete it, then store the backup.'
        : `The key backup’s upload has ${blob.size} bytes, not the ${ref.size} named.`,
    );
  const bytes = await deps.blobObjects.read(blobKey(ref.blobId));
  if (!bytes)
    throw new ProtocolError(
      'NOT_FOUND',
      'The key backup’s upload holds no bytes (or expired): upload the sealed backup again.',
    );
  const digest = createHash('sha256').update(bytes).digest();
  const named = Buffer.from(ref.digest, 'base64');
  if (bytes.length !== ref.size || !timingSafeEqual(digest, named))
    throw new ProtocolError(
      'BAD_REQUEST',
      'DIGEST_MISMATCH: the key backup’s upload does not have the SHA-256 named; upload the sealed backup again.',
    );
  return bytes;
}

const store = (
  deps: ServerDeps,
  userId: string,
  backup: StoredBackup,
  frame: PutBackupFrame,
): Promise<BackupOutcome> => deps.users.putBackup(userId, backup, frame.version, frame.replaces);

const staleVersion = (current: number, replaces: number) =>
  new ProtocolError(
    'CONFLICT',
    `The stored key backup is version ${current}, not ${replaces}: another device wrote it. Fetch it (get-backup), merge, and store a version above ${current} replacing ${current}.`,
  );

/** Deleting what the stored backup no longer needs; a failure leaves an orphan, never an error. */
async function cleanUp(log: Logger, remove: () => Promise<void>): Promise<void> {
  try {
    await remove();
  } catch (error) {
    log.warn('key backup clean-up failed', { error: (error as Error).name });
  }
}

export const handler = commandHandler('keys', KeysFrame, keys);
