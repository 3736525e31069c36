/**
 * Small real media files for browser tests (a PNG made here, a WebM video made by Chromium, the
 * same video padded to any size), and waiting for a preview of one to be decoded in a page.
 */
import { randomBytes } from 'node:crypto';
import { deflateSync } from 'node:zlib';
import type { Page } from 'playwright-core';
import { expect } from 'vitest';

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes: Buffer): number {
  let crc = 0xffffffff;
  for (const byte of bytes) crc = CRC_TABLE[(crc ^ byte) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

/** An RGB PNG of `width` × `height` with a colour gradient (a real, decodable image). */
export function gradientPng(width: number, height: number): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bit depth
  header[9] = 2; // RGB
  const rows = Buffer.alloc((width * 3 + 1) * height);
  for (let y = 0; y < height; y++) {
    const row = y * (width * 3 + 1);
    for (let x = 0; x < width; x++) {
      rows[row + 1 + x * 3] = (x * 255) / width;
      rows[row + 2 + x * 3] = (y * 255) / height;
      rows[row + 3 + x * 3] = 128;
    }
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(rows)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A WebM video of a moving square, `ms` long, recorded from a canvas by Chromium's MediaRecorder. */
export async function recordWebm(page: Page, ms: number): Promise<Buffer> {
  const base64 = (await page.evaluate(`(async () => {
    const canvas = document.createElement('canvas');
    canvas.width = 160;
    canvas.height = 120;
    const context = canvas.getContext('2d');
    const stream = canvas.captureStream(25);
    const recorder = new MediaRecorder(stream, { mimeType: 'video/webm' });
    const parts = [];
    recorder.ondataavailable = (event) => parts.push(event.data);
    const stopped = new Promise((done) => (recorder.onstop = done));
    recorder.start(100);
    const started = performance.now();
    await new Promise((done) => {
      const draw = () => {
        const t = performance.now() - started;
        context.fillStyle = '#203040';
        context.fillRect(0, 0, 160, 120);
        context.fillStyle = '#f0c040';
        context.fillRect((t / 10) % 140, 40, 20, 20);
        if (t < ${ms}) requestAnimationFrame(draw); else done();
      };
      draw();
    });
    recorder.stop();
    await stopped;
    const bytes = new Uint8Array(await new Blob(parts).arrayBuffer());
    let text = '';
    for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    return btoa(text);
  })()`)) as string;
  return Buffer.from(base64, 'base64');
}

/**
 * The WebM video padded to `bytes` with an EBML Void element of random bytes at its end (Void
 * elements are skipped by every Matroska reader), so a playable video can be any size.
 */
export function paddedWebm(webm: Buffer, bytes: number): Buffer {
  const header = 9; // the Void id 0xEC, then an 8-byte size (0x01 and 7 bytes of length)
  const padding = bytes - webm.length - header;
  if (padding < 0) throw new Error(`the video is already ${webm.length} bytes`);
  const size = Buffer.alloc(8);
  size.writeBigUInt64BE(BigInt(padding));
  size[0] = 0x01;
  return Buffer.concat([webm, Buffer.from([0xec]), size, randomBytes(padding)]);
}

export interface MediaState {
  complete?: boolean;
  width: number | null;
  height?: number;
  readyState?: number;
  error?: number | null;
  duration?: number;
}

/** A string for page.evaluate (vitest rewrites functions into Node-only code). */
const mediaState = (selector: string) => `(() => {
  const element = document.querySelector(${JSON.stringify(selector)});
  if (!element) return null;
  if (element instanceof HTMLImageElement)
    return { complete: element.complete, width: element.naturalWidth, height: element.naturalHeight };
  return { readyState: element.readyState, error: element.error ? element.error.code : null,
    width: element.videoWidth ?? null, duration: element.duration };
})()`;

/** Polls from Node (the page's CSP refuses the eval that waitForFunction's polling uses). */
export async function waitForMedia(
  page: Page,
  selector: string,
  ready: (state: MediaState) => boolean,
): Promise<MediaState> {
  let state: MediaState | null = null;
  await expect
    .poll(
      async () => {
        state = (await page.evaluate(mediaState(selector))) as MediaState | null;
        return state !== null && ready(state);
      },
      { timeout: 60_000, interval: 200 },
    )
    .toBe(true);
  return state!;
}
