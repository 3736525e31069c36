import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import {
  type ChunkCipher,
  createFileDigest,
  decryptFileStream,
  encryptedChunkLength,
  encryptFileStream,
  newBlobId,
  newFileKey,
  toReadableStream,
} from '../../client/crypto/file';
import { inThreadChunkCipher } from '../../client/crypto/file-cipher';
import { CHUNK_HEADER_BYTES } from '../../client/crypto/file-format';
import { randomBytes } from '../../client/crypto/primitives';
import { createNodeWorkerChunkCipher } from '../../client/node/file-worker-pool';
import { type ChromiumSession, launchChromium } from '../../tools/chromium';
import type { FileBrowserInput, FileBrowserOutput } from '../browser/entries/file.entry';
import { type Bytes, bytesEqual, concatBytes } from '../../protocol/bytes';
import { rejectsWith } from '../support/crypto-errors';

/** Small chunks keep the tests fast; the format is the same at 1 MiB. */
const C = 64;

async function* pieces(bytes: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}

async function collect(stream: AsyncIterable<Bytes>): Promise<Bytes[]> {
  const out: Bytes[] = [];
  for await (const part of stream) out.push(part);
  return out;
}

interface Encrypted {
  fileKey: Bytes;
  blobId: string;
  chunks: Bytes[];
  blob: Bytes;
}

async function encrypt(
  plaintext: Uint8Array,
  options: {
    chunkSize?: number;
    cipher?: ChunkCipher;
    concurrency?: number;
    fileKey?: Bytes;
    blobId?: string;
  } = {},
): Promise<Encrypted> {
  const fileKey = options.fileKey ?? newFileKey();
  const blobId = options.blobId ?? newBlobId();
  const chunks = await collect(
    encryptFileStream(pieces(plaintext, 1000), {
      fileKey,
      blobId,
      chunkSize: 'chunkSize' in options ? options.chunkSize : C,
      cipher: options.cipher,
      concurrency: options.concurrency,
    }),
  );
  return { fileKey, blobId, chunks, blob: concatBytes(...chunks) };
}

async function decrypt(
  blob: Uint8Array,
  { fileKey, blobId }: { fileKey: Uint8Array; blobId: string },
  extra: { pieceSize?: number; cipher?: ChunkCipher; expectedDigest?: Uint8Array } = {},
): Promise<Bytes> {
  const { pieceSize = 37, ...rest } = extra;
  return concatBytes(
    ...(await collect(decryptFileStream(pieces(blob, pieceSize), { fileKey, blobId, ...rest }))),
  );
}

