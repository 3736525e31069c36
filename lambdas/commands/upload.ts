/**
 * `upload` (start, re-sign, complete). The server never sees a file's bytes or key: it fixes each
 * blob's size and part layout, signs short-lived URLs with the exact length of each part, and
 * checks the stored size at completion.
 */
import { randomBytes } from 'node:crypto';
import {
  BLOB_URL_TTL_SECONDS,
  MAX_BLOB_BYTES,
  MAX_PART_URLS_PER_REPLY,
  partLength,
  type PartUrl,
  planParts,
  type UploadCompleteReply,
  UploadFrame,
  type UploadSignReply,
  type UploadStartReply,
} from '../../protocol/blobs';
import { ProtocolError } from '../../protocol/errors';
import { RETENTION_MS } from '../../protocol/limits';
import { commandHandler } from '../runtime/command-handler';
import type { ServerDeps } from '../runtime/deps';
import type { RouteContext } from '../runtime/route';
import { unknownBlob } from '../shared/blob-access';
import { assertWithinRate, reserveUploadBytes } from '../shared/rate-limits';
import { requireUser } from '../shared/sessions';
import { blobKey } from '../stores/blob-objects';
import type { BlobRecord } from '../stores/blobs';
import { BLOB_BUCKET } from '../tables';

const DAY_MS = 24 * 60 * 60 * 1000;

/** A blob, its record and its grants live this long from the start of its upload. */
export const BLOB_RETENTION_MS = RETENTION_MS;

/** An unfinished upload can be re-signed and completed this long (then the bucket aborts it). */
export const UPLOAD_WINDOW_MS = BLOB_BUCKET.abortIncompleteMultipartAfterDays * DAY_MS;

const GIB = 1024 * 1024 * 1024;

export const newBlobId = (): string => randomBytes(16).toString('base64url');

type UploadStart = Extract<UploadFrame, { op: 'start' }>;

type UploadSign = Extract<UploadFrame, { op: 'sign' }>;

type UploadComplete = Extract<UploadFrame, { op: 'complete' }>;

export async function upload(
  deps: ServerDeps,
  frame: UploadFrame,
  context: RouteContext,
): Promise<UploadStartReply | UploadSignReply | UploadCompleteReply> {
  const user = await requireUser(deps, context);
  switch (frame.op) {
    case 'start':
      return startUpload(deps, frame, user.userId);
    case 'sign':
      return signParts(deps, frame, user.userId);
    case 'complete':
      return completeUpload(deps, frame, user.userId);
  }
}

async function startUpload(
  deps: ServerDeps,
  frame: UploadStart,
  userId: string,
): Promise<UploadStartReply> {
  if (frame.size > MAX_BLOB_BYTES)
    throw new ProtocolError(
      'TOO_LARGE',
      `Files are limited to ${MAX_BLOB_BYTES / GIB} GiB of ciphertext (${MAX_BLOB_BYTES} bytes); this one has ${frame.size} bytes.`,
    );
  const now = deps.now();
  await assertWithinRate(deps, 'upload', userId, now);
  // Counted when announced: the bytes are reserved whether or not the upload completes.
  await reserveUploadBytes(deps, userId, frame.size, now);
  const { partSize, partCount, multipart } = planParts(frame.size);
  const blobId = newBlobId();
  const uploadId = multipart ? await deps.blobObjects.startMultipart(blobKey(blobId)) : undefined;
  const blob: BlobRecord = {
    blobId,
    owner: userId,
    size: frame.size,
    partSize,
    partCount,
    ...(uploadId && { uploadId }),
    state: 'uploading',
    createdAt: now,
    expiresAt: now + BLOB_RETENTION_MS,
  };
  await deps.blobs.create(blob);
  const first = Array.from(
    { length: Math.min(partCount, MAX_PART_URLS_PER_REPLY) },
    (_, i) => i + 1,
  );
  return {
    blobId,
    size: frame.size,
    partSize,
    partCount,
    multipart,
    urls: await signPartUrls(deps, blob, first),
    urlsExpireAt: now + BLOB_URL_TTL_SECONDS * 1000,
    uploadExpiresAt: now + UPLOAD_WINDOW_MS,
  };
}

async function signParts(
  deps: ServerDeps,
  frame: UploadSign,
  userId: string,
): Promise<UploadSignReply> {
  const blob = await ownUnfinishedUpload(deps, frame.blobId, userId);
  const beyond = frame.parts.find((n) => n > blob.partCount);
  if (beyond !== undefined)
    throw new ProtocolError(
      'BAD_REQUEST',
      `Part ${beyond} does not exist: this blob has parts 1 to ${blob.partCount}.`,
    );
  const parts = [...new Set(frame.parts)].sort((a, b) => a - b);
  return {
    blobId: blob.blobId,
    urls: await signPartUrls(deps, blob, parts),
    urlsExpireAt: deps.now() + BLOB_URL_TTL_SECONDS * 1000,
  };
}

