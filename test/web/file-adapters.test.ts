/**
 * The PWA's file adapters (web/src/platform/) in real Chromium: a File read as a stream, the Web
 * Worker chunk-cipher pool, and received files streamed into OPFS (moved under `received/` only
 * at commit, nothing left after an abort or a closed tab), with the in-memory fallback.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, type ChromiumSession } from '../../tools/chromium';
import { chunkWorkerCount } from '../../web/src/platform/chunk-cipher';

const ENTRY = 'test/browser/entries/received-files.entry.ts';
const MiB = 1024 * 1024;

describe('browser file adapters', () => {
  let chromium: ChromiumSession;
  let workerUrl: string;
  const run = <T>(input: unknown) => chromium.runInPage<T>(ENTRY, input);

  beforeAll(async () => {
    chromium = await launchChromium();
    workerUrl = await chromium.serve('client/crypto/file-worker.ts');
  });
  afterAll(() => chromium?.close());

  it('streams a few MiB from a File through the worker pool into OPFS and back, byte for byte', async () => {
    const bytes = 3 * MiB + 12_345;
    const result = await run<{
      source: { name: string; size: number; mimeType: string };
      largestPiece: number;
      pieces: number;
      parallelism: number;
      location: string;
      before: string[];
      after: string[];
      file: { name: string; type: string; size: number };
      same: boolean;
      fetched: number;
      afterRemove: string;
      listedAtEnd: string[];
    }>({ op: 'round-trip', sink: 'opfs', folder: 'files-a', bytes, workerUrl });
    expect(result.source).toEqual({ name: 'clip.mp4', size: bytes, mimeType: 'video/mp4' });
    // Read as a stream in pieces, never as one buffer (how many pieces Blob.stream() gives varies).
    expect(result.pieces).toBeGreaterThan(1);
    expect(result.largestPiece).toBeLessThan(bytes);
    expect(result.parallelism).toBe(2);
    const id = result.location.replace(/^opfs:/, '');
    expect(result.location).toMatch(/^opfs:[0-9a-f-]{36}$/);
    // Written under partial/ while decrypting (Chromium adds its .crswap swap file), moved to
    // received/ only at commit.
    expect(result.before).toContain(`partial/${id}`);
    expect(result.before.every((name) => name.startsWith(`partial/${id}`))).toBe(true);
    expect(result.after).toEqual([`received/${id}`]);
    expect(result.file).toEqual({ name: 'clip.mp4', type: 'video/mp4', size: bytes });
    expect(result.same).toBe(true);
    expect(result.fetched).toBe(bytes);
    expect(result.afterRemove).toBe('missing');
    expect(result.listedAtEnd).toEqual([]);
  });

  it('keeps received files in memory where OPFS cannot be written, with the same round trip', async () => {
    const result = await run<{ same: boolean; location: string; file: { size: number } }>({
      op: 'round-trip',
      sink: 'memory',
      folder: 'unused',
      bytes: MiB + 7,
      workerUrl,
    });
    expect(result.same).toBe(true);
    expect(result.location).toMatch(/^memory:/);
    expect(result.file.size).toBe(MiB + 7);
  });

  it('leaves nothing behind after an abort', async () => {
    const result = await run<{ during: string[]; after: string[] }>({
      op: 'abort',
      folder: 'files-b',
    });
    expect(result.during.length).toBeGreaterThan(0);
    expect(result.during.every((name) => name.startsWith('partial/'))).toBe(true);
    expect(result.after).toEqual([]);
  });

  it('sweeps what a closed tab was writing when the sink opens next', async () => {
    const tab = await chromium.openTab();
    const listed = await tab.runInPage<string[]>(ENTRY, { op: 'leave-partial', folder: 'files-c' });
    expect(listed.length).toBeGreaterThan(0);
    await tab.page.close();
    // The partial file stays; Chromium's .crswap swap file goes with the closed page's lock.
    const partialFiles = listed.filter((name) => !name.endsWith('.crswap'));
    expect(partialFiles.length).toBeGreaterThan(0);
    expect(await run({ op: 'list', folder: 'files-c' })).toEqual(
      expect.arrayContaining(partialFiles),
    );
    // Chromium drops a closed page's OPFS write lock a little after page.close() resolves; until
    // then the sweep cannot remove that file and leaves it to a later open (as a real app's next
    // start would). So open again until the lock is gone, a bounded number of times.
    let reopened = await run<{ kept: boolean; listed: string[] }>({
      op: 'reopen',
      folder: 'files-c',
    });
    for (let attempt = 0; attempt < 20 && reopened.listed.length > 0; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      reopened = await run({ op: 'reopen', folder: 'files-c' });
    }
    expect(reopened).toEqual({ kept: false, listed: [] });
  });

  it('clear() (sign-out) deletes every received file', async () => {
    const result = await run<{ before: string[]; after: string[] }>({
      op: 'clear',
      folder: 'files-d',
    });
    expect(result.before).toHaveLength(1);
    expect(result.after).toEqual([]);
  });
});

describe('chunk worker pool size', () => {
  it('is one worker per core, at least one and at most four', () => {
    expect(chunkWorkerCount(1)).toBe(1);
    expect(chunkWorkerCount(2)).toBe(2);
    expect(chunkWorkerCount(8)).toBe(4);
    expect(chunkWorkerCount(undefined)).toBe(2);
    expect(chunkWorkerCount(0)).toBe(1);
  });
});
