/**
 * The production PWA as it runs behind CloudFront, on this machine: a private local stack, a
 * production build (plus the policy probe beside it) served by the local cloud's production
 * server with the headers of infra/web-policy.ts, the CSP's WebSocket and bucket origins naming
 * the local gateway and S3, and Chromium. Every page records the CSP violations it sees.
 *
 *   const web = await startProductionWeb();
 *   const { page, violations } = await web.open('/');       // the app itself
 *   ... drive the page ...
 *   expect(await violations()).toEqual([]);
 *   await web.stop();
 */
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { localPolicyOrigins, startWebServer, type WebServer } from '../../infra/local/web';
import type { WebPolicyOrigins } from '../../infra/web-policy';
import { CHROMIUM_FLAGS, chromiumPath } from '../../tools/chromium';
import type { PolicyProbe, ProbeStep } from '../browser/policy-probe/probe';
import { startTestStack, tempDataDir } from '../../tools/local-stack';
import { freePort } from '../../tools/processes';
import { buildPwa } from '../../tools/web-build';
import { POLICY_PROBE_PATH, buildPolicyProbe } from './policy-probe-build';

export interface CspViolation {
  /** The directive that refused it, e.g. `script-src-elem`. */
  readonly directive: string;
  /** What it refused: a URL, `inline`, `eval`, `wasm-eval`, ... */
  readonly blocked: string;
}

export interface PolicyPage {
  readonly page: Page;
  readonly context: BrowserContext;
  /** Every securitypolicyviolation the document has seen since it loaded. */
  violations(): Promise<CspViolation[]>;
  close(): Promise<void>;
}

export type ProbeOutcome<S extends ProbeStep> =
  { ok: true; value: Awaited<ReturnType<PolicyProbe[S]>> } | { ok: false; error: string };

export interface ProbePage extends PolicyPage {
  /** Runs one step of test/browser/policy-probe/probe.ts in the page. */
  step<S extends ProbeStep>(
    name: S,
    ...input: Parameters<PolicyProbe[S]>
  ): Promise<ProbeOutcome<S>>;
}

export interface OpenOptions {
  /** Rewrites the page's Content-Security-Policy (to show a check fails without a directive). */
  readonly alterPolicy?: (policy: string) => string;
}

export interface ProductionWeb {
  readonly stack: Awaited<ReturnType<typeof startTestStack>>;
  readonly web: WebServer;
  /** e.g. http://127.0.0.1:<port>/ */
  readonly url: string;
  /** What the served CSP names besides 'self'. */
  readonly origins: WebPolicyOrigins;
  /** A fresh browser context (no service worker yet) with a page at `path`. */
  open(path?: string, options?: OpenOptions): Promise<PolicyPage>;
  /** A fresh context with the policy probe loaded. */
  openProbe(options?: OpenOptions): Promise<ProbePage>;
  stop(): Promise<void>;
}

/** Records violations from the very start of every document, before the page's own scripts. */
const RECORD_VIOLATIONS = `
  window.__cspViolations = [];
  document.addEventListener('securitypolicyviolation', (event) => {
    window.__cspViolations.push({ directive: event.effectiveDirective, blocked: event.blockedURI });
  });
`;

/** A step as page script (a string: vitest would rewrite a function into Node-only code). */
const probeStep = (name: string, input: unknown) => `(async () => {
  try {
    return { ok: true, value: await window.policyProbe[${JSON.stringify(name)}](${JSON.stringify(input) ?? ''}) };
  } catch (error) {
    return { ok: false, error: String(error) };
  }
})()`;

export async function startProductionWeb(): Promise<ProductionWeb> {
  const build = tempDataDir();
  const [stack, port] = await Promise.all([startTestStack(), freePort()]);
  let web: WebServer | undefined;
  let browser: Browser | undefined;
  try {
    await buildPwa(build.dir, 'production-policy');
    await buildPolicyProbe(build.dir);
    const serverOptions = {
      port,
      host: '127.0.0.1',
      gatewayUrl: stack.endpoints.websocket,
      s3Endpoint: stack.endpoints.s3,
      builtDir: build.dir,
    };
    web = await startWebServer(serverOptions);
    browser = await chromium.launch({ executablePath: chromiumPath(), args: CHROMIUM_FLAGS });
    const url = web.url;
    const openedBrowser = browser;

    const open = async (path = '/', options: OpenOptions = {}): Promise<PolicyPage> => {
      const context = await openedBrowser.newContext();
      await context.addInitScript(RECORD_VIOLATIONS);
      if (options.alterPolicy) {
        const alter = options.alterPolicy;
        // A document the test fulfils has no address space, so Chromium takes it for a public
        // page and refuses its connections to 127.0.0.1 (Local Network Access); the served
        // document is local and needs no grant.
        await context.grantPermissions(['local-network-access']);
        await context.route(new URL(path, url).href, async (route) => {
          const response = await route.fetch();
          const headers = response.headers();
          headers['content-security-policy'] = alter(headers['content-security-policy']!);
          await route.fulfill({ response, headers });
        });
      }
      const page = await context.newPage();
      await page.goto(new URL(path, url).href);
      return {
        page,
        context,
        violations: () => page.evaluate('window.__cspViolations') as Promise<CspViolation[]>,
        close: () => context.close(),
      };
    };

    return {
      stack,
      web,
      url,
      origins: localPolicyOrigins(serverOptions),
      open,
      async openProbe(options = {}) {
        const opened = await open(`${POLICY_PROBE_PATH}index.html`, options);
        await opened.page.waitForFunction('window.policyProbe !== undefined');
        return {
          ...opened,
          step: (name, ...input) =>
            opened.page.evaluate(probeStep(name, input[0])) as Promise<never>,
        };
      },
      async stop() {
        await openedBrowser.close();
        await web?.close();
        await stack.stop();
        build.remove();
      },
    };
  } catch (error) {
    await browser?.close();
    await web?.close();
    await stack.stop();
    build.remove();
    throw error;
  }
}
