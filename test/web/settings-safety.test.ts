/**
 * The account settings and the safety number (web/src/screens/settings/, web/src/screens/safety/)
 * on the PWA's real client against a local stack: the device list with a second device of the
 * account (a terminal client) signed out from the browser; changing the password (the new one
 * signs in, the old one no longer does); blocking and unblocking; the safety number the same in
 * two browsers and in the terminal client's SAFETY, its QR code carrying those 60 digits; and
 * the key-change warning with its accept action.
 */
import { join } from 'node:path';
import decodeQR from 'qr/decode.js';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  PASSWORD,
  signUpAll,
  startAttachmentsWeb,
  type AttachmentsWeb,
  type Person,
} from '../support/attachments-web';
import { CliProcess } from '../support/cli-process';
import { tempDataDir } from '../../tools/local-stack';

const NEW_PASSWORD = 'amber-Quarry-58-silent-meadow';
const SAFETY_LINE = /^ {2}((\d{5} ){11}\d{5})$/;

let web: AttachmentsWeb;
let alice: Person;
let bob: Person;
let aliceId: string;
let bobId: string;
const folders = tempDataDir();
const clis: CliProcess[] = [];

function cli(user: string, folder: string, options: { signup?: boolean; password?: string } = {}) {
  const process = new CliProcess({
    url: web.stackUrl,
    user,
    data: join(folders.dir, folder),
    password: options.password ?? PASSWORD,
    signup: options.signup ?? false,
    env: { CIPHERLINE_TEST_WEAK_KDF: '1' },
  });
  clis.push(process);
  return process;
}

beforeAll(async () => {
  web = await startAttachmentsWeb();
  [alice, bob] = await Promise.all([web.openPerson('alice'), web.openPerson('bob')]);
  [aliceId, bobId] = (await signUpAll([alice, bob])) as [string, string];
}, 240_000);

afterAll(async () => {
  for (const process of clis) process.child.kill();
  await web?.stop();
  folders.remove();
});

/** The 60 digits shown, without the grouping. */
const shownDigits = async (page: Page) =>
  (await page.getByTestId('safety-digits').innerText()).replace(/\s+/g, '');

/** Reads the QR code back from the rendered SVG path with an independent decoder. */
async function qrText(page: Page): Promise<string> {
  const svg = page.getByTestId('safety-qr');
  const size = Number((await svg.getAttribute('viewBox'))!.split(' ')[2]);
  const path = (await svg.locator('path').getAttribute('d'))!;
  const scale = 6;
  const width = size * scale;
  const data = new Uint8Array(width * width * 4).fill(255);
  for (const [, x, y] of path.matchAll(/M(\d+) (\d+)h1v1h-1z/g))
    for (let dy = 0; dy < scale; dy++)
      for (let dx = 0; dx < scale; dx++) {
        const pixel = ((Number(y) * scale + dy) * width + Number(x) * scale + dx) * 4;
        data.fill(0, pixel, pixel + 3);
      }
  return decodeQR({ width, height: width, data });
}

