/**
 * The blob ports: the record of each blob and who may read it (DynamoDB, `blobs` table), and the
 * object store that holds its ciphertext and signs URLs for it (S3). Cores depend on these only.
 */

export type BlobState = 'uploading' | 'completed';

export interface BlobRecord {
  readonly blobId: string;
  /** The uploader: the only user who may sign part URLs, complete, or send the blob. */
  readonly owner: string;
  readonly size: number;
  readonly partSize: number;
  readonly partCount: number;
  /** S3's multipart upload id; absent for a single-PUT blob. */
  readonly uploadId?: string;
  readonly state: BlobState;
  readonly createdAt: number;
  readonly completedAt?: number;
  /** The record, its grants and (by the bucket's lifecycle rule) its bytes are gone after this. */
  readonly expiresAt: number;
}

export interface BlobGrant {
  readonly grantedBy: string;
  /** The file message that granted it. */
  readonly messageId: string;
  /** A grant never outlives its blob. */
  readonly expiresAt: number;
}

export interface BlobStore {
  /** Records a new blob; its id is random, so a clash is a bug (throws). */
  create(blob: BlobRecord): Promise<void>;
  /** The live record, or undefined when unknown or expired. */
  get(blobId: string, now: number): Promise<BlobRecord | undefined>;
  /** uploading → completed; false when it was not uploading (already completed or gone). */
  markCompleted(blobId: string, completedAt: number): Promise<boolean>;
  /** Forgets an upload whose bytes turned out wrong. */
  remove(blobId: string): Promise<void>;
  /** Lets these users read the blob (idempotent; batched for groups). */
  grant(blobId: string, userIds: readonly string[], grant: BlobGrant): Promise<void>;
  hasGrant(blobId: string, userId: string, now: number): Promise<boolean>;
}

export interface CompletedPart {
  readonly partNumber: number;
  readonly etag: string;
}

export type CompleteResult =
  | { readonly ok: true }
  /** S3 refused the part list (a wrong ETag, a part missing, a part too small). */
  | {
      readonly ok: false;
      readonly reason: 'invalid-parts' | 'no-such-upload';
      readonly detail: string;
    };

export interface BlobObjectStore {
  /** Starts a multipart upload for the key; returns its upload id. */
  startMultipart(key: string): Promise<string>;
  /**
   * A presigned PUT of exactly `contentLength` bytes of `application/octet-stream` (both signed),
   * for a part of a multipart upload or, without `uploadId`, for the whole object.
   */
  signPut(
    key: string,
    contentLength: number,
    expiresInSeconds: number,
    part?: { uploadId: string; partNumber: number },
  ): Promise<string>;
  completeMultipart(
    key: string,
    uploadId: string,
    parts: readonly CompletedPart[],
  ): Promise<CompleteResult>;
  /** The stored object's size, or undefined when there is none. */
  head(key: string): Promise<{ size: number } | undefined>;
  remove(key: string): Promise<void>;
  signGet(key: string, expiresInSeconds: number): Promise<string>;
  /** The whole object (small ones only: a key backup), or undefined when there is none. */
  read(key: string): Promise<Uint8Array | undefined>;
  /** Writes a whole object (a key backup the server keeps). */
  write(key: string, bytes: Uint8Array): Promise<void>;
}

/** Where a blob's bytes live in the bucket (expired by the bucket's lifecycle rule). */
export const blobKey = (blobId: string): string => `blobs/${blobId}`;
/**
 * Where a kept key backup lives: outside `blobs/`, so no lifecycle rule expires it; the server
 * deletes it when a newer backup replaces it (lambdas/core/backup-blobs.ts).
 */
export const keptBackupKey = (blobId: string): string => `backups/${blobId}`;
