/**
 * One person using the PWA in a browser context, driven the way a person does: by the controls'
 * accessible names (so the test also proves every control has one). The browser test's scenario
 * reads as a story of these calls; new steps (files, previews) add methods here.
 */
import { readFile } from 'node:fs/promises';
import type { Browser, BrowserContext, Page } from 'playwright-core';

export interface PersonOptions {
  readonly viewport?: { readonly width: number; readonly height: number };
}

export const PHONE = { width: 360, height: 740 } as const;
export const DESKTOP = { width: 1280, height: 800 } as const;

const escape = (value: string) => value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export class PwaPerson {
  private constructor(
    readonly name: string,
    readonly context: BrowserContext,
    readonly page: Page,
    readonly url: string,
  ) {}

  static async open(
    browser: Browser,
    url: string,
    name: string,
    options: PersonOptions = {},
  ): Promise<PwaPerson> {
    const context = await browser.newContext({
      viewport: options.viewport ?? DESKTOP,
      ...(options.viewport?.width === PHONE.width && { isMobile: true, hasTouch: true }),
    });
    const page = await context.newPage();
    page.setDefaultTimeout(60_000);
    await page.goto(url);
    return new PwaPerson(name, context, page, url);
  }

  /** A person on a page opened elsewhere (e.g. under a recorded CSP, test/support/production-web). */
  static attach(name: string, context: BrowserContext, page: Page, url: string): PwaPerson {
    page.setDefaultTimeout(60_000);
    return new PwaPerson(name, context, page, url);
  }

  get isPhone(): boolean {
    return (this.page.viewportSize()?.width ?? 0) < 768;
  }

  /** The form by its accessible name (sign-in and sign-up forms both have a "User name"). */
  form(name: string) {
    return this.page.getByRole('form', { name });
  }

  async signUp(password: string, options: { recoveryKey?: boolean } = {}): Promise<void> {
    await this.page.getByRole('button', { name: 'Create an account' }).click();
    const form = this.form('Create an account');
    await form.getByLabel('User name').fill(this.name);
    await form.getByLabel('Password', { exact: true }).fill(password);
    if (options.recoveryKey) await form.getByLabel(/recovery key/).check();
    await form.getByRole('button', { name: 'Create account' }).click();
  }

  async signIn(password: string, username = this.name): Promise<void> {
    const form = this.form('Sign in');
    await form.getByLabel('User name').fill(username);
    await form.getByLabel('Password', { exact: true }).fill(password);
    await form.getByRole('button', { name: 'Sign in' }).click();
  }

  /** Waits for the chat list of a signed-in person. */
  async signedIn(): Promise<void> {
    await this.page.goto(`${this.url}#/`);
    await this.page.getByRole('heading', { name: 'Chats', level: 2 }).waitFor();
  }

  async go(hash: string): Promise<void> {
    await this.page.goto(`${this.url}${hash}`);
  }

  /** Opens (or starts) the 1:1 chat with a user. */
  async chatWith(user: string): Promise<void> {
    await this.go('#/new');
    const form = this.form('New chat');
    await form.getByLabel('User name').fill(user);
    await form.getByRole('button', { name: 'Start chat' }).click();
    await this.page.getByRole('heading', { name: user, level: 2 }).waitFor();
  }

  async openChat(chatId: string, title: string): Promise<void> {
    await this.go(`#/chat/${encodeURIComponent(chatId)}`);
    await this.page.getByRole('heading', { name: title, level: 2 }).waitFor();
  }

  /** Types a line in the open chat's composer and sends it. */
  async type(line: string): Promise<void> {
    const composer = this.page.getByRole('textbox', { name: 'Message or command' });
    await composer.fill(line);
    await this.page.getByRole('button', { name: 'Send', exact: true }).click();
    // The composer empties once the line went out (polled from here: the production CSP refuses
    // the string functions waitForFunction would evaluate in the page).
    const deadline = Date.now() + 60_000;
    while ((await composer.inputValue()) !== '') {
      if (Date.now() > deadline) throw new Error(`${this.name}: "${line}" was not sent`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** Waits for a message containing `text` in the open chat. */
  async sees(text: string): Promise<void> {
    await this.page.getByTestId('message').filter({ hasText: text }).first().waitFor();
  }

  /** Waits for a classic command's answer in the open chat. */
  async answered(pattern: RegExp): Promise<string> {
    const answer = this.page.getByTestId('command-answer').filter({ hasText: pattern }).last();
    await answer.waitFor();
    return (await answer.textContent()) ?? '';
  }

  async seesNotice(pattern: RegExp): Promise<void> {
    await this.page.getByTestId('notice').filter({ hasText: pattern }).first().waitFor();
  }

  /** Sends files into the open chat with "Attach files" (or, on a phone, the camera's button). */
  async attach(paths: string | string[], button = 'Attach files'): Promise<void> {
    const [chooser] = await Promise.all([
      this.page.waitForEvent('filechooser'),
      this.page.getByRole('button', { name: button }).click(),
    ]);
    await chooser.setFiles(paths);
  }

  /** A file message in the open chat, by the file's name. */
  fileMessage(name: string) {
    return this.page.getByTestId('file-message').filter({ hasText: name });
  }

  /** Waits until a file in the open chat is on this device (sent, or received and decrypted). */
  async hasFile(name: string): Promise<void> {
    await this.fileMessage(name)
      .getByRole('link', { name: `Save ${name}` })
      .waitFor();
    await this.page.getByTestId('outgoing-file').filter({ hasText: name }).waitFor({
      state: 'detached',
    });
  }

  /** Saves a file of the open chat with its "Save" link; returns the bytes the browser saved. */
  async save(name: string): Promise<Buffer> {
    const [download] = await Promise.all([
      this.page.waitForEvent('download'),
      this.fileMessage(name)
        .getByRole('link', { name: `Save ${name}` })
        .click(),
    ]);
    return readFile(await download.path());
  }

  /** The chat list row of a chat (on a phone the list is the home screen). */
  chatRow(title: string) {
    return this.page.getByTestId('chat-row').filter({ hasText: new RegExp(`^${escape(title)}`) });
  }

  async screenshot(path: string): Promise<void> {
    await this.page.screenshot({ path, fullPage: false });
  }

  async close(): Promise<void> {
    await this.context.close();
  }
}
