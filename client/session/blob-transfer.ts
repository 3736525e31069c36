/**
 * Files through the blob store (docs/server.md, Blobs): encrypt and upload, download and decrypt,
 * streamed, so a file never sits whole in memory (at most a part of 8 MiB being uploaded while the
 * next is filled, and a few 1 MiB chunks in the cipher).
 *
 * Upload: the exact ciphertext length is known from the size (encryptedFileLength), so `upload
 * {op:'start'}` comes first and gives the blob id the chunk keys bind; the chunks are encrypted
 * (in the worker pool) and gathered into the server's parts, each PUT to its presigned URL with
 * its exact length. URLs are asked for 16 at a time and again when they are about to expire or S3
 * refuses one (403: expired); a part whose PUT fails otherwise is retried. One part is uploaded
 * while the next is encrypted. `complete` names every part's ETag.
 *
 * Download: `download` signs a GET; the body is decrypted chunk by chunk (each MAC checked before
 * its chunk is decrypted, the digest at the end) into a FileWriter, which makes the file visible
 * only after everything checked out. A body that breaks off is resumed with a Range request on a
 * freshly signed URL.
 */
import {
  BLOB_CONTENT_TYPE,
  MAX_PART_URLS_PER_REPLY,
  partLength,
  planParts,
  type PartUrl,
  type UploadCompleteReply,
  type UploadSignReply,
  type UploadStartReply,
} from '../../protocol/blobs';
import type { FileDescriptor } from '../crypto/envelope-payloads';
import { type ChunkCipher } from '../crypto/file-cipher';
import {
  MAX_CHUNK_SIZE,
  createFileDigest,
  decryptFileStream,
  encryptFileStream,
  encryptedChunkLength,
  newFileKey,
} from '../crypto/file';
import { toAsyncIterable } from '../crypto/file-plumbing';
import { CipherlineError, asCipherlineError } from './errors';
import type { BlobHttp, Clock, FileSource, FileWriter } from './ports';
import type { CallServer } from './rpc';

export type TransferStage = 'encrypt' | 'upload' | 'download' | 'decrypt';

export interface TransferProgress {
  readonly stage: TransferStage;
  /** Bytes done in this stage: plaintext for encrypt/decrypt, ciphertext for upload/download. */
  readonly done: number;
  readonly total: number;
}

export interface TransferDeps {
  readonly call: CallServer<'upload' | 'download'>;
  readonly http: BlobHttp;
  readonly cipher: () => ChunkCipher;
  readonly clock: Clock;
}

/** What uploading needs (no cipher: uploadSealedBytes takes bytes already sealed). */
export interface UploadDeps {
  readonly call: CallServer<'upload'>;
  readonly http: BlobHttp;
  readonly clock: Clock;
}

/** Re-sign a URL that expires within this margin rather than start a PUT it may not finish. */
const URL_MARGIN_MS = 60_000;
const PART_ATTEMPTS = 4;
const DOWNLOAD_ATTEMPTS = 4;

/** The blob size of a file of `size` bytes: chunks of 1 MiB, the last one shorter (or empty). */
export function encryptedFileLength(size: number, chunkSize = MAX_CHUNK_SIZE): number {
  const fullChunks = Math.floor(size / chunkSize);
  const rest = size - fullChunks * chunkSize;
  if (rest === 0 && fullChunks > 0) return fullChunks * encryptedChunkLength(chunkSize);
  return fullChunks * encryptedChunkLength(chunkSize) + encryptedChunkLength(rest);
}

/** Encrypts and uploads `source`; resolves with what the envelope must carry. */
export async function uploadFile(
  deps: TransferDeps,
  source: FileSource,
  onProgress: (progress: TransferProgress) => void = () => undefined,
): Promise<FileDescriptor> {
  const blobSize = encryptedFileLength(source.size);
  const start = await deps.call<'upload', UploadStartReply>('upload', {
    op: 'start',
    size: blobSize,
  });
  const { blobId, partCount, multipart } = start;
  const urls = new PartUrls(deps, blobId, partCount, start.urls, start.urlsExpireAt);
  const fileKey = newFileKey();
  const digest = await createFileDigest();
  const chunks = encryptFileStream(source.open(), {
    fileKey,
    blobId,
    cipher: deps.cipher(),
    plaintextDigest: digest,
    totalBytes: source.size,
    onProgress: (done) => onProgress({ stage: 'encrypt', done, total: source.size }),
  });
  const etags: { partNumber: number; etag: string }[] = [];
  let uploaded = 0;
  const upload = async (partNumber: number, bytes: Uint8Array) => {
    etags.push({ partNumber, etag: await putPart(deps, urls, partNumber, bytes) });
    uploaded += bytes.length;
    onProgress({ stage: 'upload', done: uploaded, total: blobSize });
  };
  // One part uploads while the next one is encrypted; never more than that in memory.
  let uploading: Promise<void> | undefined;
  try {
    for await (const part of gatherParts(chunks, blobSize)) {
      await uploading;
      uploading = upload(part.partNumber, part.bytes);
      uploading.catch(() => undefined); // awaited above or below; not unhandled meanwhile
    }
    await uploading;
  } catch (error) {
    await chunks.return(undefined).catch(() => undefined);
    throw asCipherlineError(error);
  }
  await deps.call<'upload', UploadCompleteReply>(
    'upload',
    { op: 'complete', blobId, ...(multipart && { parts: etags }) },
    { retry: true },
  );
  return {
    blobId,
    fileKey,
    name: source.name,
    mimeType: source.mimeType || 'application/octet-stream',
    size: source.size,
    digest: digest.digest(),
  };
}

