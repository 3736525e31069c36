/**
 * Runs TypeScript in real headless Chromium, in a page or in a Web Worker, for browser test
 * suites and benchmarks.
 *
 * An entry file default-exports one function; it runs in the browser and its (JSON-serialisable)
 * result comes back to Node:
 *
 *   // test/browser/entries/example.entry.ts
 *   export default async function run(input: { n: number }): Promise<{ doubled: number }> {
 *     return { doubled: input.n * 2 };
 *   }
 *
 *   // in a vitest file (Node side)
 *   const chromium = await launchChromium();
 *   try {
 *     const out = await chromium.runInPage<{ doubled: number }>('test/browser/entries/example.entry.ts', { n: 2 });
 *     const same = await chromium.runInWorker<{ doubled: number }>('test/browser/entries/example.entry.ts', { n: 2 });
 *   } finally {
 *     await chromium.close();
 *   }
 *
 * Input and result cross the Node/browser boundary as JSON (encode bytes as hex or base64). The
 * entry is bundled with esbuild (ESM, es2022, platform browser), so it may import client/ code
 * and npm packages, never node:*. Pages are served from http://127.0.0.1:<free port>, a secure
 * context, so `crypto.subtle` exists. An exception thrown in the browser rejects the Node promise
 * with its message and stack.
 */
import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, resolve } from 'node:path';
import { build } from 'esbuild';
import { chromium } from 'playwright-core';
import type { Browser, BrowserContext, Page } from 'playwright-core';

export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface ChromiumSession {
  /** Runs the entry's default export in the page (main thread) and returns its result. */
  runInPage<Result = unknown>(entry: string, input?: unknown): Promise<Result>;
  /** Runs the entry's default export in a fresh module Web Worker (terminated afterwards). */
  runInWorker<Result = unknown>(entry: string, input?: unknown): Promise<Result>;
  /**
   * Bundles any browser script (e.g. a real app worker) and returns its absolute URL on the
   * harness server, for an entry that starts its own `new Worker(url, { type: 'module' })`.
   */
  serve(entry: string): Promise<string>;
  /** The page everything runs in, for whatever the helpers above do not cover. */
  readonly page: Page;
  /** Another tab on the harness origin (same profile: shares storage and Web Locks with `page`). */
  openTab(): Promise<HarnessTab>;
  /** http://127.0.0.1:<port> */
  readonly origin: string;
  /** Chromium's version string, e.g. "156.0.8078.108". */
  readonly version: string;
  /** Closes the browser and the server; safe to call more than once. */
  close(): Promise<void>;
}

export interface HarnessTab {
  readonly page: Page;
  runInPage<Result = unknown>(entry: string, input?: unknown): Promise<Result>;
}

export interface LaunchOptions {
  /** A profile folder kept on disk (default: a throwaway in-memory profile). */
  readonly userDataDir?: string;
  /** The harness server's port (default: any free one); storage is per origin, so a restart that must find its data reuses the port. */
  readonly port?: number;
}

/** The browser side of a run: either the entry's result or its error, never both. */
type Outcome = { ok: true; value: unknown } | { ok: false; error: string };

export function chromiumPath(): string {
  const path = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  if (!existsSync(path)) {
    throw new Error(
      `Chromium not found: install it with "apt-get install -y chromium" (or set CHROMIUM_PATH); looked at ${path}`,
    );
  }
  return path;
}

/** Turns a thrown value into the text carried back to Node (shared by page and worker wrappers). */
const DESCRIBE_ERROR = `(error) => error instanceof Error ? (error.stack && error.stack.includes(error.message) ? error.stack : error.name + ': ' + error.message + '\\n' + (error.stack ?? '')) : String(error)`;

/**
 * The page's own script. It lives in the HTML, not in functions passed to `page.evaluate`, because
 * vitest and tsx rewrite such functions (dynamic `import()`, `__name` helpers) into code that only
 * exists in Node.
 */
