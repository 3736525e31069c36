/**
 * The production PWA in Chromium: installable (manifest, icons, service worker, Chromium's own
 * install criteria), the app shell opening offline and saying so, the update prompt when a new
 * build's service worker waits (two builds served one after the other on one origin), and the
 * one-active-tab notice.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { startWebServer, type WebServer } from '../../infra/local/web';
import { CHROMIUM_FLAGS, chromiumPath } from '../../tools/chromium';
import { startTestStack, tempDataDir } from '../../tools/local-stack';
import { freePort } from '../../tools/processes';
import { SW_ACTIVATED } from '../support/service-worker';
import { buildPwa } from '../../tools/web-build';
import type { LocalStack } from '../../infra/local/stack';

const builds = tempDataDir();
const BUILD_A = join(builds.dir, 'a');
const BUILD_B = join(builds.dir, 'b');

let stack: LocalStack;
let browser: Browser;
let port: number;
let web: WebServer | undefined;

async function serve(builtDir: string): Promise<WebServer> {
  await web?.close();
  web = await startWebServer({
    port,
    host: '127.0.0.1',
    gatewayUrl: stack.endpoints.websocket,
    s3Endpoint: stack.endpoints.s3,
    builtDir,
  });
  return web;
}

/** Width and height from a PNG's IHDR chunk. */
function pngSize(bytes: Buffer): { width: number; height: number } {
  expect(bytes.subarray(1, 4).toString('latin1')).toBe('PNG');
  return { width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20) };
}

beforeAll(async () => {
  [stack, port] = await Promise.all([startTestStack(), freePort()]);
  await buildPwa(BUILD_A, 'build-a');
  await buildPwa(BUILD_B, 'build-b');
  browser = await chromium.launch({ executablePath: chromiumPath(), args: CHROMIUM_FLAGS });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await web?.close();
  await stack?.stop();
  builds.remove();
});

async function openControlled(context: BrowserContext): Promise<Page> {
  const page = await context.newPage();
  await page.goto(web!.url);
  await page.evaluate(SW_ACTIVATED);
  // The first load is not controlled yet; after a reload the service worker serves the shell.
  await page.reload();
  await page.waitForFunction('navigator.serviceWorker.controller !== null');
  return page;
}

describe('production PWA', () => {
  it('is installable: its manifest, icons and service worker meet Chromium install criteria', async () => {
    await serve(BUILD_A);
    // A profile on disk: Chromium refuses to install from an incognito-like context.
    const profile = tempDataDir();
    const context = await chromium.launchPersistentContext(profile.dir, {
      executablePath: chromiumPath(),
      args: CHROMIUM_FLAGS,
    });
    try {
      const page = await context.newPage();
      await page.goto(web!.url);
      expect(await page.evaluate(SW_ACTIVATED)).toBe(`${web!.url}sw.js`);

      const cdp = await context.newCDPSession(page);
      const manifest = (await cdp.send('Page.getAppManifest')) as {
        url: string;
        errors: unknown[];
        data: string;
      };
      expect(manifest.url).toBe(`${web!.url}manifest.webmanifest`);
      expect(manifest.errors).toEqual([]);
      const data = JSON.parse(manifest.data) as {
        name: string;
        display: string;
        start_url: string;
        icons: { src: string; sizes: string; purpose: string }[];
      };
      expect(data).toMatchObject({ name: 'Cipherline', display: 'standalone', start_url: '/' });
      expect(data.icons.map((i) => `${i.sizes} ${i.purpose}`)).toEqual(
        expect.arrayContaining(['192x192 any', '512x512 any', '512x512 maskable']),
      );
      for (const icon of data.icons.filter((i) => i.sizes !== 'any')) {
        const response = await fetch(new URL(icon.src, web!.url));
        expect(response.headers.get('content-type')).toBe('image/png');
        const { width, height } = pngSize(Buffer.from(await response.arrayBuffer()));
        expect(`${width}x${height}`).toBe(icon.sizes);
      }

      const { installabilityErrors } = (await cdp.send('Page.getInstallabilityErrors')) as {
        installabilityErrors: { errorId: string }[];
      };
      expect(installabilityErrors).toEqual([]);
    } finally {
      await context.close();
      profile.remove();
    }
  });

  it('opens the app shell offline, on any route, and says it is offline', async () => {
    await serve(BUILD_A);
    const context = await browser.newContext();
    try {
      const page = await openControlled(context);
      await context.setOffline(true);
      await page.reload();
      await page.getByRole('heading', { name: 'Cipherline', level: 1 }).waitFor();
      await page.getByText('You are offline.').waitFor();
      await page.goto(`${web!.url}#/settings`);
      await page.getByRole('heading', { name: 'Settings' }).waitFor();
      expect(await page.getByTestId('build-id').textContent()).toBe('build-a');
      // Nothing was fetched from the network: the server is not even needed.
      await web!.close();
      web = undefined;
      await page.reload();
      await page.getByText('You are offline.').waitFor();
    } finally {
      await context.close();
    }
  });

  it('offers a reload when a new version waits, and the reload runs the new build', async () => {
    await serve(BUILD_A);
    const context = await browser.newContext();
    try {
      const page = await openControlled(context);
      await page.goto(`${web!.url}#/settings`);
      expect(await page.getByTestId('build-id').textContent()).toBe('build-a');
      await expect(page.getByTestId('update-prompt').count()).resolves.toBe(0);

      await serve(BUILD_B); // a deployment: same origin, new files
      await page.evaluate('navigator.serviceWorker.getRegistration().then((r) => r.update())');
      const prompt = page.getByTestId('update-prompt');
      await prompt.waitFor();
      expect(await prompt.textContent()).toContain('A new version of Cipherline is ready.');

      await page.getByRole('button', { name: 'Reload to update' }).click();
      await page.getByTestId('build-id').filter({ hasText: 'build-b' }).waitFor();
      await expect(prompt.count()).resolves.toBe(0);
    } finally {
      await context.close();
    }
  });

  it('lets one tab be the active client; another tab says so and can take over', async () => {
    await serve(BUILD_A);
    const context = await browser.newContext();
    try {
      const first = await context.newPage();
      await first.goto(web!.url);
      await first.getByRole('heading', { name: 'Sign in', level: 2 }).waitFor();

      const second = await context.newPage();
      await second.goto(web!.url);
      await second.getByRole('heading', { name: 'Cipherline is open in another tab' }).waitFor();
      await second.getByRole('button', { name: 'Use Cipherline in this tab' }).click();
      await second.getByRole('heading', { name: 'Sign in', level: 2 }).waitFor();

      await first.getByRole('heading', { name: 'Cipherline is open in another tab' }).waitFor();
      await first.getByText('Another tab took over.').waitFor();

      // Closing the active tab hands the role back to the waiting one.
      await second.close();
      await first.getByRole('heading', { name: 'Sign in', level: 2 }).waitFor();
    } finally {
      await context.close();
    }
  });
});