/** Uploads bytes already in memory and already sealed (a key backup) as one blob; resolves with its id. */
export async function uploadSealedBytes(
  deps: UploadDeps,
  bytes: Uint8Array,
  what: string,
): Promise<string> {
  const start = await deps.call<'upload', UploadStartReply>('upload', {
    op: 'start',
    size: bytes.length,
  });
  const { blobId, partCount, multipart } = start;
  const urls = new PartUrls(deps, blobId, partCount, start.urls, start.urlsExpireAt);
  const etags: { partNumber: number; etag: string }[] = [];
  for (let partNumber = 1, from = 0; partNumber <= partCount; partNumber++) {
    const part = bytes.subarray(from, from + partLength(bytes.length, partNumber));
    from += part.length;
    etags.push({ partNumber, etag: await putPart(deps, urls, partNumber, part, what) });
  }
  await deps.call<'upload', UploadCompleteReply>(
    'upload',
    { op: 'complete', blobId, ...(multipart && { parts: etags }) },
    { retry: true },
  );
  return blobId;
}

/** Cuts the encrypted chunks into the server's parts (8 MiB, the last one shorter). */
async function* gatherParts(
  chunks: AsyncIterable<Uint8Array>,
  blobSize: number,
): AsyncGenerator<{ partNumber: number; bytes: Uint8Array }> {
  const { partCount } = planParts(blobSize);
  const wrongSize = () =>
    new CipherlineError('PROTOCOL', 'the encrypted file is not the size it was announced with');
  let partNumber = 1;
  let part = new Uint8Array(partLength(blobSize, partNumber));
  let filled = 0;
  for await (const chunk of chunks) {
    let offset = 0;
    while (offset < chunk.length) {
      if (partNumber > partCount) throw wrongSize();
      const take = Math.min(chunk.length - offset, part.length - filled);
      part.set(chunk.subarray(offset, offset + take), filled);
      filled += take;
      offset += take;
      if (filled < part.length) continue;
      yield { partNumber, bytes: part };
      partNumber++;
      filled = 0;
      if (partNumber <= partCount) part = new Uint8Array(partLength(blobSize, partNumber));
    }
  }
  if (partNumber !== partCount + 1) throw wrongSize();
}

/** The presigned PUT URLs of one upload, asked for 16 at a time and re-signed when stale. */
class PartUrls {
  readonly #urls = new Map<number, PartUrl & { expiresAt: number }>();

  constructor(
    private readonly deps: UploadDeps,
    private readonly blobId: string,
    private readonly partCount: number,
    first: readonly PartUrl[],
    expiresAt: number,
  ) {
    this.#remember(first, expiresAt);
  }

  async url(partNumber: number, forceFresh = false): Promise<string> {
    const known = this.#urls.get(partNumber);
    if (!forceFresh && known && known.expiresAt - URL_MARGIN_MS > this.deps.clock.now())
      return known.url;
    const parts: number[] = [];
    for (let n = partNumber; n <= this.partCount && parts.length < MAX_PART_URLS_PER_REPLY; n++)
      parts.push(n);
    const reply = await this.deps.call<'upload', UploadSignReply>(
      'upload',
      { op: 'sign', blobId: this.blobId, parts },
      { retry: true },
    );
    this.#remember(reply.urls, reply.urlsExpireAt);
    const fresh = this.#urls.get(partNumber);
    if (!fresh) throw new CipherlineError('PROTOCOL', `no URL signed for part ${partNumber}`);
    return fresh.url;
  }

  #remember(urls: readonly PartUrl[], expiresAt: number): void {
    for (const url of urls) this.#urls.set(url.partNumber, { ...url, expiresAt });
  }
}

