/**
 * The attachments probe (test/browser/attachments-probe/) as people use it: a private local stack,
 * the probe built by Vite as the app is built and served by the local cloud's production server
 * (production headers, CSP included), and one Chromium per person with its own profile on disk
 * (so OPFS is on disk, as on a phone) and a fake microphone for voice notes. Each person's
 * browser carries a marker flag, so its renderer processes can be found for memory figures.
 */
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { build } from 'vite';
import { startWebServer, type WebServer } from '../../infra/local/web';
import { CHROMIUM_FLAGS, chromiumPath } from '../../tools/chromium';
import { startTestStack, tempDataDir } from '../../tools/local-stack';
import { freePort } from '../../tools/processes';

export const ATTACHMENTS_PROBE_ROOT = resolve(import.meta.dirname, '../browser/attachments-probe');

export const PASSWORD = 'violet-Harbor-93-quiet-lantern';

/** Lets a page record audio from Chromium's fake microphone (a beep) without a prompt. */
const FAKE_MEDIA_FLAGS = ['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream'];

export interface Person {
  readonly name: string;
  readonly page: Page;
  readonly context: BrowserContext;
  /** Calls `window.attachmentsProbe[method](input)` in the page. */
  probe<T = unknown>(method: string, input?: unknown): Promise<T>;
  /** Resident memory of this person's renderer processes (where the page and its workers run). */
  rendererMemory(): RendererMemory;
  /** Runs a full garbage collection in the page and each of its workers (needs `exposeGc`). */
  collectGarbage(): Promise<void>;
  /** Starts the renderers' peak (VmHWM) afresh from their current resident memory. */
  resetPeakMemory(): void;
  close(): Promise<void>;
}

export interface RendererMemory {
  readonly processes: number;
  /** Summed over the renderers, in bytes: now, and the highest since each process started. */
  readonly rss: number;
  readonly peakRss: number;
}

export interface AttachmentsWeb {
  readonly url: string;
  /** The stack's own WebSocket URL (for terminal clients). */
  readonly stackUrl: string;
  /** `exposeGc`: V8's `gc()` in the page and its workers (for live-memory figures). */
  openPerson(name: string, options?: { exposeGc?: boolean }): Promise<Person>;
  stop(): Promise<void>;
}

async function buildProbe(outDir: string): Promise<void> {
  await build({
    root: ATTACHMENTS_PROBE_ROOT,
    configFile: false,
    plugins: [svelte()],
    // The stack's test users sign up at the test cost of Argon2id, which production refuses.
    define: {
      __CIPHERLINE_PRODUCTION__: 'false',
      __CIPHERLINE_BUILD__: JSON.stringify('attachments-probe'),
    },
    worker: { format: 'es' },
    build: { outDir, emptyOutDir: true, target: 'es2022' },
    logLevel: 'warn',
  });
}

/** A string (not a function), since vitest rewrites functions into Node-only code. */
const callProbe = (method: string, input: unknown) =>
  `window.attachmentsProbe[${JSON.stringify(method)}](${JSON.stringify(input) ?? ''})`;

