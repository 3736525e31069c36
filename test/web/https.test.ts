/**
 * A phone on the LAN (`npm start -- --host 0.0.0.0 --https`), played by Chromium on loopback:
 * the PWA over HTTPS with the generated self-signed certificate is a secure context, its
 * config.json names the same-origin WebSocket proxy, and through that origin alone the page signs
 * up on the real gateway, uploads bytes to the presigned S3 URL and downloads them again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser } from 'playwright-core';
import type { LocalStack } from '../../infra/local/stack';
import { CHROMIUM_FLAGS, chromiumPath } from '../../tools/chromium';
import { startTestStack } from '../../tools/local-stack';
import { freePort } from '../../tools/processes';

let stack: LocalStack;
let browser: Browser;
let origin: string;

beforeAll(async () => {
  const webPort = await freePort();
  stack = await startTestStack({ web: true, https: true, webPort });
  origin = `https://127.0.0.1:${webPort}`;
  browser = await chromium.launch({ executablePath: chromiumPath(), args: CHROMIUM_FLAGS });
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

/** Runs in the page: the protocol by hand over the page's own WebSocket and fetch. */
const SIGNUP_UPLOAD_DOWNLOAD = `(async () => {
  const config = await (await fetch('/config.json')).json();
  const socket = new WebSocket(config.websocketUrl);
  await new Promise((open, fail) => { socket.onopen = open; socket.onerror = () => fail(new Error('no WebSocket')); });
  const replies = new Map();
  socket.onmessage = (event) => {
    const frame = JSON.parse(event.data);
    if (frame.replyTo) replies.get(frame.replyTo)?.(frame);
  };
  let counter = 0;
  const request = (action, fields) => new Promise((answer) => {
    const id = 'frame-' + ++counter;
    replies.set(id, answer);
    socket.send(JSON.stringify({ action, id, ...fields }));
  });
  const base64 = (bytes) => btoa(String.fromCharCode(...bytes));
  const signup = await request('signup', {
    username: 'phone-user',
    authKey: base64(crypto.getRandomValues(new Uint8Array(32))),
    deviceId: 'dev-' + crypto.randomUUID(),
  });
  const bytes = crypto.getRandomValues(new Uint8Array(3000));
  const started = await request('upload', { op: 'start', size: bytes.length });
  const put = await fetch(started.urls[0].url, {
    method: 'PUT',
    headers: { 'content-type': 'application/octet-stream' },
    body: bytes,
  });
  const completed = await request('upload', { op: 'complete', blobId: started.blobId });
  const download = await request('download', { blobId: started.blobId });
  const got = new Uint8Array(await (await fetch(download.url)).arrayBuffer());
  socket.close();
  return {
    secure: isSecureContext,
    subtle: typeof crypto.subtle?.importKey === 'function',
    websocketUrl: config.websocketUrl,
    signup: signup.type,
    uploadUrl: started.urls[0].url,
    putStatus: put.status,
    completed: completed.type,
    downloadUrl: download.url,
    sameBytes: got.length === bytes.length && got.every((b, i) => b === bytes[i]),
  };
})()`;

describe('the PWA over HTTPS for a phone on the LAN', () => {
  it('is a secure context and reaches the gateway and S3 through its own origin', async () => {
    // The certificate is self-signed: the test accepts it, as the phone's user does once.
    const context = await browser.newContext({ ignoreHTTPSErrors: true });
    try {
      const page = await context.newPage();
      const response = await page.goto(`${origin}/`);
      expect(response!.url()).toBe(`${origin}/`);
      expect((await response!.serverAddr())?.port).toBe(Number(new URL(origin).port));
      // The shell's own check goes through the proxy too.
      await page.getByText(`Connected to wss://127.0.0.1:${new URL(origin).port}/ws`).waitFor();

      const result = (await page.evaluate(SIGNUP_UPLOAD_DOWNLOAD)) as Record<string, unknown>;
      expect(result).toMatchObject({
        secure: true,
        subtle: true,
        websocketUrl: `wss://127.0.0.1:${new URL(origin).port}/ws`,
        signup: 'ok',
        putStatus: 200,
        completed: 'ok',
        sameBytes: true,
      });
      expect(result.uploadUrl).toMatch(new RegExp(`^${origin}/s3/cipherline-blobs/`));
      expect(result.downloadUrl).toMatch(new RegExp(`^${origin}/s3/cipherline-blobs/`));
    } finally {
      await context.close();
    }
  });

  it('serves a certificate that a browser without the exception refuses (it is self-signed)', async () => {
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await expect(page.goto(`${origin}/`)).rejects.toThrow(/ERR_CERT_AUTHORITY_INVALID/);
    } finally {
      await context.close();
    }
  });
});