async function completeUpload(
  deps: ServerDeps,
  frame: UploadComplete,
  userId: string,
): Promise<UploadCompleteReply> {
  const existing = await ownBlob(deps, frame.blobId, userId);
  const done = (duplicate: boolean): UploadCompleteReply => ({
    blobId: existing.blobId,
    size: existing.size,
    duplicate,
    expiresAt: existing.expiresAt,
  });
  if (existing.state === 'completed') return done(true);
  const blob = assertUploadOpen(existing, deps.now());
  const key = blobKey(blob.blobId);

  if (blob.uploadId) {
    const parts = frame.parts ?? [];
    const inOrder =
      parts.length === blob.partCount && parts.every((p, i) => p.partNumber === i + 1);
    if (!inOrder)
      throw new ProtocolError(
        'BAD_REQUEST',
        `Completing needs the ETag of every part, 1 to ${blob.partCount}, in order (got ${parts.length}).`,
      );
    // A retry after S3 already assembled the object (but our record missed it) skips to the check.
    if (!(await deps.blobObjects.head(key))) {
      const result = await deps.blobObjects.completeMultipart(key, blob.uploadId, parts);
      if (!result.ok && result.reason === 'invalid-parts')
        throw new ProtocolError(
          'CONFLICT',
          `S3 refused the part list (${result.detail}). Upload every part, then complete with the ETags its PUTs answered.`,
        );
      if (!result.ok) {
        await deps.blobs.remove(blob.blobId);
        throw new ProtocolError(
          'NOT_FOUND',
          'This upload no longer exists on S3. Start a new upload.',
        );
      }
    }
  } else if (frame.parts && frame.parts.length > 0) {
    throw new ProtocolError(
      'BAD_REQUEST',
      'This blob is a single PUT: complete it without a part list.',
    );
  }

  const stored = await deps.blobObjects.head(key);
  if (!stored)
    throw new ProtocolError(
      'CONFLICT',
      'No bytes are stored for this blob yet: PUT them to the upload URL, then complete.',
    );
  if (stored.size !== blob.size) {
    // Wrong bytes are never kept. A single PUT can be redone; a multipart upload is used up.
    await deps.blobObjects.remove(key);
    if (blob.uploadId) {
      await deps.blobs.remove(blob.blobId);
      throw new ProtocolError(
        'CONFLICT',
        `The parts add up to ${stored.size} bytes, not the ${blob.size} announced. Start a new upload.`,
      );
    }
    throw new ProtocolError(
      'CONFLICT',
      `The upload has ${stored.size} bytes, not the ${blob.size} announced. PUT exactly ${blob.size} bytes, then complete again.`,
    );
  }
  const changed = await deps.blobs.markCompleted(blob.blobId, deps.now());
  return done(!changed);
}

async function ownBlob(deps: ServerDeps, blobId: string, userId: string): Promise<BlobRecord> {
  const blob = await deps.blobs.get(blobId, deps.now());
  if (!blob) throw unknownBlob();
  if (blob.owner !== userId)
    throw new ProtocolError('FORBIDDEN', 'Only the user who started this upload can continue it.');
  return blob;
}

function assertUploadOpen(blob: BlobRecord, now: number): BlobRecord {
  if (now >= blob.createdAt + UPLOAD_WINDOW_MS)
    throw new ProtocolError(
      'NOT_FOUND',
      'This unfinished upload expired (uploads must complete within a day). Start a new upload.',
    );
  return blob;
}

async function ownUnfinishedUpload(
  deps: ServerDeps,
  blobId: string,
  userId: string,
): Promise<BlobRecord> {
  const blob = await ownBlob(deps, blobId, userId);
  if (blob.state === 'completed')
    throw new ProtocolError(
      'CONFLICT',
      'This upload is already complete: its bytes can no longer change.',
    );
  return assertUploadOpen(blob, deps.now());
}

function signPartUrls(
  deps: ServerDeps,
  blob: BlobRecord,
  partNumbers: readonly number[],
): Promise<PartUrl[]> {
  const key = blobKey(blob.blobId);
  return Promise.all(
    partNumbers.map(async (partNumber) => {
      const size = partLength(blob.size, partNumber);
      const url = await deps.blobObjects.signPut(
        key,
        size,
        BLOB_URL_TTL_SECONDS,
        blob.uploadId ? { uploadId: blob.uploadId, partNumber } : undefined,
      );
      return { partNumber, size, url };
    }),
  );
}

export const handler = commandHandler('upload', UploadFrame, upload);