describe('account settings', () => {
  it('lists the devices and signs another device of the account out', async () => {
    const second = cli(aliceId, 'alice-second');
    await second.waitFor(new RegExp(`^Signed in as ${aliceId} `));
    await alice.probe('openSettings');
    const list = alice.page.getByTestId('device-list');
    await expect.poll(() => list.locator('li').count()).toBe(2);
    await expect.poll(() => list.innerText()).toMatch(/This device[\s\S]*Another device/);
    await list.getByRole('button', { name: /^Sign out the device added / }).click();
    await alice.page.getByRole('status').filter({ hasText: 'That device is signed out' }).waitFor();
    expect(await list.locator('li').count()).toBe(1);
    await second.waitFor(/^Signed out by the server/);
  });

  it('changes the password: the new one signs in elsewhere, the old one no longer does', async () => {
    await alice.page.getByLabel('Current password').fill(PASSWORD);
    await alice.page.getByLabel('New password', { exact: true }).fill(NEW_PASSWORD);
    await alice.page.getByLabel('New password again').fill(NEW_PASSWORD);
    await alice.page.getByRole('button', { name: 'Change the password' }).click();
    await alice.page.getByRole('status').filter({ hasText: 'The password is changed' }).waitFor();
    const withOld = cli(aliceId, 'alice-old');
    await withOld.waitFor(/^error: .*(wrong|invalid).*(password|credentials)/i);
    const withNew = cli(aliceId, 'alice-new', { password: NEW_PASSWORD });
    await withNew.waitFor(new RegExp(`^Signed in as ${aliceId} `));
    withNew.send('QUIT');
  });

  it('says so when the two new passwords differ, and changes nothing', async () => {
    await alice.page.getByLabel('Current password').fill(NEW_PASSWORD);
    await alice.page.getByLabel('New password', { exact: true }).fill('one-Thing-77-or-another');
    await alice.page.getByLabel('New password again').fill('one-Thing-77-or-other');
    await alice.page.getByRole('button', { name: 'Change the password' }).click();
    await alice.page
      .getByRole('alert')
      .filter({ hasText: 'The two new passwords differ' })
      .waitFor();
  });

  it('blocks a user and unblocks them', async () => {
    await alice.page.getByLabel('User to block').fill(bobId);
    await alice.page.getByRole('button', { name: 'Block', exact: true }).click();
    await alice.page
      .getByRole('status')
      .filter({ hasText: `${bobId} is blocked` })
      .waitFor();
    expect(await alice.page.getByTestId('blocked-list').innerText()).toContain(bobId);
    await alice.page.getByRole('button', { name: `Unblock ${bobId}` }).click();
    await alice.page.getByRole('status').filter({ hasText: 'is no longer blocked' }).waitFor();
    await alice.page.getByText('Nobody is blocked.').waitFor();
  });
});

describe('safety number', () => {
  it('is the same 60 digits in both browsers and in the terminal client, and its QR code carries them', async () => {
    await alice.probe('openSafety', bobId);
    await bob.probe('openSafety', aliceId);
    await alice.page.getByTestId('safety-qr').waitFor();
    await bob.page.getByTestId('safety-qr').waitFor();
    const aliceSees = await shownDigits(alice.page);
    expect(aliceSees).toMatch(/^\d{60}$/);
    expect(await shownDigits(bob.page)).toBe(aliceSees);
    expect(await qrText(alice.page)).toBe(aliceSees);
    expect(await qrText(bob.page)).toBe(aliceSees);
    // Grouped for reading: 12 groups of 5.
    expect(await alice.page.getByTestId('safety-digits').locator('span').count()).toBe(12);

    const carol = cli(`carol-${Date.now().toString(36)}`, 'carol', { signup: true });
    const carolId = carol.options.user;
    await carol.waitFor(new RegExp(`^Signed in as ${carolId} `));
    carol.send(`SAFETY ${aliceId}`);
    const terminal = (await carol.waitFor(SAFETY_LINE)).trim().replace(/ /g, '');
    await alice.probe('openSafety', carolId);
    await expect.poll(() => shownDigits(alice.page)).toBe(terminal);
    expect(await qrText(alice.page)).toBe(terminal);
  });

  it('warns when a contact’s keys changed, shows the new number, and accepts it on request', async () => {
    const current = '1'.repeat(30) + '2'.repeat(30);
    const next = '3'.repeat(30) + '4'.repeat(30);
    await alice.probe('openChangedSafety', { userId: 'dave', current, next });
    await alice.page.getByTestId('key-changed').waitFor();
    expect(await shownDigits(alice.page)).toBe(next);
    expect(await qrText(alice.page)).toBe(next);
    await alice.page
      .getByRole('button', { name: 'I compared them: accept the new keys of dave' })
      .click();
    await alice.page
      .getByRole('status')
      .filter({ hasText: 'The new keys of dave are accepted' })
      .waitFor();
    expect(await alice.probe('fakeAccepts')).toBe(1);
    expect(await alice.page.getByTestId('key-changed').count()).toBe(0);
  });
});
