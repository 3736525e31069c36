/**
 * The chat's attachment components (web/src/screens/chat/attachments/) between two people, each
 * in their own Chromium, on the PWA's real adapters against a local stack: files sent by the
 * picker, the camera input, drag and drop, paste and a recorded voice note; an image, a video and
 * the voice note previewed or played after decryption on both sides; another file offered for
 * saving with its name and size, and saved byte for byte; progress reported for every stage.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  openDirectChat,
  startAttachmentsWeb,
  type AttachmentsWeb,
  type Person,
} from '../support/attachments-web';
import { tempDataDir } from '../../tools/local-stack';
import { gradientPng, recordWebm, waitForMedia } from '../support/media-files';

let web: AttachmentsWeb;
let alice: Person;
let bob: Person;
const media = tempDataDir();
const IMAGE = join(media.dir, 'gradient.png');
const VIDEO = join(media.dir, 'clip.webm');
const OTHER = join(media.dir, 'notes.bin');

beforeAll(async () => {
  web = await startAttachmentsWeb();
  [alice, bob] = await Promise.all([web.openPerson('alice'), web.openPerson('bob')]);
  writeFileSync(IMAGE, gradientPng(96, 64));
  writeFileSync(VIDEO, await recordWebm(alice.page, 1200));
  writeFileSync(OTHER, Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 7) % 256)));
  await openDirectChat(alice, bob);
}, 240_000);

afterAll(async () => {
  await web?.stop();
  media.remove();
});

describe('attachments between two browsers', () => {
  it('sends an image and a video by the picker; both show as previews on both sides after decryption', async () => {
    await alice.page.setInputFiles('[data-testid="file-picker"]', [IMAGE, VIDEO]);
    for (const person of [bob, alice]) {
      expect(
        await waitForMedia(
          person.page,
          'img[alt="gradient.png"]',
          (s) => !!s.complete && !!s.width,
        ),
      ).toEqual({ complete: true, width: 96, height: 64 });
      const video = await waitForMedia(
        person.page,
        'video[aria-label="clip.webm"]',
        (s) => (s.readyState ?? 0) >= 1,
      );
      expect(video.error).toBeNull();
      expect(video.width).toBe(160);
    }
    // Every stage reported progress on its side.
    expect(Object.keys(await alice.probe<Record<string, number>>('progressCounts'))).toEqual(
      expect.arrayContaining(['send:encrypt', 'send:upload']),
    );
    expect(Object.keys(await bob.probe<Record<string, number>>('progressCounts'))).toEqual(
      expect.arrayContaining(['receive:download', 'receive:decrypt']),
    );
    // The sender's list of files on their way is empty again.
    await expect.poll(() => alice.page.locator('[data-testid="outgoing-file"]').count()).toBe(0);
  });

  it('records a voice note from the microphone; it plays on the other side', async () => {
    await alice.page.getByRole('button', { name: 'Record a voice note' }).click();
    await alice.page.getByRole('status').filter({ hasText: 'Recording 0:01' }).waitFor();
    await alice.page.getByRole('button', { name: 'Send voice note' }).click();
    const audio = await waitForMedia(
      bob.page,
      'audio[aria-label^="voice-note-"]',
      (s) => (s.readyState ?? 0) >= 1,
    );
    expect(audio.error).toBeNull();
    const names = (await bob.probe<{ type: string; name?: string }[]>('fileEvents'))
      .filter((event) => event.type === 'file-saved')
      .map((event) => event.name);
    expect(names.some((name) => /^voice-note-.*\.webm$/.test(name ?? ''))).toBe(true);
  });

  it('offers another file for saving with its name and size, and saves it byte for byte', async () => {
    await alice.page.setInputFiles('[data-testid="file-picker"]', OTHER);
    const link = bob.page.getByRole('link', { name: 'Save notes.bin' });
    await link.waitFor({ timeout: 60_000 });
    await expect
      .poll(() => bob.page.locator('[data-testid="file-message"]', { has: link }).innerText())
      .toMatch(/70 kB/);
    const [download] = await Promise.all([bob.page.waitForEvent('download'), link.click()]);
    expect(download.suggestedFilename()).toBe('notes.bin');
    const saved = join(media.dir, 'saved.bin');
    await download.saveAs(saved);
    expect(readFileSync(saved).equals(readFileSync(OTHER))).toBe(true);
  });

  it('sends files dropped on the chat, pasted into the composer, and from the camera input', async () => {
    const dropped = await alice.page.evaluateHandle(`(() => {
      const data = new DataTransfer();
      data.items.add(new File(['dropped bytes'], 'dropped.txt', { type: 'text/plain' }));
      return data;
    })()`);
    await alice.page.dispatchEvent('[data-testid="file-drop-zone"]', 'dragover', {
      dataTransfer: dropped,
    });
    await alice.page.getByText('Drop to send').waitFor();
    await alice.page.dispatchEvent('[data-testid="file-drop-zone"]', 'drop', {
      dataTransfer: dropped,
    });
    await alice.page.evaluate(`(() => {
      const data = new DataTransfer();
      data.items.add(new File(['pasted bytes'], 'pasted.txt', { type: 'text/plain' }));
      document.querySelector('[data-testid="composer"]').dispatchEvent(
        new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }));
    })()`);
    const camera = alice.page.locator('[data-testid="camera-picker"]');
    expect(await camera.getAttribute('capture')).toBe('environment');
    expect(await camera.getAttribute('accept')).toBe('image/*,video/*');
    await camera.setInputFiles(IMAGE);
    for (const name of ['dropped.txt', 'pasted.txt'])
      await bob.page.getByRole('link', { name: `Save ${name}` }).waitFor({ timeout: 60_000 });
    await expect.poll(() => bob.page.locator('img[alt="gradient.png"]').count()).toBe(2);
  });
});
