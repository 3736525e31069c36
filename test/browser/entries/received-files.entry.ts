/**
 * The PWA's file adapters in the page (test/web/file-adapters.test.ts): a File as the session's
 * FileSource, the Web Worker chunk-cipher pool, and the OPFS FileSink (and its in-memory
 * fallback), through the real file encryption and decryption streams.
 */
import {
  createFileDigest,
  decryptFileStream,
  encryptFileStream,
  newBlobId,
  newFileKey,
} from '../../../client/crypto/file';
import type { FileSink } from '../../../client/session/ports';
import { createBrowserChunkCipher } from '../../../web/src/platform/chunk-cipher';
import { fileSourceFromBlob } from '../../../web/src/platform/file-source';
import {
  MemoryReceivedFiles,
  MissingFileError,
  OpfsReceivedFiles,
  type ReceivedFiles,
} from '../../../web/src/platform/received-files';

type Input =
  | { op: 'round-trip'; sink: 'opfs' | 'memory'; folder: string; bytes: number; workerUrl: string }
  | { op: 'abort'; folder: string }
  | { op: 'leave-partial'; folder: string }
  | { op: 'reopen'; folder: string }
  | { op: 'clear'; folder: string }
  | { op: 'list'; folder: string };

/** Every file name under the OPFS folder, as "sub/name" (empty if the folder does not exist). */
async function listFolder(folder: string): Promise<string[] | null> {
  const root = await navigator.storage.getDirectory();
  let top: FileSystemDirectoryHandle;
  try {
    top = await root.getDirectoryHandle(folder);
  } catch {
    return null;
  }
  const names: string[] = [];
  const entries = (handle: FileSystemDirectoryHandle) =>
    (handle as unknown as { entries(): AsyncIterable<[string, FileSystemHandle]> }).entries();
  for await (const [name, handle] of entries(top)) {
    if (handle.kind === 'file') names.push(name);
    else
      for await (const [inner] of entries(handle as FileSystemDirectoryHandle))
        names.push(`${name}/${inner}`);
  }
  return names.sort();
}

function randomBytes(n: number): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(n);
  for (let i = 0; i < n; i += 65536) crypto.getRandomValues(bytes.subarray(i, i + 65536));
  return bytes;
}

const INFO = { name: 'clip.mp4', size: 0, mimeType: 'video/mp4', from: 'bob', messageId: 'm-1' };

async function roundTrip(input: Extract<Input, { op: 'round-trip' }>) {
  const original = randomBytes(input.bytes);
  const source = fileSourceFromBlob(new File([original], 'clip.mp4', { type: 'video/mp4' }));
  const pieceSizes: number[] = [];
  const reader = (source.open() as ReadableStream<Uint8Array>).getReader();
  for (let piece = await reader.read(); !piece.done; piece = await reader.read())
    pieceSizes.push(piece.value.length);

  const cipher = createBrowserChunkCipher(() => new Worker(input.workerUrl, { type: 'module' }), 2);
  const sink: ReceivedFiles =
    input.sink === 'opfs' ? await OpfsReceivedFiles.open(input.folder) : new MemoryReceivedFiles();
  try {
    const fileKey = newFileKey();
    const blobId = newBlobId();
    const digest = await createFileDigest();
    const ciphertext: Uint8Array[] = [];
    for await (const chunk of encryptFileStream(source.open(), {
      fileKey,
      blobId,
      cipher,
      plaintextDigest: digest,
    }))
      ciphertext.push(chunk);
    const writer = await (sink as FileSink).create({ ...INFO, size: source.size });
    for await (const plain of decryptFileStream(
      (async function* () {
        yield* ciphertext;
      })(),
      { fileKey, blobId, cipher, expectedDigest: digest.digest() },
    ))
      await writer.write(plain);
    const before = await listFolder(input.folder);
    const location = await writer.commit();
    const after = await listFolder(input.folder);
    const file = await sink.file(location, { name: 'clip.mp4', mimeType: 'video/mp4' });
    const back = new Uint8Array(await file.arrayBuffer());
    const same = back.length === original.length && back.every((b, i) => b === original[i]);
    const url = URL.createObjectURL(file);
    const fetched = (await (await fetch(url)).arrayBuffer()).byteLength;
    URL.revokeObjectURL(url);
    await sink.remove(location);
    let afterRemove: string;
    try {
      await sink.file(location, { name: 'x', mimeType: 'x' });
      afterRemove = 'still there';
    } catch (error) {
      afterRemove = error instanceof MissingFileError ? 'missing' : String(error);
    }
    return {
      source: { name: source.name, size: source.size, mimeType: source.mimeType },
      largestPiece: Math.max(...pieceSizes),
      pieces: pieceSizes.length,
      parallelism: cipher.parallelism,
      location,
      before,
      after,
      file: { name: file.name, type: file.type, size: file.size },
      same,
      fetched,
      afterRemove,
      listedAtEnd: await listFolder(input.folder),
    };
  } finally {
    await cipher.close();
  }
}

/** A writer left open across calls (a tab closed mid-download). */
let leftOpen: unknown;

export default async function run(input: Input): Promise<unknown> {
  switch (input.op) {
    case 'round-trip':
      return roundTrip(input);
    case 'abort': {
      const sink = await OpfsReceivedFiles.open(input.folder);
      const writer = await sink.create(INFO);
      await writer.write(randomBytes(300_000));
      const during = await listFolder(input.folder);
      await writer.abort();
      return { during, after: await listFolder(input.folder) };
    }
    case 'leave-partial': {
      const sink = await OpfsReceivedFiles.open(input.folder);
      const writer = await sink.create(INFO);
      await writer.write(randomBytes(100_000));
      leftOpen = writer;
      return listFolder(input.folder);
    }
    case 'reopen':
      await OpfsReceivedFiles.open(input.folder);
      return { kept: leftOpen !== undefined, listed: await listFolder(input.folder) };
    case 'clear': {
      const sink = await OpfsReceivedFiles.open(input.folder);
      const writer = await sink.create(INFO);
      await writer.write(randomBytes(1000));
      await writer.commit();
      const before = await listFolder(input.folder);
      await sink.clear();
      return { before, after: await listFolder(input.folder) };
    }
    case 'list':
      return listFolder(input.folder);
    default: {
      const unknown: never = input;
      throw new Error(`unknown op ${JSON.stringify(unknown)}`);
    }
  }
}
