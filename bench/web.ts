/**
 * `npm run bench:web`: the production PWA's weight and Lighthouse scores.
 *
 * 1. Builds the PWA into web/dist (as `npm run build:web`).
 * 2. Initial JavaScript: the entry chunk and its static imports (Vite's build manifest), gzipped
 *    (zlib level 9, what CDNs serve at least); per route: every script Chromium fetched to render
 *    that route from a cold cache, gzipped the same way, signed out and then signed in (two
 *    accounts signed up through the UI; the chat with its file controls, the safety number with
 *    its QR code, the settings with the account's sections).
 * 3. Lighthouse 12.8.2 (mobile: Moto G Power emulation, simulated slow 4G and 4x CPU throttling)
 *    with Debian's Chromium, against the build served by Vite's preview server with a live
 *    local gateway behind config.json (so the shell's cloud check succeeds as it would deployed).
 *
 * Targets (issue 14): initial JS <= 80 KB gzipped; performance >= 90; accessibility and best
 * practices >= 95. It prints the figures and which targets were met; docs/benchmarks.md records them.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import * as chromeLauncher from 'chrome-launcher';
import lighthouse from 'lighthouse';
import { chromium, type BrowserContext } from 'playwright-core';
import { startWebServer, WEB_ROOT } from '../infra/local/web';
import { CHROMIUM_FLAGS, chromiumPath } from '../tools/chromium';
import { startTestStack } from '../tools/local-stack';
import { freePort } from '../tools/processes';
import { buildPwa } from '../tools/web-build';

const DIST = join(WEB_ROOT, 'dist');
const ROUTES = ['#/', '#/chat/example-alice', '#/groups', '#/settings'];
/** Signed in as bench-a, with a chat with bench-b (the screens with files, QR and settings). */
const SIGNED_IN_ROUTES = ['#/', '#/chat/u:bench-b', '#/safety/bench-b', '#/settings'];
const BENCH_PASSWORD = 'quiet lanterns over the benchmark harbour';
const LIGHTHOUSE_ROUTES = ['#/', '#/settings'];
const TARGETS = { initialKb: 80, performance: 90, accessibility: 95, 'best-practices': 95 };

interface ManifestChunk {
  file: string;
  isEntry?: boolean;
  imports?: string[];
  css?: string[];
}

const gzippedBytes = (file: string) =>
  gzipSync(readFileSync(join(DIST, file)), { level: 9 }).length;
const kb = (bytes: number) => (bytes / 1024).toFixed(1);
const verdict = (met: boolean) => (met ? 'met' : 'MISSED');

function initialJavaScript(manifest: Record<string, ManifestChunk>): string[] {
  const files = new Set<string>();
  const visit = (key: string) => {
    const chunk = manifest[key]!;
    if (files.has(chunk.file)) return;
    files.add(chunk.file);
    for (const imported of chunk.imports ?? []) visit(imported);
  };
  for (const [key, chunk] of Object.entries(manifest)) if (chunk.isEntry) visit(key);
  return [...files];
}

console.log('Building the production PWA into web/dist...');
await buildPwa(DIST, `bench ${new Date().toISOString()}`);
const manifest = JSON.parse(readFileSync(join(DIST, '.vite/manifest.json'), 'utf8')) as Record<
  string,
  ManifestChunk
>;
const initial = initialJavaScript(manifest);
const initialBytes = initial.reduce((sum, file) => sum + gzippedBytes(file), 0);

