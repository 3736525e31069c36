/**
 * The production PWA under its production headers (infra/web-policy.ts, the ones CloudFront
 * sends), served on this machine with the CSP's WebSocket and bucket origins naming a local
 * stack. The policy must let the app work: its shell and service worker, Argon2id's WebAssembly,
 * the file-encryption Web Workers, `blob:` previews, presigned PUT and GET against the bucket,
 * sign-up and a message over the WebSocket. And it must stop what it should: inline scripts,
 * code from strings, connections to any other origin. A policy missing one of the allowances
 * fails here, not after a deploy.
 *
 * The app itself signs up and sends a message through its screens (Argon2id in its worker, the
 * sealed store, the session over the WebSocket). The policy probe (test/browser/policy-probe/)
 * does with the app's own client code what the file screens will do (pwa-media adds "send a file
 * through the UI" beside the message case).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDirect } from '../../client/crypto/envelope';
import { CACHE_CONTROL, securityHeaders } from '../../infra/web-policy';
import { fromBase64 } from '../../protocol/bytes';
import { fetchBundle, signupCryptoUser } from '../support/crypto-user';
import { PwaPerson } from '../support/pwa-person';
import { SW_ACTIVATED } from '../support/service-worker';
import { startProductionWeb, type ProbePage, type ProductionWeb } from '../support/production-web';

let web: ProductionWeb;
/** Another origin on this machine that counts what reaches it. */
let elsewhere: Server;
let elsewhereOrigin: string;
let elsewhereHits = 0;
let users = 0;

beforeAll(async () => {
  web = await startProductionWeb();
  elsewhere = createServer((_request, response) => {
    elsewhereHits++;
    response.end('reached');
  });
  elsewhere.on('upgrade', (_request, socket) => {
    elsewhereHits++;
    socket.destroy();
  });
  await new Promise<void>((listening) => elsewhere.listen(0, '127.0.0.1', listening));
  elsewhereOrigin = `127.0.0.1:${(elsewhere.address() as AddressInfo).port}`;
}, 180_000);

afterAll(async () => {
  await web?.stop();
  elsewhere?.close();
});

const PASSWORD = 'violet-Harbor-93-quiet-lantern';
const newUsername = () => `probe-${Date.now()}-${++users}`;

/** Signs a new user up in the probe page; the steps that need a session come after. */
async function signedUpProbe(probe: ProbePage): Promise<string> {
  const username = newUsername();
  const signedUp = await probe.step('signUp', { username, password: PASSWORD });
  expect(signedUp, JSON.stringify(await probe.violations())).toEqual({
    ok: true,
    value: { userId: username },
  });
  return username;
}

