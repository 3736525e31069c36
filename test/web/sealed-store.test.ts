/**
 * The PWA's sealed key-value store (web/src/platform/sealed-store.ts) in real Chromium: values
 * and key names sealed under a non-extractable key, readable again after a restart without a
 * password, tampering detected, and `clear()` deleting everything.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, type ChromiumSession } from '../../tools/chromium';
import { tempDataDir } from '../../tools/local-stack';
import { freePort } from '../../tools/processes';

const ENTRY = 'test/browser/entries/sealed-store.entry.ts';
const SECRET = 'the private key of alice 5f2b9c1e7a40d3';
const KEY_NAME = 'contacts/bob-the-pinned-contact';

describe('sealed store in one page', () => {
  let chromium: ChromiumSession;
  const run = <T>(input: unknown) => chromium.runInPage<T>(ENTRY, input);
  beforeAll(async () => {
    chromium = await launchChromium();
  });
  afterAll(() => chromium.close());

  it('reads back what it stored, lists keys by prefix, deletes, and keeps nothing readable in IndexedDB', async () => {
    await run({ op: 'open', name: 'store-a' });
    await run({ op: 'set', key: KEY_NAME, value: SECRET });
    await run({ op: 'set', key: 'contacts/carol', value: 'c' });
    await run({ op: 'set', key: 'settings/theme', value: 'dark' });
    expect(await run({ op: 'get', key: KEY_NAME })).toBe(SECRET);
    expect(await run({ op: 'get', key: 'missing' })).toBeNull();
    expect(await run({ op: 'keys', prefix: 'contacts/' })).toEqual([KEY_NAME, 'contacts/carol']);

    const raw = await run<{
      recordIds: string[];
      recordBytes: string[];
      keys: { algorithm: string; extractable: boolean; usages: string[] }[];
      exportable: boolean[];
    }>({ op: 'raw', name: 'store-a' });
    expect(raw.recordIds).toHaveLength(3);
    for (const bytes of raw.recordBytes) {
      expect(bytes).not.toContain('alice');
      expect(bytes).not.toContain('bob');
      expect(bytes).not.toContain('contacts');
      expect(bytes).not.toContain('dark');
    }
    expect(raw.recordIds.every((id) => /^[0-9a-f]{64}$/.test(id))).toBe(true);
    expect(raw.keys).toEqual([
      { algorithm: 'AES-GCM', extractable: false, usages: ['encrypt', 'decrypt'] },
      { algorithm: 'HMAC', extractable: false, usages: ['sign'] },
    ]);
    expect(raw.exportable).toEqual([false, false]);

    await run({ op: 'delete', key: 'contacts/carol' });
    expect(await run({ op: 'keys' })).toEqual([KEY_NAME, 'settings/theme']);
  });

  it('refuses a record whose ciphertext was changed on disk', async () => {
    await run({ op: 'open', name: 'store-b' });
    await run({ op: 'set', key: 'k', value: 'v' });
    expect(await run({ op: 'tamper', name: 'store-b' })).toBe(1);
    expect(await run({ op: 'get', key: 'k' })).toMatch(
      /^SealedRecordError: .*failed its integrity check/,
    );
  });

  it('clear() deletes the records, the keys and the database, and closes the store', async () => {
    await run({ op: 'open', name: 'store-c' });
    await run({ op: 'set', key: 'k', value: 'v' });
    expect(await run({ op: 'databases' })).toContain('store-c');
    await run({ op: 'clear' });
    expect(await run({ op: 'databases' })).not.toContain('store-c');
    expect(await run({ op: 'get', key: 'k' })).toMatch(/^StoreClosedError/);
    // Opening again starts empty, under a new key.
    await run({ op: 'open', name: 'store-c' });
    expect(await run({ op: 'keys' })).toEqual([]);
  });

  it('clear() in one tab closes the store open in another tab', async () => {
    await run({ op: 'open', name: 'store-d' });
    await run({ op: 'set', key: 'k', value: 'v' });
    const other = await chromium.openTab();
    await other.runInPage(ENTRY, { op: 'open', name: 'store-d' });
    expect(await other.runInPage(ENTRY, { op: 'get', key: 'k' })).toBe('v');
    await run({ op: 'clear' });
    expect(await run({ op: 'databases' })).not.toContain('store-d');
    expect(await other.runInPage(ENTRY, { op: 'get', key: 'k' })).toMatch(/^StoreClosedError/);
    await other.page.close();
  });
});

/** Every file under `dir`, as latin1 text (the profile's IndexedDB files on disk). */
function filesUnder(dir: string): { path: string; text: string }[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return filesUnder(path);
    return [{ path, text: readFileSync(path).toString('latin1') }];
  });
}

describe('sealed store on disk', () => {
  const profile = tempDataDir();
  afterAll(() => profile.remove());

  it('opens again after a browser restart without any password, and its files hold no plaintext', async () => {
    const control = 'an-unsealed-control-marker-8c1d4e';
    const launch = { userDataDir: profile.dir, port: await freePort() };
    const first = await launchChromium(launch);
    try {
      await first.runInPage(ENTRY, { op: 'open', name: 'disk-store' });
      await first.runInPage(ENTRY, { op: 'set', key: KEY_NAME, value: SECRET });
      // The control: the same bytes stored plainly must be found, or the search proves nothing.
      await first.page.evaluate(`new Promise((done) => {
        const request = indexedDB.open('control-db');
        request.onupgradeneeded = () => request.result.createObjectStore('plain');
        request.onsuccess = () => {
          const tx = request.result.transaction('plain', 'readwrite');
          tx.objectStore('plain').put(new TextEncoder().encode(${JSON.stringify(control)}), 'k');
          tx.oncomplete = () => { request.result.close(); done(true); };
        };
      })`);
    } finally {
      await first.close();
    }

    const files = filesUnder(profile.dir).filter((f) => /IndexedDB/i.test(f.path));
    expect(files.length).toBeGreaterThan(0);
    expect(files.some((f) => f.text.includes(control))).toBe(true);
    for (const file of files) {
      expect(file.text, file.path).not.toContain(SECRET);
      expect(file.text, file.path).not.toContain(KEY_NAME);
    }

    const second = await launchChromium(launch);
    try {
      await second.runInPage(ENTRY, { op: 'open', name: 'disk-store' });
      expect(await second.runInPage(ENTRY, { op: 'get', key: KEY_NAME })).toBe(SECRET);
    } finally {
      await second.close();
    }
  });
});
