/**
 * The measuring loop of bench/file-workers.ts, runtime-neutral so the very same code runs in Node
 * (worker_threads) and in a Chromium page (Web Workers). Encrypts one in-memory file as a stream
 * with each chunk cipher in turn, interleaved round by round so background load hits all alike.
 */
import { type ChunkCipher, decryptFileStream, encryptFileStream } from '../client/crypto/file';
import { randomBytes } from '../client/crypto/primitives';
import { bytesEqual, concatBytes } from '../protocol/bytes';

export interface Contender {
  name: string;
  cipher: ChunkCipher;
}

const MiB = 1024 * 1024;

async function* inPieces(bytes: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size);
}

/** Milliseconds per encryption of `fileBytes`, per contender; the warm-up rounds also check the output. */
export async function timeFileEncryption(
  contenders: readonly Contender[],
  fileBytes: number,
  warmups: number,
  repeats: number,
): Promise<Record<string, number[]>> {
  const plaintext = randomBytes(fileBytes);
  const fileKey = randomBytes(32);
  const blobId = 'bench-file-workers';
  const times: Record<string, number[]> = Object.fromEntries(contenders.map((c) => [c.name, []]));
  for (let round = 0; round < warmups + repeats; round++) {
    for (const { name, cipher } of contenders) {
      const keep = round === 0 ? ([] as Uint8Array[]) : null;
      const started = performance.now();
      for await (const chunk of encryptFileStream(inPieces(plaintext, MiB), {
        fileKey,
        blobId,
        cipher,
      })) {
        keep?.push(chunk);
      }
      const elapsed = performance.now() - started;
      if (round >= warmups) times[name]!.push(elapsed);
      if (keep) {
        const parts: Uint8Array[] = [];
        const blob = concatBytes(...keep);
        for await (const part of decryptFileStream(inPieces(blob, MiB), { fileKey, blobId }))
          parts.push(part);
        if (!bytesEqual(concatBytes(...parts), plaintext))
          throw new Error(`${name}: round trip failed`);
      }
    }
  }
  return times;
}