describe('round trips', () => {
  const sizes = [0, 1, C - 1, C, C + 1, 3 * C, 5 * C + 17];
  for (const size of sizes) {
    it(`${size} bytes in chunks of ${C}`, async () => {
      const plaintext = randomBytes(size);
      const file = await encrypt(plaintext);
      expect(file.chunks.length).toBe(Math.max(1, Math.ceil(size / C)));
      const lengths = file.chunks.map((_, i) => encryptedChunkLength(Math.min(C, size - i * C)));
      expect(file.chunks.map((c) => c.length)).toEqual(lengths);
      expect(await decrypt(file.blob, file)).toEqual(plaintext);
      // The splitter does not depend on how the blob arrives.
      expect(await decrypt(file.blob, file, { pieceSize: 1 })).toEqual(plaintext);
      expect(await decrypt(file.blob, file, { pieceSize: file.blob.length + 1 })).toEqual(
        plaintext,
      );
    });
  }

  it('default 1 MiB chunks: chunk−1, chunk, chunk+1 bytes', async () => {
    const MiB = 1024 * 1024;
    for (const size of [MiB - 1, MiB, MiB + 1]) {
      const plaintext = randomBytes(size);
      const file = await encrypt(plaintext, { chunkSize: undefined });
      expect(file.chunks.length).toBe(size > MiB ? 2 : 1);
      expect(bytesEqual(await decrypt(file.blob, file, { pieceSize: 65536 }), plaintext)).toBe(
        true,
      );
    }
  });

  it('ReadableStream in, ReadableStream out', async () => {
    const plaintext = randomBytes(4 * C + 3);
    const fileKey = newFileKey();
    const blobId = newBlobId();
    const source = toReadableStream(pieces(plaintext, 50) as AsyncIterable<Bytes>);
    const encrypted = toReadableStream(
      encryptFileStream(source, { fileKey, blobId, chunkSize: C }),
    );
    const plain = await collect(decryptFileStream(encrypted, { fileKey, blobId }));
    expect(concatBytes(...plain)).toEqual(plaintext);
  });

  it('stops reading the source when the consumer stops', async () => {
    let cancelled = false;
    let pulls = 0;
    const source = new ReadableStream<Uint8Array>({
      pull: (controller) => {
        pulls++;
        controller.enqueue(randomBytes(C));
      },
      cancel: () => {
        cancelled = true;
      },
    });
    for await (const chunk of encryptFileStream(source, {
      fileKey: newFileKey(),
      blobId: newBlobId(),
      chunkSize: C,
    })) {
      expect(chunk.length).toBe(encryptedChunkLength(C));
      break;
    }
    expect(cancelled).toBe(true);
    expect(pulls).toBeLessThan(10);
  });

  it('rejects bad keys, blob ids and chunk sizes', async () => {
    const run = (options: Parameters<typeof encryptFileStream>[1]) =>
      collect(encryptFileStream(pieces(randomBytes(10), 10), options));
    await rejectsWith(run({ fileKey: randomBytes(16), blobId: 'b' }), 'BAD_KEY');
    await rejectsWith(run({ fileKey: newFileKey(), blobId: '' }), 'BAD_INPUT');
    await rejectsWith(run({ fileKey: newFileKey(), blobId: 'b', chunkSize: 0 }), 'BAD_INPUT');
    await rejectsWith(
      run({ fileKey: newFileKey(), blobId: 'b', chunkSize: 1024 * 1024 + 1 }),
      'BAD_INPUT',
    );
    await rejectsWith(run({ fileKey: newFileKey(), blobId: 'b', concurrency: 0 }), 'BAD_INPUT');
  });
});

describe('progress and digest', () => {
  it('progress reaches the total in both directions', async () => {
    const plaintext = randomBytes(3 * C + 10);
    const fileKey = newFileKey();
    const blobId = newBlobId();
    const seen: [number, number | undefined][] = [];
    const blob = concatBytes(
      ...(await collect(
        encryptFileStream(pieces(plaintext, 30), {
          fileKey,
          blobId,
          chunkSize: C,
          totalBytes: plaintext.length,
          onProgress: (done, total) => seen.push([done, total]),
        }),
      )),
    );
    const total = plaintext.length;
    expect(seen).toEqual([
      [C, total],
      [2 * C, total],
      [3 * C, total],
      [total, total],
    ]);
    const back: number[] = [];
    await collect(
      decryptFileStream(pieces(blob, 100), { fileKey, blobId, onProgress: (d) => back.push(d) }),
    );
    expect(back).toEqual([C, 2 * C, 3 * C, total]);
  });

  it('an empty file reports progress 0 of 0', async () => {
    const seen: [number, number | undefined][] = [];
    await collect(
      encryptFileStream(pieces(new Uint8Array(0), 1), {
        fileKey: newFileKey(),
        blobId: newBlobId(),
        totalBytes: 0,
        onProgress: (done, total) => seen.push([done, total]),
      }),
    );
    expect(seen).toEqual([[0, 0]]);
  });

  it('the plaintext digest is SHA-256 and is checked on decryption', async () => {
    const plaintext = randomBytes(2 * C + 1);
    const digest = await createFileDigest();
    const fileKey = newFileKey();
    const blobId = newBlobId();
    const blob = concatBytes(
      ...(await collect(
        encryptFileStream(pieces(plaintext, 7), {
          fileKey,
          blobId,
          chunkSize: C,
          plaintextDigest: digest,
        }),
      )),
    );
    const expected = new Uint8Array(await crypto.subtle.digest('SHA-256', plaintext));
    const sum = digest.digest();
    expect(sum).toEqual(expected);
    expect(await decrypt(blob, { fileKey, blobId }, { expectedDigest: sum })).toEqual(plaintext);
    const wrong = sum.slice();
    wrong[0]! ^= 1;
    await rejectsWith(decrypt(blob, { fileKey, blobId }, { expectedDigest: wrong }), 'BAD_DIGEST');
  });
});

