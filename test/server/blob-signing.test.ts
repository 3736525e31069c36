/**
 * What the presigned blob URLs really bind. s3rver checks no signatures and no Content-Length,
 * so these tests recompute each SigV4 signature independently (test/support/sigv4.ts) and prove
 * that a part URL is only valid for its exact length and content type, and short-lived.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { BLOB_CONTENT_TYPE, BLOB_URL_TTL_SECONDS } from '../../protocol/blobs';
import { makeS3Client } from '../../lambdas/runtime/aws';
import { S3BlobObjectStore } from '../../lambdas/stores/blob-objects';
import { presignedParts, signatureMatches } from '../support/sigv4';

const SECRET = 'test-secret-key';

beforeAll(() => {
  Object.assign(process.env, {
    AWS_REGION: 'eu-west-1',
    AWS_ACCESS_KEY_ID: 'AKIDTEST',
    AWS_SECRET_ACCESS_KEY: SECRET,
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  });
});

/** The local client (s3rver endpoint, path style) and the one a Lambda builds in AWS (no endpoint). */
const stores = () =>
  [
    ['local', new S3BlobObjectStore(makeS3Client('http://127.0.0.1:4568'), 'cipherline-blobs')],
    ['aws', new S3BlobObjectStore(makeS3Client(''), 'cipherline-blobs')],
  ] as const;

const octets = (length: number) => ({
  'content-length': String(length),
  'content-type': BLOB_CONTENT_TYPE,
});

describe('presigned PUT URLs', () => {
  it.each(stores())(
    '%s: a single PUT URL signs its exact Content-Length and Content-Type, for 15 minutes',
    async (_name, store) => {
      const url = await store.signPut('blobs/abc', 123_456, BLOB_URL_TTL_SECONDS);
      const parts = presignedParts(url);
      expect(parts.signedHeaders).toEqual(['content-length', 'content-type', 'host']);
      expect(parts.expiresSeconds).toBe(900);
      expect(parts.credential).toMatch(/^AKIDTEST\/\d{8}\/eu-west-1\/s3\/aws4_request$/);

      expect(signatureMatches(url, 'PUT', octets(123_456), SECRET)).toBe(true);
      expect(signatureMatches(url, 'PUT', octets(123_457), SECRET)).toBe(false);
      expect(signatureMatches(url, 'PUT', octets(123_455), SECRET)).toBe(false);
      expect(
        signatureMatches(
          url,
          'PUT',
          { 'content-length': '123456', 'content-type': 'text/html' },
          SECRET,
        ),
      ).toBe(false);
      expect(signatureMatches(url, 'GET', octets(123_456), SECRET)).toBe(false);
    },
  );

  it.each(stores())(
    '%s: a part URL names its upload and part and signs its exact length and application/octet-stream',
    async (_name, store) => {
      const length = 8 * 1024 * 1024;
      const url = await store.signPut('blobs/abc', length, BLOB_URL_TTL_SECONDS, {
        uploadId: 'upload-1',
        partNumber: 2,
      });
      const query = new URL(url).searchParams;
      expect(query.get('partNumber')).toBe('2');
      expect(query.get('uploadId')).toBe('upload-1');
      expect(presignedParts(url).signedHeaders).toContain('content-length');
      expect(signatureMatches(url, 'PUT', octets(length), SECRET)).toBe(true);
      expect(signatureMatches(url, 'PUT', octets(length + 1), SECRET)).toBe(false);
    },
  );

  it.each(stores())(
    '%s: carries no SDK checksum of an empty body (S3 would refuse the real upload)',
    async (_name, store) => {
      const url = await store.signPut('blobs/abc', 10, BLOB_URL_TTL_SECONDS);
      expect([...new URL(url).searchParams.keys()].filter((k) => /checksum/i.test(k))).toEqual([]);
    },
  );
});

describe('presigned GET URLs', () => {
  it.each(stores())('%s: live 15 minutes and sign only the host', async (_name, store) => {
    const url = await store.signGet('blobs/abc', BLOB_URL_TTL_SECONDS);
    expect(presignedParts(url)).toMatchObject({ signedHeaders: ['host'], expiresSeconds: 900 });
    expect(signatureMatches(url, 'GET', {}, SECRET)).toBe(true);
    expect(signatureMatches(url, 'PUT', {}, SECRET)).toBe(false);
  });
});
