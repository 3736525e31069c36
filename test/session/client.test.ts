/**
 * The client session against the local stack: accounts (strong passwords, wrong credentials,
 * restore by password or recovery key), long texts through the blob store, several devices of one
 * account kept in step through the backup (notes to self, compare and swap with merge, unknown
 * prekey ids), and a restored device's summary of what it cannot open.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CipherlineError } from '../../client/session/errors';
import { startTestStack, tempDataDir } from '../../tools/local-stack';
import { connectNodeSocket } from '../../client/node/reconnecting-socket';
import type { ClientOptions } from '../../client/session/client';
import { isMessage, openDevice, type TestDevice } from '../support/session-client';

const PASSWORD = 'orange kettle drifts over seven hills';
let stack: Awaited<ReturnType<typeof startTestStack>>;
const work = tempDataDir();
const devices: TestDevice[] = [];
let folders = 0;

async function device(): Promise<TestDevice> {
  const opened = await openDevice(stack.endpoints.websocket, join(work.dir, `device-${folders++}`));
  devices.push(opened);
  return opened;
}

async function signedUp(username: string, options: { recoveryKey?: boolean } = {}) {
  const d = await device();
  const result = await d.client.signup({ username, password: PASSWORD, ...options });
  return { device: d, ...result };
}

async function signedIn(username: string, extra: { recoveryKey?: string } = {}) {
  const d = await device();
  await d.client.signin({ username, password: PASSWORD, ...extra });
  return d;
}

const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => {
      throw new Error('expected a failure');
    },
    (error: unknown) => error as CipherlineError,
  );

beforeAll(async () => {
  stack = await startTestStack();
}, 60_000);

afterAll(async () => {
  for (const d of devices) await d.close().catch(() => undefined);
  await stack?.stop();
  work.remove();
});

describe('accounts', () => {
  it('refuses a weak password at signup before anything reaches the server', async () => {
    const d = await device();
    const weak = await failure(d.client.signup({ username: 'walter', password: 'password1' }));
    expect(weak.code).toBe('WEAK_PASSWORD');
    // The name is still free: nothing was sent.
    await d.client.signup({ username: 'walter', password: PASSWORD });
    expect(d.client.whoami().userId).toBe('walter');
  });

  it("answers a wrong password with the server's INVALID_CREDENTIALS, and restores keys and pins on a new device", async () => {
    const { device: first } = await signedUp('rita');
    await signedUp('sam');
    await first.client.sendText('sam', 'pinning sam');
    const wrong = await device();
    const refused = await failure(
      wrong.client.signin({ username: 'rita', password: 'not it at all' }),
    );
    expect(refused).toMatchObject({
      code: 'INVALID_CREDENTIALS',
      message: expect.stringMatching(/password/i),
    });
    const second = await signedIn('rita');
    expect(second.client.whoami().userId).toBe('rita');
    // Same identity: the safety number with sam is the same on both devices.
    expect((await second.client.safetyNumber('sam')).digits).toBe(
      (await first.client.safetyNumber('sam')).digits,
    );
  });

  it('restores from a recovery key: asked for when missing, refused when wrong', async () => {
    const { recoveryKey } = await signedUp('vera', { recoveryKey: true });
    expect(recoveryKey).toMatch(/^\d{64}$/);
    const needs = await failure(
      (await device()).client.signin({ username: 'vera', password: PASSWORD }),
    );
    expect(needs.code).toBe('RECOVERY_KEY_NEEDED');
    const wrongKey = '1'.repeat(64);
    const wrong = await failure(
      (await device()).client.signin({
        username: 'vera',
        password: PASSWORD,
        recoveryKey: wrongKey,
      }),
    );
    expect(wrong.code).toBe('WRONG_PASSWORD');
    const restored = await signedIn('vera', { recoveryKey: recoveryKey! });
    expect(restored.client.whoami().userId).toBe('vera');
  });
});

describe('messages', () => {
  it('sends a text longer than one frame through the blob store; it arrives as one message', async () => {
    const { device: ann } = await signedUp('ann');
    const { device: ben } = await signedUp('ben');
    const long = `${'a long letter. '.repeat(4000)}the end`; // 60 KB
    await ann.client.sendText('ben', long);
    const got = await ben.next(isMessage(long), 60_000);
    expect(got).toMatchObject({
      type: 'message',
      from: 'ann',
      conversation: { kind: 'direct', with: 'ann' },
    });
    expect(ben.events.some((event) => event.type === 'file')).toBe(false);
  });
});

describe('what the UI keeps', () => {
  it('acknowledges a message only after the listener that keeps it has settled', async () => {
    const { device: cleo } = await signedUp('cleo');
    const sent: string[] = [];
    const spied: ClientOptions['connect'] = (url) => {
      const socket = connectNodeSocket(url);
      const send = socket.send.bind(socket);
      return Object.assign(socket, {
        send: (text: string) => {
          sent.push(String((JSON.parse(text) as { action: unknown }).action));
          send(text);
        },
      });
    };
    const dan = await openDevice(stack.endpoints.websocket, join(work.dir, `device-${folders++}`), {
      connect: spied,
    });
    devices.push(dan);
    await dan.client.signup({ username: 'dan', password: PASSWORD });
    let release!: () => void;
    const kept = new Promise<void>((resolve) => (release = resolve));
    dan.client.subscribe((event) =>
      event.type === 'message' && event.text === 'keep me' ? kept : undefined,
    );
    const acksBefore = () => sent.filter((action) => action === 'ack').length;
    await cleo.client.sendText('dan', 'keep me');
    await dan.next(isMessage('keep me'));
    const acks = acksBefore();
    // Well past the push's ack delay (200 ms): nothing is acknowledged while the UI keeps it.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(acksBefore()).toBe(acks);
    release();
    await waitUntil(async () => acksBefore() > acks);
  });
});

describe('several devices of one account', () => {
  it('a contact pinned on one device reaches the other through the backup and a note to self', async () => {
    const { device: phone } = await signedUp('mia');
    const laptop = await signedIn('mia');
    await signedUp('noah');
    await phone.client.sendText('noah', 'hi noah');
    // The laptop learns of the new backup from the phone's note and refreshes from it.
    await waitUntil(async () => (await pinsOf(laptop)).includes('noah'));
    expect(laptop.events.some((event) => event.type === 'backup-fork')).toBe(false);
  });

  it('two devices writing the backup at once both keep their pins (compare and swap, merge)', async () => {
    const { device: one } = await signedUp('olga');
    const two = await signedIn('olga');
    await signedUp('pete');
    await signedUp('quin');
    await Promise.all([
      one.client.sendText('pete', 'hi pete'),
      two.client.sendText('quin', 'hi quin'),
    ]);
    const third = await signedIn('olga');
    await waitUntil(async () => {
      const pins = await pinsOf(third);
      return pins.includes('pete') && pins.includes('quin');
    });
  });

  it('a prekey rotation on one device: the other opens its note and what is sealed to the new prekey', async () => {
    const { device: phone } = await signedUp('rosa');
    const laptop = await signedIn('rosa');
    const lost = await signedIn('rosa');
    const lostId = lost.client.whoami().deviceId;
    await lost.close();
    // Removing a device rotates the prekey: backup first, then the bundle, then a note to self
    // sealed to the new prekey, which the laptop does not hold until it refreshes.
    await phone.client.removeDevice(lostId);
    const { device: tess } = await signedUp('tess');
    await tess.client.sendText('rosa', 'to the rotated prekey');
    await laptop.next(isMessage('to the rotated prekey'));
    await phone.next(isMessage('to the rotated prekey'));
    expect(laptop.events.filter((event) => event.type === 'unreadable-summary')).toEqual([]);
  });
});

async function pinsOf(d: TestDevice): Promise<string[]> {
  return (await d.client.contacts()).map((contact) => contact.userId);
}

async function waitUntil(check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