describe('fresh keys', () => {
  it('every file gets a new key, so the same file twice gives different blobs', async () => {
    expect(bytesEqual(newFileKey(), newFileKey())).toBe(false);
    expect(newBlobId()).toMatch(/^[0-9a-f]{32}$/);
    expect(newBlobId()).not.toBe(newBlobId());
    const plaintext = randomBytes(2 * C);
    const a = await encrypt(plaintext);
    const b = await encrypt(plaintext);
    expect(a.blob.length).toBe(b.blob.length);
    expect(
      bytesEqual(a.blob.subarray(CHUNK_HEADER_BYTES), b.blob.subarray(CHUNK_HEADER_BYTES)),
    ).toBe(false);
    // Even a reused key and blob id would not repeat a chunk: each has a random IV.
    const c = await encrypt(plaintext, { fileKey: a.fileKey, blobId: a.blobId });
    expect(bytesEqual(a.chunks[0]!, c.chunks[0]!)).toBe(false);
  });
});

describe('tampering is detected with a typed error', () => {
  // 4 chunks: 3 full ones and a last one of 5 bytes.
  const plaintext = randomBytes(3 * C + 5);
  let file: Encrypted;
  const get = async () => (file ??= await encrypt(plaintext));
  const from = (chunks: Uint8Array[]) => concatBytes(...chunks);

  it('the untouched blob decrypts', async () => {
    const f = await get();
    expect(f.chunks.length).toBe(4);
    expect(await decrypt(f.blob, f)).toEqual(plaintext);
  });

  it('a dropped, reordered or repeated chunk: CHUNK_ORDER', async () => {
    const f = await get();
    const [c0, c1, c2, c3] = f.chunks as [Bytes, Bytes, Bytes, Bytes];
    await rejectsWith(decrypt(from([c1, c2, c3]), f), 'CHUNK_ORDER');
    await rejectsWith(decrypt(from([c0, c2, c3]), f), 'CHUNK_ORDER');
    await rejectsWith(decrypt(from([c0, c2, c1, c3]), f), 'CHUNK_ORDER');
    await rejectsWith(decrypt(from([c0, c1, c3, c2]), f), 'CHUNK_ORDER');
    await rejectsWith(decrypt(from([c0, c1, c1, c2, c3]), f), 'CHUNK_ORDER');
  });

  it('a blob that ends early: TRUNCATED', async () => {
    const f = await get();
    const [c0, c1, c2] = f.chunks as [Bytes, Bytes, Bytes];
    await rejectsWith(decrypt(from([c0, c1, c2]), f), 'TRUNCATED');
    await rejectsWith(decrypt(from([c0]), f), 'TRUNCATED');
    await rejectsWith(decrypt(new Uint8Array(0), f), 'TRUNCATED');
    // Cut inside the last chunk, inside its MAC, inside its header.
    await rejectsWith(decrypt(f.blob.subarray(0, f.blob.length - 40), f), 'TRUNCATED');
    await rejectsWith(decrypt(f.blob.subarray(0, f.blob.length - 1), f), 'TRUNCATED');
    const lastStart = f.blob.length - f.chunks[3]!.length;
    await rejectsWith(decrypt(f.blob.subarray(0, lastStart + 5), f), 'TRUNCATED');
  });

  it('data after the last chunk: MALFORMED', async () => {
    const f = await get();
    await rejectsWith(decrypt(from([f.blob, new Uint8Array(1)]), f), 'MALFORMED');
    await rejectsWith(decrypt(from([f.blob, f.chunks[0]!]), f), 'MALFORMED');
    await rejectsWith(decrypt(from([f.blob, f.blob]), f), 'MALFORMED');
    await rejectsWith(decrypt(from([f.blob, randomBytes(100)]), f), 'MALFORMED');
  });

  it('any altered byte, at every position of the blob: BAD_MAC', async () => {
    const f = await get();
    for (const mask of [0x01, 0x80, 0xff]) {
      for (let i = 0; i < f.blob.length; i++) {
        const altered = f.blob.slice();
        altered[i]! ^= mask;
        await rejectsWith(decrypt(altered, f, { pieceSize: 1000 }), 'BAD_MAC');
      }
    }
  });

  it('a raised ciphertext length, in any chunk: BAD_MAC at once, not a wait for more bytes', async () => {
    const f = await get();
    let start = 0;
    for (const chunk of f.chunks) {
      const altered = f.blob.slice();
      const view = new DataView(altered.buffer, start);
      view.setUint32(10, view.getUint32(10) + 65536);
      await rejectsWith(decrypt(altered, f), 'BAD_MAC');
      start += chunk.length;
    }
  });

  it('a chunk of another blob id or another key: BAD_MAC', async () => {
    const f = await get();
    const sameKeyOtherId = await encrypt(plaintext, { fileKey: f.fileKey });
    const otherKeySameId = await encrypt(plaintext, { blobId: f.blobId });
    for (const other of [sameKeyOtherId, otherKeySameId]) {
      const spliced = [...f.chunks];
      spliced[1] = other.chunks[1]!;
      await rejectsWith(decrypt(from(spliced), f), 'BAD_MAC');
    }
    await rejectsWith(decrypt(f.blob, { fileKey: f.fileKey, blobId: newBlobId() }), 'BAD_MAC');
    await rejectsWith(decrypt(f.blob, { fileKey: newFileKey(), blobId: f.blobId }), 'BAD_MAC');
  });
});

