/** The client crypto core runs unchanged in real Chromium: in a page and in a Web Worker. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, type ChromiumSession } from '../../tools/chromium';

const ENTRY = 'test/browser/entries/crypto-core.entry.ts';
let chromium: ChromiumSession;
beforeAll(async () => {
  chromium = await launchChromium();
}, 60_000);
afterAll(() => chromium?.close());

const expected = {
  directText: 'héllo from the browser',
  epoch: 2,
  change: ['bob'],
  forgedCode: 'BAD_SIGNATURE',
  rotationMembers: ['alice'],
  groupText: 'to the group',
  restoredContacts: ['bob'],
  wrongPasswordCode: 'WRONG_PASSWORD',
  restoredIdentity: true,
  rollbackCode: 'BACKUP_ROLLBACK',
  passwordVerdicts: [false, true],
  safetyEqual: true,
  safetyDigits: 60,
  fileIntact: true,
  utf8Check: '✓',
};

describe.each(['page', 'worker'] as const)('crypto core in a Chromium %s', (where) => {
  it('seals and opens 1:1 and group messages, restores a backup, agrees on safety numbers, round-trips a file', async () => {
    const result = await (where === 'page'
      ? chromium.runInPage<Record<string, unknown>>(ENTRY)
      : chromium.runInWorker<Record<string, unknown>>(ENTRY));
    expect(result).toMatchObject(expected);
    expect(['BAD_MAC', 'BAD_SIGNATURE']).toContain(result.tamperCode);
    expect(result.fileBlobBytes).toBeGreaterThan(300_000);
  }, 60_000);
});
