/**
 * The session's file pipelines against the local stack's real blob routes and S3 (s3rver):
 * multipart upload, re-signed URLs, a resumed download, tampering refused, files written only
 * when they check out, progress per stage.
 */
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DownloadsFolder, fileSourceFromPath } from '../../client/node/files';
import {
  downloadFile,
  encryptedFileLength,
  fetchBlobHttp,
  uploadFile,
  type TransferDeps,
  type TransferProgress,
} from '../../client/session/blob-transfer';
import { inThreadChunkCipher } from '../../client/crypto/file';
import { encryptedChunkLength } from '../../client/crypto/file-format';
import { BLOB_PART_BYTES } from '../../protocol/blobs';
import { LOCAL_BUCKET_NAME } from '../../infra/local/names';
import type { BlobHttp } from '../../client/session/ports';
import { systemClock } from '../../client/session/ports';
import { startTestStack, tempDataDir } from '../../tools/local-stack';
import { signedUpConnection, type TestConnection } from '../support/session-connection';

let stack: Awaited<ReturnType<typeof startTestStack>>;
let alice: TestConnection;
const files = tempDataDir();
let s3: S3Client;

beforeAll(async () => {
  stack = await startTestStack();
  alice = await signedUpConnection(stack.endpoints.websocket, 'alice');
  s3 = new S3Client({
    endpoint: stack.endpoints.s3,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  });
});
afterAll(async () => {
  alice?.connection.stop();
  await stack?.stop();
  files.remove();
});

function deps(http: BlobHttp = fetchBlobHttp, clock = systemClock): TransferDeps {
  return {
    call: (action, fields, options) => alice.connection.call(action, fields, options),
    http,
    cipher: () => inThreadChunkCipher,
    clock,
  };
}

function writeRandomFile(name: string, size: number): { path: string; bytes: Buffer } {
  const bytes = randomBytes(size);
  const path = join(files.dir, name);
  writeFileSync(path, bytes);
  return { path, bytes };
}

function downloads(name: string): DownloadsFolder {
  return new DownloadsFolder(join(files.dir, name));
}