describe('chunk ciphers and concurrency', () => {
  const pool = createNodeWorkerChunkCipher(2);
  afterAll(() => pool.close());

  it('the Node worker pool produces the same format as this thread, and each opens the other', async () => {
    const plaintext = randomBytes(9 * C + 3);
    const fileKey = newFileKey();
    const blobId = newBlobId();
    const inThread = await encrypt(plaintext, { fileKey, blobId });
    const pooled = await encrypt(plaintext, { fileKey, blobId, cipher: pool });
    // Byte-identical apart from the random IV and what depends on it (ciphertext, MAC).
    expect(pooled.chunks.map((c) => c.length)).toEqual(inThread.chunks.map((c) => c.length));
    pooled.chunks.forEach((chunk, i) =>
      expect(chunk.subarray(0, CHUNK_HEADER_BYTES)).toEqual(
        inThread.chunks[i]!.subarray(0, CHUNK_HEADER_BYTES),
      ),
    );
    expect(await decrypt(pooled.blob, pooled)).toEqual(plaintext);
    expect(await decrypt(inThread.blob, inThread, { cipher: pool })).toEqual(plaintext);
    expect(await decrypt(pooled.blob, pooled, { cipher: pool })).toEqual(plaintext);
  });

  it('errors keep their code across the worker boundary', async () => {
    const f = await encrypt(randomBytes(3 * C), { cipher: pool });
    const [c0, c1, c2] = f.chunks as [Bytes, Bytes, Bytes];
    await rejectsWith(decrypt(from3(c0, c2, c1), f, { cipher: pool }), 'CHUNK_ORDER');
    const altered = f.blob.slice();
    altered[CHUNK_HEADER_BYTES + 20]! ^= 1;
    await rejectsWith(decrypt(altered, f, { cipher: pool }), 'BAD_MAC');
    await rejectsWith(decrypt(from3(c0, c1, new Uint8Array(0)), f, { cipher: pool }), 'TRUNCATED');
  });

  it('an idle pool does not hold the process open, and code after close() still runs', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cipherline-pool-'));
    const url = (path: string) => JSON.stringify(new URL(path, import.meta.url).href);
    const script = join(dir, 'close.mts');
    writeFileSync(
      script,
      `import { createNodeWorkerChunkCipher } from ${url('../../client/node/file-worker-pool.ts')};
       import { encryptFileStream } from ${url('../../client/crypto/file.ts')};
       // Three times: the process used to end during close() in about half the runs.
       const counts = [];
       for (let round = 0; round < 3; round++) {
         const pool = createNodeWorkerChunkCipher(2);
         const source = (async function* () { yield new Uint8Array(100); })();
         const options = { fileKey: new Uint8Array(32), blobId: 'b', cipher: pool, chunkSize: 16 };
         let chunks = 0;
         for await (const _ of encryptFileStream(source, options)) chunks++;
         await pool.close();
         counts.push(chunks);
       }
       console.log('after close', counts.join(' '));`,
    );
    try {
      const run = spawnSync(process.execPath, ['--import', 'tsx', script], {
        cwd: fileURLToPath(new URL('../..', import.meta.url)),
        encoding: 'utf8',
        timeout: 20_000,
      });
      expect(run.stderr).toBe('');
      expect(run.stdout.trim()).toBe('after close 7 7 7');
      expect(run.status).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps order and never has more than `concurrency` chunks in flight', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    /** Finishes jobs in a scrambled order: later chunks often before earlier ones. */
    const slowAndScrambled: ChunkCipher = {
      parallelism: 2,
      async encryptChunk(job) {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await new Promise((r) => setTimeout(r, ((job.index * 7) % 5) * 3));
        inFlight--;
        return inThreadChunkCipher.encryptChunk(job);
      },
      decryptChunk: (job) => inThreadChunkCipher.decryptChunk(job),
      close: async () => {},
    };
    const plaintext = randomBytes(20 * C);
    const f = await encrypt(plaintext, { cipher: slowAndScrambled, concurrency: 3 });
    expect(maxInFlight).toBe(3);
    expect(await decrypt(f.blob, f)).toEqual(plaintext);
    // By default, twice the cipher's parallelism.
    maxInFlight = 0;
    const g = await encrypt(plaintext, { cipher: slowAndScrambled });
    expect(maxInFlight).toBe(4);
    expect(await decrypt(g.blob, g)).toEqual(plaintext);
  });
});