async function putPart(
  deps: UploadDeps,
  urls: PartUrls,
  partNumber: number,
  bytes: Uint8Array,
  what = 'the file',
): Promise<string> {
  let forceFresh = false;
  let lastProblem = '';
  for (let attempt = 1; attempt <= PART_ATTEMPTS; attempt++) {
    const url = await urls.url(partNumber, forceFresh);
    try {
      const result = await deps.http.put(url, bytes, BLOB_CONTENT_TYPE);
      if (result.status >= 200 && result.status < 300) return result.etag ?? '';
      lastProblem = `S3 answered ${result.status}`;
      // 403: the signature expired (or the role that signed it is gone): sign again.
      forceFresh = result.status === 403;
      if (result.status >= 400 && result.status < 500 && result.status !== 403) break;
    } catch (error) {
      lastProblem = error instanceof Error ? error.message : String(error);
    }
    await sleep(deps.clock, 500 * attempt);
  }
  throw new CipherlineError(
    'OFFLINE',
    `Uploading part ${partNumber} of ${what} failed (${lastProblem}); try again.`,
  );
}

/** Downloads and decrypts a received file into `writer`; commits it only when every check passed. */
export async function downloadFile(
  deps: TransferDeps,
  file: FileDescriptor,
  writer: FileWriter,
  onProgress: (progress: TransferProgress) => void = () => undefined,
): Promise<string> {
  try {
    const body = resumableBody(deps, file.blobId, onProgress);
    const plaintext = decryptFileStream(body, {
      fileKey: file.fileKey,
      blobId: file.blobId,
      expectedDigest: file.digest,
      cipher: deps.cipher(),
      totalBytes: file.size,
      onProgress: (done) => onProgress({ stage: 'decrypt', done, total: file.size }),
    });
    let written = 0;
    for await (const bytes of plaintext) {
      written += bytes.length;
      if (written > file.size)
        throw new CipherlineError('PROTOCOL', 'the file is larger than its envelope says');
      await writer.write(bytes);
    }
    if (written !== file.size)
      throw new CipherlineError('PROTOCOL', 'the file is smaller than its envelope says');
    return await writer.commit();
  } catch (error) {
    await writer.abort().catch(() => undefined);
    throw asCipherlineError(error);
  }
}

/** The blob's bytes; a body that breaks off continues from where it stopped (Range request). */
async function* resumableBody(
  deps: TransferDeps,
  blobId: string,
  onProgress: (progress: TransferProgress) => void,
): AsyncGenerator<Uint8Array> {
  let received = 0;
  let size = 0;
  let lastProblem = '';
  for (let attempt = 1; attempt <= DOWNLOAD_ATTEMPTS; attempt++) {
    const signed = await deps.call('download', { blobId }, { retry: true });
    size = signed.size;
    if (received >= size) return;
    try {
      const response = await deps.http.get(signed.url, received > 0 ? received : undefined);
      if (response.status !== 200 && response.status !== 206) {
        lastProblem = `S3 answered ${response.status}`;
        if (response.status === 404) break;
      } else {
        // A server that ignored the Range header sends everything again: skip what we have.
        let skip = response.status === 200 ? received : 0;
        for await (const whole of toAsyncIterable(response.body)) {
          const bytes = skip > 0 ? whole.subarray(Math.min(skip, whole.length)) : whole;
          skip -= whole.length - bytes.length;
          if (bytes.length === 0) continue;
          received += bytes.length;
          onProgress({ stage: 'download', done: received, total: size });
          yield bytes;
        }
        if (received >= size) return;
        lastProblem = 'the download ended early';
      }
    } catch (error) {
      if (error instanceof CipherlineError) throw error;
      lastProblem = error instanceof Error ? error.message : String(error);
    }
    await sleep(deps.clock, 500 * attempt);
  }
  throw new CipherlineError(
    'OFFLINE',
    `Downloading the file failed (${lastProblem}) after ${received} of ${size} bytes; it is tried again at the next start.`,
  );
}

export const sleep = (clock: Clock, ms: number) =>
  new Promise<void>((resolve) => clock.setTimer(ms, resolve));

/** HTTP through the platform's fetch (Node 20 and browsers alike). */
export const fetchBlobHttp: BlobHttp = {
  async put(url, body, contentType) {
    const response = await fetch(url, {
      method: 'PUT',
      body: body as Uint8Array<ArrayBuffer>,
      headers: { 'content-type': contentType },
    });
    await response.arrayBuffer().catch(() => undefined);
    const etag = response.headers.get('etag');
    return { status: response.status, ...(etag !== null && { etag }) };
  },
  async get(url, from) {
    const response = await fetch(url, from ? { headers: { range: `bytes=${from}-` } } : {});
    if (!response.ok || !response.body) {
      await response.arrayBuffer().catch(() => undefined);
      return { status: response.status, body: (async function* () {})() };
    }
    return { status: response.status, body: toAsyncIterable(response.body) };
  },
};
