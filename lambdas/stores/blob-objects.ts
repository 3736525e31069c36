/**
 * The blob bucket on S3: multipart uploads, HEAD, and presigned URLs. A PUT URL signs its exact
 * Content-Length and Content-Type (`signableHeaders`), so S3 refuses a body of another size or
 * type; the SDK's flexible checksums stay off (`WHEN_REQUIRED`), so nothing else is signed that
 * a browser could not send.
 */
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { BLOB_CONTENT_TYPE } from '../../protocol/blobs';
import { RETENTION_DAYS } from '../../protocol/limits';

/** The blob bucket: its variable, its lifecycle and the CORS rule browsers need. */
export const BLOB_BUCKET = {
  envVar: 'BLOB_BUCKET',
  /** Blobs (the keys under this prefix) and stale multipart uploads are removed after these many days. */
  expireAfterDays: RETENTION_DAYS,
  expiringPrefix: 'blobs/',
  abortIncompleteMultipartAfterDays: 1,
  /** Browsers PUT parts and GET blobs with presigned URLs. */
  cors: {
    allowedMethods: ['GET', 'PUT', 'HEAD'] as const,
    allowedHeaders: ['*'],
    exposedHeaders: ['ETag'],
    maxAgeSeconds: 3000,
  },
} as const;

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
 * deletes it when a newer backup replaces it (lambdas/commands/keys.ts).
 */
export const keptBackupKey = (blobId: string): string => `backups/${blobId}`;

/** The headers every PUT URL signs besides `host`. */
export const SIGNED_PUT_HEADERS: ReadonlySet<string> = new Set(['content-length', 'content-type']);

const errorName = (error: unknown): string | undefined => (error as { name?: string } | null)?.name;
const statusOf = (error: unknown): number | undefined =>
  (error as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata?.httpStatusCode;

/** S3 compares ETags without their quotes; send them quoted, as S3 itself writes them. */
const quoted = (etag: string) => `"${etag.replace(/"/g, '')}"`;

export class S3BlobObjectStore implements BlobObjectStore {
  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
    /** Signs the URLs browsers use; the same client unless they reach S3 elsewhere (lambdas/runtime/aws.ts). */
    private readonly signer: S3Client = s3,
  ) {}

  async startMultipart(key: string): Promise<string> {
    const { UploadId } = await this.s3.send(
      new CreateMultipartUploadCommand({
        Bucket: this.bucket,
        Key: key,
        ContentType: BLOB_CONTENT_TYPE,
      }),
    );
    if (!UploadId) throw new Error('S3 answered CreateMultipartUpload without an UploadId');
    return UploadId;
  }

  signPut(
    key: string,
    contentLength: number,
    expiresInSeconds: number,
    part?: { uploadId: string; partNumber: number },
  ): Promise<string> {
    const options = { expiresIn: expiresInSeconds, signableHeaders: new Set(SIGNED_PUT_HEADERS) };
    // UploadPart has no ContentType input; the SDK's serializer sets application/octet-stream for
    // its blob body, and signableHeaders signs it (test/server/blob-signing.test.ts checks both).
    if (part)
      return getSignedUrl(
        this.signer,
        new UploadPartCommand({
          Bucket: this.bucket,
          Key: key,
          UploadId: part.uploadId,
          PartNumber: part.partNumber,
          ContentLength: contentLength,
        }),
        options,
      );
    return getSignedUrl(
      this.signer,
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: key,
        ContentLength: contentLength,
        ContentType: BLOB_CONTENT_TYPE,
      }),
      options,
    );
  }

  async completeMultipart(
    key: string,
    uploadId: string,
    parts: readonly CompletedPart[],
  ): Promise<CompleteResult> {
    try {
      await this.s3.send(
        new CompleteMultipartUploadCommand({
          Bucket: this.bucket,
          Key: key,
          UploadId: uploadId,
          MultipartUpload: {
            Parts: parts.map((p) => ({ PartNumber: p.partNumber, ETag: quoted(p.etag) })),
          },
        }),
      );
      return { ok: true };
    } catch (error) {
      const name = errorName(error);
      if (name === 'NoSuchUpload')
        return { ok: false, reason: 'no-such-upload', detail: 'the upload is gone' };
      if (name === 'InvalidPart' || name === 'InvalidPartOrder' || name === 'EntityTooSmall')
        return {
          ok: false,
          reason: 'invalid-parts',
          detail: name === 'InvalidPart' ? 'a part is missing or its ETag differs' : name,
        };
      throw error;
    }
  }

  async head(key: string): Promise<{ size: number } | undefined> {
    try {
      const { ContentLength } = await this.s3.send(
        new HeadObjectCommand({ Bucket: this.bucket, Key: key }),
      );
      return { size: ContentLength ?? 0 };
    } catch (error) {
      if (errorName(error) === 'NotFound' || statusOf(error) === 404) return undefined;
      throw error;
    }
  }

  async remove(key: string): Promise<void> {
    await this.s3.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
  }

  async read(key: string): Promise<Uint8Array | undefined> {
    try {
      const { Body } = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      return Body ? await Body.transformToByteArray() : new Uint8Array(0);
    } catch (error) {
      if (errorName(error) === 'NoSuchKey' || statusOf(error) === 404) return undefined;
      throw error;
    }
  }

  async write(key: string, bytes: Uint8Array): Promise<void> {
    await this.s3.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: key,
        Body: bytes,
        ContentLength: bytes.length,
        ContentType: BLOB_CONTENT_TYPE,
      }),
    );
  }

  signGet(key: string, expiresInSeconds: number): Promise<string> {
    return getSignedUrl(this.signer, new GetObjectCommand({ Bucket: this.bucket, Key: key }), {
      expiresIn: expiresInSeconds,
    });
  }
}