const stack = await startTestStack();
const web = await startWebServer({
  port: await freePort(),
  host: '127.0.0.1',
  gatewayUrl: stack.endpoints.websocket,
  s3Endpoint: stack.endpoints.s3,
  builtDir: DIST,
});
try {
  // Per route: what a cold page load of that route actually fetched (signed out, then signed in).
  const browser = await chromium.launch({ executablePath: chromiumPath(), args: CHROMIUM_FLAGS });
  const perRoute: { route: string; files: number; bytes: number }[] = [];
  const coldLoad = async (context: BrowserContext, route: string, ready: string) => {
    const page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    await cdp.send('Network.clearBrowserCache');
    const scripts = new Set<string>();
    page.on('request', (request) => {
      const path = new URL(request.url()).pathname;
      if (path.endsWith('.js')) scripts.add(path.slice(1));
    });
    await page.goto(web.url + route);
    await page.locator(ready).first().waitFor({ timeout: 60_000 });
    await page.waitForLoadState('networkidle');
    await page.close();
    return { files: scripts.size, bytes: [...scripts].reduce((s, f) => s + gzippedBytes(f), 0) };
  };
  try {
    for (const route of ROUTES) {
      const context = await browser.newContext({ serviceWorkers: 'block' });
      perRoute.push({ route, ...(await coldLoad(context, route, 'h2[tabindex="-1"]:visible')) });
      await context.close();
    }
    // bench-b first: bench-a's new chat fetches and pins bench-b's published keys.
    await (await signUp('bench-b')).close();
    const me = await signUp('bench-a');
    // What each screen needs once signed in (the client core, files, QR, settings...).
    const screenReady: Record<string, string> = {
      '#/': '[data-testid="chat-row"]',
      '#/chat/u:bench-b': 'button[aria-label="Attach files"]',
      '#/safety/bench-b': '[data-testid="safety-qr"]',
      '#/settings': '#devices-heading',
    };
    for (const route of SIGNED_IN_ROUTES)
      perRoute.push({
        route: `${route} (signed in)`,
        ...(await coldLoad(me, route, screenReady[route]!)),
      });
    await me.close();
  } finally {
    await browser.close();
  }

  /** A context signed up as `user` (its device kept in the context's IndexedDB). */
  async function signUp(user: string): Promise<BrowserContext> {
    const context = await browser.newContext({ serviceWorkers: 'block' });
    const page = await context.newPage();
    await page.goto(web.url + '#/');
    await page.getByRole('button', { name: 'Create an account' }).click();
    const form = page.getByRole('form', { name: 'Create an account' });
    await form.getByLabel('User name').fill(user);
    await form.getByLabel('Password', { exact: true }).fill(BENCH_PASSWORD);
    await form.getByRole('button', { name: 'Create account' }).click();
    await page.getByRole('heading', { name: 'Chats', level: 2 }).waitFor({ timeout: 60_000 });
    if (user === 'bench-a') {
      await page.goto(web.url + '#/new');
      const newChat = page.getByRole('form', { name: 'New chat' });
      await newChat.getByLabel('User name').fill('bench-b');
      await newChat.getByRole('button', { name: 'Start chat' }).click();
      await page.getByRole('heading', { name: 'bench-b', level: 2 }).waitFor({ timeout: 60_000 });
    }
    await page.close();
    return context;
  }

  console.log(`\nJavaScript, gzipped (level 9)`);
  console.log(
    `  initial (entry + static imports, ${initial.length} file${initial.length > 1 ? 's' : ''})  ${kb(initialBytes)} KB   target <= ${TARGETS.initialKb} KB: ${verdict(initialBytes / 1024 <= TARGETS.initialKb)}`,
  );
  for (const { route, files, bytes } of perRoute)
    console.log(`  route ${route.padEnd(32)} ${kb(bytes)} KB in ${files} files (cold load)`);

  const chrome = await chromeLauncher.launch({
    chromePath: process.env.CHROME_PATH ?? chromiumPath(),
    chromeFlags: CHROMIUM_FLAGS,
  });
  try {
    console.log(
      `\nLighthouse ${'12.8.2'} (mobile, simulated throttling), Chromium at ${chromiumPath()}`,
    );
    for (const route of LIGHTHOUSE_ROUTES) {
      const result = await lighthouse(web.url + route, {
        port: chrome.port,
        output: 'json',
        logLevel: 'error',
        onlyCategories: ['performance', 'accessibility', 'best-practices'],
      });
      if (!result) throw new Error('Lighthouse returned no result');
      const { categories, audits } = result.lhr;
      const line = (['performance', 'accessibility', 'best-practices'] as const)
        .map((id) => {
          const score = Math.round((categories[id]?.score ?? 0) * 100);
          return `${id} ${score} (${verdict(score >= TARGETS[id])})`;
        })
        .join(', ');
      const metric = (id: string) => audits[id]?.displayValue ?? '?';
      console.log(`  ${route.padEnd(12)} ${line}`);
      console.log(
        `  ${''.padEnd(12)} FCP ${metric('first-contentful-paint')}, LCP ${metric('largest-contentful-paint')}, TBT ${metric('total-blocking-time')}, CLS ${metric('cumulative-layout-shift')}`,
      );
      const failing = Object.values(categories)
        .flatMap((category) => category.auditRefs)
        .filter((ref) => ref.weight > 0 && (audits[ref.id]?.score ?? 1) < 0.9)
        .map((ref) => audits[ref.id]!.title);
      if (failing.length > 0) console.log(`  ${''.padEnd(12)} below 0.9: ${failing.join('; ')}`);
    }
  } finally {
    chrome.kill();
  }
} finally {
  await web.close();
  await stack.stop();
}
