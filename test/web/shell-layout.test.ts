/**
 * The app frame as `npm start` serves it (Vite dev server in the local stack), in Chromium, before
 * anyone signs in: one pane on a 360 px phone and two on a desktop, no axe-core violations (WCAG 2
 * A/AA: contrast, names, landmarks) on any route in light and dark, and a keyboard path through
 * the app. The signed-in screens are checked the same way in test/web/chat.test.ts.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { LocalStack } from '../../infra/local/stack';
import { CHROMIUM_FLAGS, chromiumPath } from '../../tools/chromium';
import { startTestStack } from '../../tools/local-stack';
import { freePort } from '../../tools/processes';

const AXE_SOURCE = readFileSync(
  createRequire(import.meta.url).resolve('axe-core/axe.min.js'),
  'utf8',
);
const PHONE = { width: 360, height: 740 };
const DESKTOP = { width: 1280, height: 800 };
const ROUTES = ['#/', '#/chat/u%3Aalice', '#/new', '#/groups', '#/settings', '#/nowhere'];

let stack: LocalStack;
let browser: Browser;
let base: string;

beforeAll(async () => {
  stack = await startTestStack({ web: true, webPort: await freePort() });
  base = stack.endpoints.web!;
  browser = await chromium.launch({ executablePath: chromiumPath(), args: CHROMIUM_FLAGS });
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

interface AxeViolation {
  id: string;
  help: string;
  nodes: { target: string[] }[];
}

async function axeViolations(page: Page): Promise<string[]> {
  if (!(await page.evaluate('typeof window.axe !== "undefined"')))
    await page.addScriptTag({ content: AXE_SOURCE });
  const violations = (await page.evaluate(
    `axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] } }).then((r) => r.violations.map((v) => ({ id: v.id, help: v.help, nodes: v.nodes.map((n) => ({ target: n.target })) })))`,
  )) as AxeViolation[];
  return violations.map(
    (v) => `${v.id}: ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`,
  );
}

async function openAt(size: typeof PHONE, colorScheme: 'light' | 'dark', route = '#/') {
  const context = await browser.newContext({ viewport: size, colorScheme });
  const page = await context.newPage();
  await page.goto(base + route);
  await page.getByTestId('status').filter({ hasText: 'Connected to' }).waitFor();
  return { context, page };
}

describe('app frame', () => {
  it('shows one pane at a time on a 360 px phone and both panes on a desktop', async () => {
    const phone = await openAt(PHONE, 'light');
    try {
      const list = phone.page.locator('#list-pane');
      const main = phone.page.locator('#main-pane');
      expect(await list.isVisible()).toBe(true);
      expect(await main.isVisible()).toBe(false);
      await phone.page.getByRole('heading', { name: 'Sign in' }).waitFor();
      await phone.page.getByRole('link', { name: 'Settings' }).click();
      await phone.page.getByRole('heading', { name: 'Settings' }).waitFor();
      expect(await list.isVisible()).toBe(false);
      await phone.page.getByRole('link', { name: 'Back to chats' }).click();
      await phone.page.getByRole('heading', { name: 'Sign in' }).waitFor();
      expect(await main.isVisible()).toBe(false);
      // Nothing overflows the phone's width.
      expect(await phone.page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(
        PHONE.width,
      );
    } finally {
      await phone.context.close();
    }

    const desktop = await openAt(DESKTOP, 'light', '#/settings');
    try {
      await desktop.page.getByRole('heading', { name: 'Settings' }).waitFor();
      expect(await desktop.page.locator('#list-pane').isVisible()).toBe(true);
      expect(await desktop.page.getByRole('link', { name: 'Back to chats' }).isVisible()).toBe(
        false,
      );
      const [listBox, mainBox] = await Promise.all([
        desktop.page.locator('#list-pane').boundingBox(),
        desktop.page.locator('#main-pane').boundingBox(),
      ]);
      expect(mainBox!.x).toBeGreaterThanOrEqual(listBox!.x + listBox!.width);
    } finally {
      await desktop.context.close();
    }
  });

  for (const colorScheme of ['light', 'dark'] as const) {
    it(`has no axe-core (WCAG AA) violations on any route, phone and desktop, ${colorScheme} theme`, async () => {
      for (const size of [PHONE, DESKTOP]) {
        const { context, page } = await openAt(size, colorScheme);
        try {
          const background = await page.evaluate(
            'getComputedStyle(document.documentElement).backgroundColor',
          );
          expect(background).toBe(
            colorScheme === 'dark' ? 'rgb(15, 23, 20)' : 'rgb(255, 255, 255)',
          );
          for (const route of ROUTES) {
            await page.goto(base + route);
            await page.locator('h2[tabindex="-1"]:visible').first().waitFor();
            expect(await axeViolations(page), `${route} at ${size.width} px`).toEqual([]);
          }
        } finally {
          await context.close();
        }
      }
    });
  }

  it('follows the theme chosen in Settings over the system one, and keeps it across reloads', async () => {
    const { context, page } = await openAt(DESKTOP, 'light', '#/settings');
    try {
      await page.getByRole('radio', { name: 'Dark' }).check();
      const background = 'getComputedStyle(document.documentElement).backgroundColor';
      expect(await page.evaluate(background)).toBe('rgb(15, 23, 20)');
      await page.reload();
      await page.getByRole('radio', { name: 'Dark' }).waitFor();
      expect(await page.getByRole('radio', { name: 'Dark' }).isChecked()).toBe(true);
      expect(await page.evaluate(background)).toBe('rgb(15, 23, 20)');
      expect(await axeViolations(page)).toEqual([]);
      await page.getByRole('radio', { name: 'Same as the system' }).check();
      expect(await page.evaluate(background)).toBe('rgb(255, 255, 255)');
    } finally {
      await context.close();
    }
  });

  it('works from the keyboard: skip link, named controls in order, Enter opens a screen and focus follows', async () => {
    const { context, page } = await openAt(PHONE, 'light');
    try {
      // A field's name is its label's text; a control's, its aria-label or text.
      const focused = () =>
        page.evaluate(
          `(() => { const e = document.activeElement; const label = e.labels?.[0]?.textContent; return (label || e.getAttribute('aria-label') || e.textContent || '').trim().replace(/\\s+/g, ' '); })()`,
        ) as Promise<string>;
      const order: string[] = [];
      for (let i = 0; i < 7; i++) {
        await page.keyboard.press('Tab');
        order.push(await focused());
      }
      // The sign-in button is disabled until both fields are filled, so it is skipped.
      expect(order).toEqual([
        'Skip to content',
        'Chats',
        'Groups',
        'Settings',
        'User name',
        'Password',
        'Create an account',
      ]);
      await page.keyboard.press('Enter');
      await page.getByRole('heading', { name: 'Create an account' }).waitFor();
      await page.getByRole('link', { name: 'Settings' }).focus();
      await page.keyboard.press('Enter');
      await page.getByRole('heading', { name: 'Settings' }).waitFor();
      await page.waitForFunction(`document.activeElement.textContent === 'Settings'`);

      // Into Settings and change the theme with arrow keys.
      await page.goto(`${base}#/settings`);
      await page.getByRole('radio', { name: 'Same as the system' }).focus();
      await page.keyboard.press('ArrowDown');
      expect(await page.getByRole('radio', { name: 'Light' }).isChecked()).toBe(true);
      await page.keyboard.press('ArrowDown');
      expect(await page.evaluate('document.documentElement.dataset.theme')).toBe('dark');
    } finally {
      await context.close();
    }
  });
});