describe('the production build under the production headers', () => {
  it('is served with exactly the headers of infra/web-policy.ts, cached by file class', async () => {
    const expected = securityHeaders(web.origins);
    const index = await fetch(web.url);
    const html = await index.text();
    const asset = /src="\/(assets\/index-[^"]+\.js)"/.exec(html)![1]!;
    for (const [path, cacheControl] of [
      ['', CACHE_CONTROL.revalidate],
      ['index.html', CACHE_CONTROL.revalidate],
      ['sw.js', CACHE_CONTROL.revalidate],
      ['manifest.webmanifest', CACHE_CONTROL.revalidate],
      ['config.json', CACHE_CONTROL.revalidate],
      ['icons/icon-192.png', CACHE_CONTROL.revalidate],
      [asset, CACHE_CONTROL.immutable],
    ] as const) {
      const response = await fetch(new URL(path, web.url));
      expect(response.status, path).toBe(200);
      for (const [name, value] of Object.entries(expected))
        expect(response.headers.get(name), `${path} ${name}`).toBe(value);
      expect(response.headers.get('cache-control'), path).toBe(cacheControl);
      expect(response.headers.get('access-control-allow-origin'), path).toBeNull();
    }
    expect((await fetch(new URL('config.json', web.url)).then((r) => r.json())) as object).toEqual({
      websocketUrl: web.stack.endpoints.websocket,
    });
    // As from the bucket: no fallback page, no Vite manifest, nothing outside the build.
    for (const path of ['no-such-page', '.vite/manifest.json', 'assets/', '%2e%2e/package.json'])
      expect((await fetch(new URL(path, web.url))).status, path).toBe(404);
  });

  it('runs the app shell and its service worker without a single violation', async () => {
    const { page, violations, close } = await web.open('/');
    try {
      await page.getByRole('heading', { name: 'Cipherline', level: 1 }).waitFor();
      const worker = await page.evaluate(SW_ACTIVATED);
      expect(worker).toBe(`${web.url}sw.js`);
      await page.reload();
      await page.waitForFunction('navigator.serviceWorker.controller !== null');
      await page.getByRole('heading', { name: 'Cipherline', level: 1 }).waitFor();
      expect(await violations()).toEqual([]);
    } finally {
      await close();
    }
  });

  it('signs up, signs in again and sends a message through the app’s own screens', async () => {
    const bob = await signupCryptoUser(web.stack.endpoints.websocket, newUsername(), PASSWORD);
    const { page, context, violations, close } = await web.open('/');
    try {
      const alice = PwaPerson.attach(newUsername(), context, page, web.url);
      await alice.signUp(PASSWORD);
      await page.getByRole('heading', { name: 'Chats', level: 2 }).waitFor();
      // Sign out and in again: Argon2id in its worker, the sealed store made anew.
      await alice.go('#/settings');
      await page.getByRole('button', { name: 'Sign out' }).click();
      await alice.signIn(PASSWORD);
      await page.getByRole('heading', { name: 'Chats', level: 2 }).waitFor();
      await alice.chatWith(bob.username);
      await alice.type('hello from the app under the CSP');
      const pushed = await bob.client.waitFor((m) => m.type === 'message' && m.from === alice.name);
      const opened = await openDirect({
        envelope: fromBase64(pushed.envelope as string),
        me: bob.keys,
        sender: await fetchBundle(bob, alice.name),
        authenticatedSenderId: alice.name,
        expectedType: 'text',
        seen: bob.seen,
        now: Date.now(),
      });
      expect(opened.body).toEqual({ type: 'text', text: 'hello from the app under the CSP' });
      expect(await violations()).toEqual([]);
    } finally {
      await close();
      bob.client.close();
    }
  }, 120_000);

  it("runs Argon2id's WebAssembly at the account cost", async () => {
    const probe = await web.openProbe();
    try {
      expect(await probe.step('argon2id')).toEqual({ ok: true, value: { authKeyBytes: 32 } });
      expect(await probe.violations()).toEqual([]);
    } finally {
      await probe.close();
    }
  });

  it('signs up over the WebSocket and sends a message the recipient opens', async () => {
    const bob = await signupCryptoUser(web.stack.endpoints.websocket, newUsername(), PASSWORD);
    const probe = await web.openProbe();
    try {
      const alice = await signedUpProbe(probe);
      const sent = await probe.step('sendText', { to: bob.username, text: 'hello under the CSP' });
      expect(sent.ok, JSON.stringify(sent)).toBe(true);
      const pushed = await bob.client.waitFor((m) => m.type === 'message' && m.from === alice);
      const opened = await openDirect({
        envelope: fromBase64(pushed.envelope as string),
        me: bob.keys,
        sender: await fetchBundle(bob, alice),
        authenticatedSenderId: alice,
        expectedType: 'text',
        seen: bob.seen,
        now: Date.now(),
      });
      expect(opened.body).toEqual({ type: 'text', text: 'hello under the CSP' });
      expect(await probe.violations()).toEqual([]);
    } finally {
      await probe.close();
      bob.client.close();
    }
  });

  it('encrypts a picture in Web Workers, PUTs and GETs it with presigned URLs, decrypts it and shows it from a blob: URL', async () => {
    const probe = await web.openProbe();
    try {
      await signedUpProbe(probe);
      const encrypted = await probe.step('encryptInWorkers');
      expect(encrypted.ok, JSON.stringify(encrypted)).toBe(true);
      if (encrypted.ok) expect(encrypted.value.imageBytes).toBeGreaterThan(3 * 16 * 1024);
      expect(await probe.step('uploadBlob')).toEqual({
        ok: true,
        value: { putOrigin: web.origins.blobs },
      });
      expect(await probe.step('downloadBlob')).toEqual({ ok: true, value: { sameBytes: true } });
      expect(await probe.step('decryptInWorkers')).toEqual({
        ok: true,
        value: { sameImage: true },
      });
      expect(await probe.step('previewImage')).toEqual({
        ok: true,
        value: { width: 160, height: 120 },
      });
      expect(await probe.violations()).toEqual([]);
    } finally {
      await probe.close();
    }
  });
});