describe('blob transfer', () => {
  it('computes the blob size the encryption produces', () => {
    const MiB = 1024 * 1024;
    expect(encryptedFileLength(0)).toBe(encryptedChunkLength(0));
    expect(encryptedFileLength(MiB)).toBe(encryptedChunkLength(MiB));
    expect(encryptedFileLength(MiB + 1)).toBe(encryptedChunkLength(MiB) + encryptedChunkLength(1));
  });

  it('uploads a multipart file and downloads it byte for byte, with progress for every stage', async () => {
    const size = BLOB_PART_BYTES + 300_000; // two parts
    const { path, bytes } = writeRandomFile('big.bin', size);
    const progress: TransferProgress[] = [];
    const file = await uploadFile(deps(), await fileSourceFromPath(path), (p) => progress.push(p));
    expect(file).toMatchObject({ name: 'big.bin', mimeType: 'application/octet-stream', size });
    const folder = downloads('multipart');
    const saved = await downloadFile(
      deps(),
      file,
      await folder.create({ ...file, from: 'alice', messageId: 'm1' }),
      (p) => progress.push(p),
    );
    expect(saved).toBe(join(folder.folder, 'big.bin'));
    expect(readFileSync(saved).equals(bytes)).toBe(true);
    const last = (stage: string) => progress.filter((p) => p.stage === stage).at(-1);
    expect(last('encrypt')).toEqual({ stage: 'encrypt', done: size, total: size });
    expect(last('upload')).toEqual({
      stage: 'upload',
      done: encryptedFileLength(size),
      total: encryptedFileLength(size),
    });
    expect(last('download')?.done).toBe(encryptedFileLength(size));
    expect(last('decrypt')).toEqual({ stage: 'decrypt', done: size, total: size });
  });

  it('signs URLs again when S3 refuses an expired one, and before using one about to expire', async () => {
    const { path, bytes } = writeRandomFile('expiring.bin', BLOB_PART_BYTES + 10);
    const signs: unknown[] = [];
    const countingDeps = (http: BlobHttp, clock = systemClock): TransferDeps => ({
      ...deps(http, clock),
      call: (action, fields, options) => {
        if (action === 'upload' && fields.op === 'sign') signs.push(fields.parts);
        return alice.connection.call(action, fields, options);
      },
    });
    // S3 refuses the first PUT as expired (a URL signed 15 minutes ago).
    let refused = 0;
    const expiringOnce: BlobHttp = {
      put: (url, body, type) =>
        refused++ === 0 ? Promise.resolve({ status: 403 }) : fetchBlobHttp.put(url, body, type),
      get: fetchBlobHttp.get,
    };
    const first = await uploadFile(countingDeps(expiringOnce), await fileSourceFromPath(path));
    expect(signs).toEqual([[1, 2]]);
    // A clock 15 minutes ahead: every URL the server signs is about to expire, so each part
    // is signed again right before its PUT.
    signs.length = 0;
    const late = { ...systemClock, now: () => Date.now() + 15 * 60_000 };
    const second = await uploadFile(
      countingDeps(fetchBlobHttp, late),
      await fileSourceFromPath(path),
    );
    expect(signs).toEqual([[1, 2], [2]]);
    for (const file of [first, second]) {
      const saved = await downloadFile(
        deps(),
        file,
        await downloads(`expiring-${file.blobId}`).create({ ...file, from: 'a', messageId: 'm' }),
      );
      expect(readFileSync(saved).equals(bytes)).toBe(true);
    }
  });

  it('resumes a download that breaks off, from where it stopped', async () => {
    const { path, bytes } = writeRandomFile('resumed.bin', 3 * 1024 * 1024);
    const file = await uploadFile(deps(), await fileSourceFromPath(path));
    const ranges: (number | undefined)[] = [];
    const breaksOnce: BlobHttp = {
      put: fetchBlobHttp.put,
      get: async (url, from) => {
        ranges.push(from);
        const response = await fetchBlobHttp.get(url, from);
        if (ranges.length > 1) return response;
        return {
          status: response.status,
          body: (async function* () {
            let sent = 0;
            for await (const piece of response.body) {
              yield piece;
              sent += piece.length;
              if (sent > 1_000_000) throw new Error('connection reset');
            }
          })(),
        };
      },
    };
    const saved = await downloadFile(
      deps(breaksOnce),
      file,
      await downloads('resumed').create({ ...file, from: 'alice', messageId: 'm2' }),
    );
    expect(readFileSync(saved).equals(bytes)).toBe(true);
    expect(ranges).toHaveLength(2);
    expect(ranges[0]).toBeUndefined();
    expect(ranges[1]).toBeGreaterThan(1_000_000);
  });

  it('refuses a blob altered in S3 and leaves no file behind', async () => {
    const { path } = writeRandomFile('tampered.bin', 200_000);
    const file = await uploadFile(deps(), await fileSourceFromPath(path));
    const key = `blobs/${file.blobId}`;
    const object = await s3.send(new GetObjectCommand({ Bucket: LOCAL_BUCKET_NAME, Key: key }));
    const blob = Buffer.from(await object.Body!.transformToByteArray());
    blob[blob.length - 100]! ^= 1;
    await s3.send(new PutObjectCommand({ Bucket: LOCAL_BUCKET_NAME, Key: key, Body: blob }));
    const folder = downloads('tampered');
    await expect(
      downloadFile(deps(), file, await folder.create({ ...file, from: 'alice', messageId: 'm3' })),
    ).rejects.toMatchObject({ code: 'PROTOCOL', cryptoCode: 'BAD_MAC' });
    expect(readdirSync(folder.folder)).toEqual([]);
  });

  it('refuses a file whose envelope states another digest', async () => {
    const { path } = writeRandomFile('digest.bin', 10_000);
    const file = await uploadFile(deps(), await fileSourceFromPath(path));
    const folder = downloads('digest');
    const lying = { ...file, digest: new Uint8Array(32) };
    await expect(
      downloadFile(deps(), lying, await folder.create({ ...file, from: 'alice', messageId: 'm4' })),
    ).rejects.toMatchObject({ cryptoCode: 'BAD_DIGEST' });
    expect(readdirSync(folder.folder)).toEqual([]);
  });

  it('saves under a safe, unused name', async () => {
    const { path } = writeRandomFile('same.txt', 100);
    const file = await uploadFile(deps(), await fileSourceFromPath(path));
    const folder = downloads('names');
    const info = { ...file, name: '../../.hidden/evil\u0007.txt', from: 'a', messageId: 'm' };
    const first = await downloadFile(deps(), file, await folder.create(info));
    const second = await downloadFile(deps(), file, await folder.create(info));
    expect(readdirSync(folder.folder).sort()).toEqual(['evil (2).txt', 'evil.txt']);
    expect([first, second].every((p) => p.startsWith(folder.folder))).toBe(true);
  });
});