function from3(a: Uint8Array, b: Uint8Array, c: Uint8Array): Bytes {
  return concatBytes(a, b, c);
}

describe('in headless Chromium', () => {
  const ENTRY = 'test/browser/entries/file.entry.ts';
  let chromium: ChromiumSession | undefined;
  afterAll(() => chromium?.close());

  it('a page with a pool of Web Workers: same format both ways, tampering caught', async () => {
    chromium = await launchChromium();
    const input: FileBrowserInput = {
      workerUrl: await chromium.serve('client/crypto/file-worker.ts'),
      fileBytes: 200_000,
      chunkSize: 16 * 1024,
    };
    const out = await chromium.runInPage<FileBrowserOutput>(ENTRY, input);
    expect(out.roundTrips).toEqual([
      { encryptWith: 'thread', decryptWith: 'thread', ok: true },
      { encryptWith: 'thread', decryptWith: 'web workers', ok: true },
      { encryptWith: 'web workers', decryptWith: 'thread', ok: true },
      { encryptWith: 'web workers', decryptWith: 'web workers', ok: true },
    ]);
    expect(out.tamperCodes).toEqual({
      dropped: 'CHUNK_ORDER',
      altered: 'BAD_MAC',
      truncated: 'TRUNCATED',
    });
    expect(out.digestOk).toBe(true);
  });

  it('the streams also run inside a Web Worker', async () => {
    chromium ??= await launchChromium();
    const input: FileBrowserInput = { fileBytes: 50_000, chunkSize: 4096 };
    const out = await chromium.runInWorker<FileBrowserOutput>(ENTRY, input);
    expect(out.roundTrips).toEqual([{ encryptWith: 'thread', decryptWith: 'thread', ok: true }]);
    expect(out.tamperCodes).toEqual({
      dropped: 'CHUNK_ORDER',
      altered: 'BAD_MAC',
      truncated: 'TRUNCATED',
    });
    expect(out.digestOk).toBe(true);
  });
});
