/** One active tab per device (web/src/platform/tab-guard.ts), with real Web Locks in Chromium. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, type ChromiumSession } from '../../tools/chromium';

const ENTRY = 'test/browser/entries/tab-guard.entry.ts';

describe('active tab guard', () => {
  let chromium: ChromiumSession;
  beforeAll(async () => {
    chromium = await launchChromium();
  });
  afterAll(() => chromium.close());

  it('makes the first tab active and the second a standby that can take over; closing a tab hands the role on', async () => {
    const lock = 'guard-test-1';
    const first = { page: chromium.page, runInPage: chromium.runInPage };
    const second = await chromium.openTab();
    const third = await chromium.openTab();

    expect(await first.runInPage(ENTRY, { op: 'start', lock })).toEqual({ role: 'active' });
    expect(await second.runInPage(ENTRY, { op: 'start', lock })).toEqual({
      role: 'standby',
      because: 'open-elsewhere',
    });

    expect(await second.runInPage(ENTRY, { op: 'takeOver' })).toEqual({ role: 'active' });
    await first.page.waitForFunction(`window.tabRoles.at(-1).role === 'standby'`);
    expect(await first.runInPage(ENTRY, { op: 'role' })).toEqual({
      role: 'standby',
      because: 'taken-over',
    });

    // A third tab queues behind the first standby.
    expect(await third.runInPage(ENTRY, { op: 'start', lock })).toEqual({
      role: 'standby',
      because: 'open-elsewhere',
    });

    // The active tab closes: the lock goes to the longest-waiting standby, and only to it.
    await second.page.close();
    await first.page.waitForFunction(`window.tabRoles.at(-1).role === 'active'`);
    expect(await third.runInPage(ENTRY, { op: 'role' })).toMatchObject({ role: 'standby' });

    // Releasing (sign-out) hands it to the next one.
    expect(await first.runInPage(ENTRY, { op: 'release' })).toEqual({ role: 'released' });
    await third.page.waitForFunction(`window.tabRoles.at(-1).role === 'active'`);
    await third.page.close();
  });
});