const HARNESS_PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>harness</title><script>
window.harness = {
  async inPage(url, input) {
    const module = await import(url);
    return module.runEntry(input);
  },
  inWorker(url, input) {
    return new Promise((done) => {
      const worker = new Worker(url, { type: 'module' });
      const finish = (outcome) => { worker.terminate(); done(outcome); };
      worker.onmessage = (event) => finish(event.data);
      worker.onerror = (event) => {
        event.preventDefault();
        finish({ ok: false, error: 'worker error: ' + (event.message || 'the worker script failed to load') });
      };
      worker.onmessageerror = () => finish({ ok: false, error: 'the worker result could not be cloned' });
      worker.postMessage(input);
    });
  },
};
</script></head><body></body></html>`;

interface HarnessWindow {
  harness: {
    inPage(url: string, input: unknown): Promise<Outcome>;
    inWorker(url: string, input: unknown): Promise<Outcome>;
  };
}

/** A page module: exports `runEntry(input)` resolving to an Outcome. */
const pageWrapper = (entryPath: string): string => `
import run from ${JSON.stringify(entryPath)};
const describe = ${DESCRIBE_ERROR};
export async function runEntry(input) {
  try {
    return { ok: true, value: await run(input) };
  } catch (error) {
    return { ok: false, error: describe(error) };
  }
}`;

/** A worker module: answers each message with the entry's Outcome for that input. */
const workerWrapper = (entryPath: string): string => `
import run from ${JSON.stringify(entryPath)};
const describe = ${DESCRIBE_ERROR};
self.onmessage = async (event) => {
  let outcome;
  try {
    outcome = { ok: true, value: await run(event.data) };
  } catch (error) {
    outcome = { ok: false, error: describe(error) };
  }
  self.postMessage(outcome);
};`;

async function bundle(entryPath: string, wrapper?: (path: string) => string): Promise<string> {
  const result = await build({
    ...(wrapper
      ? {
          stdin: {
            contents: wrapper(entryPath),
            resolveDir: dirname(entryPath),
            sourcefile: 'harness-wrapper.js',
          },
        }
      : { entryPoints: [entryPath] }),
    bundle: true,
    write: false,
    format: 'esm',
    target: 'es2022',
    platform: 'browser',
    sourcemap: 'inline',
    logLevel: 'silent',
  });
  const output = result.outputFiles[0];
  if (!output) throw new Error(`esbuild produced no output for ${entryPath}`);
  return output.text;
}

function unwrap<Result>(outcome: Outcome, where: string, entry: string): Result {
  if (!outcome.ok) throw new Error(`${entry} failed in Chromium (${where}):\n${outcome.error}`);
  return outcome.value as Result;
}

/** Starts the server and Chromium; the caller must `close()` the session (use try/finally). */
export async function launchChromium(options: LaunchOptions = {}): Promise<ChromiumSession> {
  const executablePath = chromiumPath();
  const scripts = new Map<string, string>(); // URL path → JavaScript
  const server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://127.0.0.1').pathname;
    const script = scripts.get(path);
    if (script !== undefined) {
      response.writeHead(200, {
        'content-type': 'text/javascript; charset=utf-8',
        'cache-control': 'no-store',
      });
      response.end(script);
    } else if (path === '/') {
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      response.end(HARNESS_PAGE);
    } else {
      response.writeHead(404).end();
    }
  });
  await new Promise<void>((done, fail) => {
    server.once('error', fail);
    server.listen(options.port ?? 0, '127.0.0.1', done);
  });
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const closeServer = (): Promise<void> =>
    new Promise((done) => {
      server.closeAllConnections();
      server.close(() => done());
    });

  let browser: Browser | BrowserContext | undefined;
  try {
    browser = options.userDataDir
      ? await chromium.launchPersistentContext(options.userDataDir, {
          executablePath,
          args: CHROMIUM_FLAGS,
        })
      : await chromium.launch({ executablePath, args: CHROMIUM_FLAGS });
    const context = 'newContext' in browser ? await browser.newContext() : browser;
    const version = 'version' in browser ? browser.version() : (context.browser()?.version() ?? '');
    const page = await context.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.stack ?? error.message));
    await page.goto(`${origin}/`);

    let counter = 0;
    const bundled = new Map<string, Promise<string>>(); // kind + absolute path → URL path
    const urlPathFor = (entry: string, kind: 'page' | 'worker' | 'raw'): Promise<string> => {
      const entryPath = resolve(entry);
      const cacheKey = `${kind}:${entryPath}`;
      let urlPath = bundled.get(cacheKey);
      if (!urlPath) {
        const wrapper =
          kind === 'page' ? pageWrapper : kind === 'worker' ? workerWrapper : undefined;
        urlPath = bundle(entryPath, wrapper).then((code) => {
          const path = `/bundle/${++counter}-${kind}.js`;
          scripts.set(path, code);
          return path;
        });
        urlPath.catch(() => bundled.delete(cacheKey));
        bundled.set(cacheKey, urlPath);
      }
      return urlPath;
    };
    const withPageErrors = (error: unknown): never => {
      const extra = pageErrors.length > 0 ? `\nuncaught in page:\n${pageErrors.join('\n')}` : '';
      throw error instanceof Error
        ? Object.assign(error, { message: error.message + extra })
        : error;
    };

    const runInPageOf = async <Result>(
      tab: Page,
      entry: string,
      input?: unknown,
    ): Promise<Result> => {
      const url = origin + (await urlPathFor(entry, 'page'));
      const outcome = await tab
        .evaluate(
          ([url, input]) => (window as unknown as HarnessWindow).harness.inPage(url, input),
          [url, input] as const,
        )
        .catch(withPageErrors);
      return unwrap<Result>(outcome, 'page', entry);
    };

    const openBrowser = browser;
    let closed = false;
    return {
      page,
      origin,
      version,
      runInPage: (entry, input) => runInPageOf(page, entry, input),
      async openTab(): Promise<HarnessTab> {
        const tab = await context.newPage();
        await tab.goto(`${origin}/`);
        return { page: tab, runInPage: (entry, input) => runInPageOf(tab, entry, input) };
      },
      async runInWorker<Result>(entry: string, input?: unknown): Promise<Result> {
        const url = origin + (await urlPathFor(entry, 'worker'));
        const outcome = await page
          .evaluate(
            ([url, input]) => (window as unknown as HarnessWindow).harness.inWorker(url, input),
            [url, input] as const,
          )
          .catch(withPageErrors);
        return unwrap<Result>(outcome, 'worker', entry);
      },
      async serve(entry: string): Promise<string> {
        return origin + (await urlPathFor(entry, 'raw'));
      },
      async close(): Promise<void> {
        if (closed) return;
        closed = true;
        try {
          await openBrowser.close();
        } finally {
          await closeServer();
        }
      },
    };
  } catch (error) {
    await browser?.close().catch(() => undefined);
    await closeServer();
    throw error;
  }
}

/** Launches Chromium, runs `use`, and closes everything whatever happens. */
export async function withChromium<T>(
  use: (session: ChromiumSession) => Promise<T>,
  options: LaunchOptions = {},
): Promise<T> {
  const session = await launchChromium(options);
  try {
    return await use(session);
  } finally {
    await session.close();
  }
}