describe('the production policy blocks', () => {
  it('an inline script and JavaScript made from a string', async () => {
    const probe = await web.openProbe();
    try {
      expect(await probe.step('inlineScript')).toEqual({ ok: true, value: { ran: false } });
      expect(await probe.step('stringToCode')).toEqual({
        ok: true,
        value: { ran: false, error: 'EvalError' },
      });
      const violations = await probe.violations();
      expect(violations).toContainEqual({ directive: 'script-src-elem', blocked: 'inline' });
      expect(violations).toContainEqual({ directive: 'script-src', blocked: 'eval' });
    } finally {
      await probe.close();
    }
  });

  it('a fetch or a WebSocket to any other origin, before a byte leaves the browser', async () => {
    const probe = await web.openProbe();
    try {
      const before = elsewhereHits;
      const fetched = await probe.step('fetchOtherOrigin', { url: `http://${elsewhereOrigin}/` });
      expect(fetched).toEqual({ ok: true, value: { reached: false, error: 'TypeError' } });
      const socket = await probe.step('webSocketOtherOrigin', { url: `ws://${elsewhereOrigin}/` });
      expect(socket.ok && socket.value.opened).toBe(false);
      const violations = await probe.violations();
      expect(violations).toContainEqual({
        directive: 'connect-src',
        blocked: `http://${elsewhereOrigin}/`,
      });
      expect(violations).toContainEqual({
        directive: 'connect-src',
        blocked: `ws://${elsewhereOrigin}/`,
      });
      expect(elsewhereHits).toBe(before);
    } finally {
      await probe.close();
    }
  });
});

/** Removes one source from one directive of a policy. */
const without = (directive: string, source: string) => (policy: string) =>
  policy
    .split('; ')
    .map((d) =>
      d.startsWith(`${directive} `)
        ? d
            .split(' ')
            .filter((s) => s !== source)
            .join(' ')
        : d,
    )
    .join('; ');

describe('the checks fail under a policy that would break the app', () => {
  it("Argon2id, without 'wasm-unsafe-eval'", async () => {
    const probe = await web.openProbe({ alterPolicy: without('script-src', "'wasm-unsafe-eval'") });
    try {
      const outcome = await probe.step('argon2id');
      expect(outcome.ok).toBe(false);
      expect(await probe.violations()).toContainEqual({
        directive: 'script-src',
        blocked: 'wasm-eval',
      });
    } finally {
      await probe.close();
    }
  });

  it.each([
    ['the workers, without worker-src', 'worker-src', "'self'", 'encryptInWorkers', 'worker-src'],
    [
      'the PUT, without the bucket in connect-src',
      'connect-src',
      'BUCKET',
      'uploadBlob',
      'connect-src',
    ],
    ['the preview, without blob: images', 'img-src', 'blob:', 'previewImage', 'img-src'],
  ] as const)('%s', async (_name, directive, source, failing, violated) => {
    const removed = source === 'BUCKET' ? web.origins.blobs : source;
    const probe = await web.openProbe({ alterPolicy: without(directive, removed) });
    const steps = [
      'encryptInWorkers',
      'uploadBlob',
      'downloadBlob',
      'decryptInWorkers',
      'previewImage',
    ] as const;
    try {
      await signedUpProbe(probe);
      for (const step of steps.slice(0, steps.indexOf(failing)))
        expect((await probe.step(step)).ok, step).toBe(true);
      expect((await probe.step(failing)).ok, failing).toBe(false);
      const violations = await probe.violations();
      expect(violations.map((v) => v.directive)).toContain(violated);
    } finally {
      await probe.close();
    }
  });
});