export async function startAttachmentsWeb(): Promise<AttachmentsWeb> {
  const built = tempDataDir();
  const profiles = tempDataDir();
  const [stack, port] = await Promise.all([startTestStack(), freePort()]);
  let web: WebServer | undefined;
  const people: Person[] = [];
  try {
    await buildProbe(built.dir);
    web = await startWebServer({
      port,
      host: '127.0.0.1',
      gatewayUrl: stack.endpoints.websocket,
      s3Endpoint: stack.endpoints.s3,
      builtDir: built.dir,
    });
    const url = web.url;
    return {
      url,
      stackUrl: stack.endpoints.websocket,
      async openPerson(name, options = {}) {
        const marker = `--cipherline-test-person=${name}-${process.pid}-${Date.now()}`;
        const context = await chromium.launchPersistentContext(join(profiles.dir, name), {
          executablePath: chromiumPath(),
          args: [
            ...CHROMIUM_FLAGS,
            ...FAKE_MEDIA_FLAGS,
            ...(options.exposeGc ? ['--js-flags=--expose-gc'] : []),
            marker,
          ],
          acceptDownloads: true,
        });
        const page = context.pages()[0] ?? (await context.newPage());
        await page.goto(url);
        // Polled from Node: the page's CSP refuses the eval that waitForFunction's polling uses.
        for (
          let tries = 0;
          !(await page.evaluate('window.attachmentsProbe !== undefined'));
          tries++
        ) {
          if (tries > 300) throw new Error('the attachments probe did not start');
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
        const person: Person = {
          name,
          page,
          context,
          probe: <T>(method: string, input?: unknown) =>
            page.evaluate(callProbe(method, input)) as Promise<T>,
          rendererMemory: () => rendererMemory(marker),
          collectGarbage: async () => {
            await Promise.all(
              [
                page.evaluate('gc()'),
                ...page.workers().map((worker) => worker.evaluate('gc()')),
              ].map((collected) => collected.catch(() => undefined)),
            );
          },
          resetPeakMemory: () => {
            // Writing 5 to clear_refs resets the peak resident set size (Linux 4.0+).
            for (const pid of rendererPids(marker)) writeFileSync(`/proc/${pid}/clear_refs`, '5');
          },
          close: () => context.close(),
        };
        people.push(person);
        return person;
      },
      async stop() {
        await Promise.all(people.map((person) => person.close().catch(() => undefined)));
        await web?.close();
        await stack.stop();
        built.remove();
        profiles.remove();
      },
    };
  } catch (error) {
    await web?.close();
    await stack.stop();
    built.remove();
    profiles.remove();
    throw error;
  }
}

/** Signs `people` up (names made unique per run) in parallel; returns their user ids. */
export function signUpAll(people: readonly Person[]): Promise<string[]> {
  const suffix = Date.now().toString(36);
  return Promise.all(
    people.map((person) =>
      person.probe<string>('signUp', { username: `${person.name}-${suffix}`, password: PASSWORD }),
    ),
  );
}

/** Signs two people up and opens their 1:1 chat on both sides. */
export async function openDirectChat(first: Person, second: Person): Promise<[string, string]> {
  const [firstId, secondId] = (await signUpAll([first, second])) as [string, string];
  await first.probe('openChat', { kind: 'direct', with: secondId });
  await second.probe('openChat', { kind: 'direct', with: firstId });
  return [firstId, secondId];
}

// ---------------------------------------------------------------------------------------------
// Renderer memory from /proc (Linux).

interface ProcessInfo {
  readonly pid: number;
  readonly parent: number;
  readonly commandLine: string;
}

function processes(): ProcessInfo[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .flatMap((name) => {
      try {
        const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
        // The command name (2nd field) may hold spaces: the parent pid follows its ')'.
        const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
        const commandLine = readFileSync(`/proc/${name}/cmdline`, 'utf8').replace(/\0/g, ' ');
        return [{ pid: Number(name), parent, commandLine }];
      } catch {
        return []; // it ended meanwhile
      }
    });
}

function statusBytes(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
  return match ? Number(match[1]) * 1024 : 0;
}

/** The renderer processes under the browser started with `marker`. */
function rendererPids(marker: string): number[] {
  const all = processes();
  const browser = all.find(
    (info) => info.commandLine.includes(marker) && !info.commandLine.includes('--type='),
  );
  if (!browser) throw new Error(`no browser process with ${marker}`);
  const descendants = new Set([browser.pid]);
  for (let grew = true; grew;) {
    grew = false;
    for (const info of all)
      if (descendants.has(info.parent) && !descendants.has(info.pid)) {
        descendants.add(info.pid);
        grew = true;
      }
  }
  return all
    .filter((info) => descendants.has(info.pid) && info.commandLine.includes('--type=renderer'))
    .map((info) => info.pid);
}

function rendererMemory(marker: string): RendererMemory {
  const pids = rendererPids(marker);
  return {
    processes: pids.length,
    rss: pids.reduce((sum, pid) => sum + statusBytes(pid, 'VmRSS'), 0),
    peakRss: pids.reduce((sum, pid) => sum + statusBytes(pid, 'VmHWM'), 0),
  };
}
