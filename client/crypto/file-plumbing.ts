/**
 * Stream plumbing for file encryption, runtime-neutral (async iterables and WHATWG streams):
 * cutting plaintext into chunks, splitting a blob back into encrypted chunks, and running chunk
 * jobs with bounded concurrency while keeping their order. Memory stays bounded by a few chunks.
 */
import { CHUNK_HEADER_BYTES, encryptedLengthFromHeader } from './file-format';
import { type Bytes } from '../../protocol/bytes';

export type ByteSource = AsyncIterable<Uint8Array> | ReadableStream<Uint8Array>;

/** Reads a ReadableStream through its reader (async iteration of streams is not in every browser). */
export function toAsyncIterable(source: ByteSource): AsyncIterable<Uint8Array> {
  if (!('getReader' in source)) return source;
  return (async function* () {
    const reader = source.getReader();
    let finished = false;
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        yield value;
      }
      finished = true;
    } finally {
      if (finished) reader.releaseLock();
      else await reader.cancel().catch(() => undefined); // an errored stream rejects cancel too
    }
  })();
}

/** For fetch bodies and Blob-building in the browser: an async iterable as a pull-driven stream. */
export function toReadableStream(source: AsyncIterable<Bytes>): ReadableStream<Bytes> {
  const iterator = source[Symbol.asyncIterator]();
  return new ReadableStream<Bytes>(
    {
      async pull(controller) {
        const { done, value } = await iterator.next();
        if (done) controller.close();
        else controller.enqueue(value);
      },
      async cancel() {
        await iterator.return?.();
      },
    },
    { highWaterMark: 0 },
  );
}

export interface PlainChunk {
  bytes: Bytes;
  last: boolean;
}

/**
 * Cuts a byte stream into chunks of exactly `chunkSize` bytes, the last one shorter (or empty for
 * an empty file). A full chunk is held back until the next byte arrives, so `last` is known.
 */
export async function* cutIntoChunks(
  source: AsyncIterable<Uint8Array>,
  chunkSize: number,
): AsyncGenerator<PlainChunk> {
  let current = new Uint8Array(chunkSize);
  let filled = 0;
  let full: Bytes | null = null;
  for await (const piece of source) {
    let offset = 0;
    while (offset < piece.length) {
      if (full) {
        yield { bytes: full, last: false };
        full = null;
        current = new Uint8Array(chunkSize);
      }
      const n = Math.min(chunkSize - filled, piece.length - offset);
      current.set(piece.subarray(offset, offset + n), filled);
      filled += n;
      offset += n;
      if (filled === chunkSize) {
        full = current;
        filled = 0;
      }
    }
  }
  yield full ? { bytes: full, last: true } : { bytes: current.slice(0, filled), last: true };
}

/**
 * What a blob splits into: whole encrypted chunks (authentic or not, the MAC decides later), then
 * possibly a tail that ends inside a chunk, or a header whose lengths no encoder writes.
 */
export type SplitItem =
  | { kind: 'chunk'; bytes: Bytes }
  | { kind: 'cut'; bytes: Bytes }
  | { kind: 'bad-length'; error: unknown };

/**
 * Splits a blob into its encrypted chunks, whatever the sizes of the pieces it arrives in. Each
 * chunk is copied into its own buffer (first its header, then, once the header gives the length,
 * the whole chunk), so a worker pool may transfer it.
 */
export async function* splitIntoChunks(
  source: AsyncIterable<Uint8Array>,
): AsyncGenerator<SplitItem> {
  let chunk = new Uint8Array(CHUNK_HEADER_BYTES);
  let filled = 0;
  let knowLength = false;
  for await (const piece of source) {
    let offset = 0;
    while (offset < piece.length) {
      const n = Math.min(chunk.length - filled, piece.length - offset);
      chunk.set(piece.subarray(offset, offset + n), filled);
      filled += n;
      offset += n;
      if (filled < chunk.length) break; // this piece is used up
      if (!knowLength) {
        let length: number;
        try {
          length = encryptedLengthFromHeader(chunk);
        } catch (error) {
          yield { kind: 'bad-length', error };
          return;
        }
        const whole = new Uint8Array(length);
        whole.set(chunk);
        chunk = whole;
        knowLength = true;
      } else {
        yield { kind: 'chunk', bytes: chunk };
        chunk = new Uint8Array(CHUNK_HEADER_BYTES);
        filled = 0;
        knowLength = false;
      }
    }
  }
  if (filled > 0) yield { kind: 'cut', bytes: chunk.slice(0, filled) };
}

export type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };

const settle = <T>(promise: Promise<T>): Promise<Settled<T>> =>
  promise.then(
    (value) => ({ ok: true, value }),
    (error: unknown) => ({ ok: false, error }),
  );

/**
 * Runs `work` on the items of `source` with at most `concurrency` running at once and yields the
 * outcomes in source order. Outcomes are settled (never thrown) so the caller decides which error
 * wins by position, and jobs still running when the caller stops never reject unhandled.
 */
export async function* mapInOrder<T, R>(
  source: AsyncIterable<T>,
  concurrency: number,
  work: (item: T, index: number) => Promise<R>,
): AsyncGenerator<Settled<R>> {
  const iterator = source[Symbol.asyncIterator]();
  const running: Promise<Settled<R>>[] = [];
  let index = 0;
  let sourceDone = false;
  try {
    for (;;) {
      while (!sourceDone && running.length < concurrency) {
        const next = await iterator.next();
        if (next.done) {
          sourceDone = true;
        } else {
          const item = next.value;
          const at = index++;
          // Deferred, so a job that throws synchronously still becomes a settled outcome.
          running.push(settle(Promise.resolve().then(() => work(item, at))));
        }
      }
      const head = running.shift();
      if (!head) return;
      yield await head;
    }
  } finally {
    if (!sourceDone) await iterator.return?.();
  }
}
