/**
 * Frames of the blob commands: `upload` (start, re-sign part URLs, complete), `download`,
 * `sendfile` and `sendgroupfile`. Blobs are ciphertext only: the client encrypts a file
 * (client/crypto/file-format.ts) before it asks to upload it, and PUTs the bytes straight to S3
 * through presigned URLs; the server fixes the size, signs, checks and records who may read.
 */
import { z } from 'zod';
import { BlobId, Envelope, MessageId, UserName, type SendReply } from './commands';
import { BaseFrame } from './frames';
import { Epoch, GroupName, type SendGroupReply } from './groups';

/** The largest blob (ciphertext bytes) a user may upload. */
export const MAX_BLOB_BYTES = 2 * 1024 * 1024 * 1024;
/** Every part but the last has exactly this size; a blob up to this size is one single PUT. */
export const BLOB_PART_BYTES = 8 * 1024 * 1024;
/** Parts of the largest blob. */
export const MAX_BLOB_PARTS = Math.ceil(MAX_BLOB_BYTES / BLOB_PART_BYTES);
/** At most this many part URLs per reply (and part numbers per `sign`), so a reply stays small. */
export const MAX_PART_URLS_PER_REPLY = 16;
/** Presigned PUT and GET URLs live this long; ask again (`upload` op `sign`, `download`) after. */
export const BLOB_URL_TTL_SECONDS = 15 * 60;
/** The only content type a part PUT may carry (it is signed into the URL). */
export const BLOB_CONTENT_TYPE = 'application/octet-stream';

export { BlobId };
export const PartNumber = z.number().int().min(1).max(MAX_BLOB_PARTS);
/** S3's ETag of an uploaded part, as its PUT answered it (quotes included or not). */
export const PartEtag = z.string().min(1).max(128);

export const UploadFrame = z.discriminatedUnion('op', [
  /** Starts a new blob of exactly `size` bytes; answers its id and the first part URLs. */
  BaseFrame.extend({
    action: z.literal('upload'),
    op: z.literal('start'),
    size: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
  }),
  /** Signs fresh URLs for some parts of my unfinished upload (the first ones expired, or the rest). */
  BaseFrame.extend({
    action: z.literal('upload'),
    op: z.literal('sign'),
    blobId: BlobId,
    parts: z.array(PartNumber).min(1).max(MAX_PART_URLS_PER_REPLY),
  }),
  /** Finishes my upload: every part's ETag in order (none for a single-PUT blob). */
  BaseFrame.extend({
    action: z.literal('upload'),
    op: z.literal('complete'),
    blobId: BlobId,
    parts: z
      .array(z.object({ partNumber: PartNumber, etag: PartEtag }))
      .max(MAX_BLOB_PARTS)
      .optional(),
  }),
]);
export type UploadFrame = z.infer<typeof UploadFrame>;

/** One presigned PUT: send exactly `size` bytes with `Content-Type: application/octet-stream`. */
export interface PartUrl {
  partNumber: number;
  size: number;
  url: string;
}

export interface UploadStartReply {
  blobId: string;
  size: number;
  partSize: number;
  partCount: number;
  /** False: one PUT of the whole blob (part 1) and no ETags at completion. */
  multipart: boolean;
  /** Parts 1..min(partCount, 16); ask for the rest with op `sign`. */
  urls: PartUrl[];
  /** When these URLs stop working (ms since epoch). */
  urlsExpireAt: number;
  /** After this (ms since epoch) the unfinished upload is gone: start a new one. */
  uploadExpiresAt: number;
}

export interface UploadSignReply {
  blobId: string;
  urls: PartUrl[];
  urlsExpireAt: number;
}

export interface UploadCompleteReply {
  blobId: string;
  size: number;
  /** True when the blob was already complete (a retry). */
  duplicate: boolean;
  /** The blob and its grants are deleted after this (ms since epoch). */
  expiresAt: number;
}

export const DownloadFrame = BaseFrame.extend({ action: z.literal('download'), blobId: BlobId });
export type DownloadFrame = z.infer<typeof DownloadFrame>;

export interface DownloadReply {
  blobId: string;
  size: number;
  /** A presigned GET, valid until `urlExpiresAt`; ask again after. */
  url: string;
  urlExpiresAt: number;
}

/** A file to one user: the 1:1 envelope carries blob id, file key, name, MIME, size and digest. */
export const SendFileFrame = BaseFrame.extend({
  action: z.literal('sendfile'),
  to: UserName,
  messageId: MessageId,
  blobId: BlobId,
  envelope: Envelope,
});
export type SendFileFrame = z.infer<typeof SendFileFrame>;

/** A file to a group: the group envelope for `epoch` carries what a 1:1 file envelope carries. */
export const SendGroupFileFrame = BaseFrame.extend({
  action: z.literal('sendgroupfile'),
  groupId: GroupName,
  epoch: Epoch,
  messageId: MessageId,
  blobId: BlobId,
  envelope: Envelope,
});
export type SendGroupFileFrame = z.infer<typeof SendGroupFileFrame>;

/** What `sendfile` answers: `send`'s reply and the blob it names. */
export interface SendFileReply extends SendReply {
  blobId: string;
}
/** What `sendgroupfile` answers: `sendgroup`'s reply and the blob it names. */
export interface SendGroupFileReply extends SendGroupReply {
  blobId: string;
}

/** The part layout of a blob of `size` bytes: parts of BLOB_PART_BYTES, the last one shorter. */
export function planParts(size: number): {
  partSize: number;
  partCount: number;
  multipart: boolean;
} {
  const partCount = Math.max(1, Math.ceil(size / BLOB_PART_BYTES));
  return { partSize: Math.min(size, BLOB_PART_BYTES), partCount, multipart: partCount > 1 };
}

/** The exact byte count of part `partNumber` (1-based) of a blob of `size` bytes. */
export function partLength(size: number, partNumber: number): number {
  const { partCount } = planParts(size);
  return partNumber < partCount ? BLOB_PART_BYTES : size - (partCount - 1) * BLOB_PART_BYTES;
}
