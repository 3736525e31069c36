/**
 * Issue 13 point 3: four terminal clients (and a few short-lived ones: a wrong password, second
 * and third devices, a late new contact) as child processes, driven through standard input
 * against a stack this test starts. Every classic command between them, files byte for byte, an
 * offline client receiving everything exactly once, a second device, a prekey rotation on one
 * device while the other reads on, a key change warned about; then an audit of every DynamoDB item
 * and S3 object for the plaintexts, file bytes and passwords used. One client runs the one-file
 * production build (npm run build:cli).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleToWire, generateLocalKeys, publicBundle } from '../../client/crypto/keys';
import { FileKeyValueStore } from '../../client/node/file-store';
import { localTableName } from '../../infra/local/names';
import { makeDynamoClient } from '../../lambdas/runtime/aws';
import { buildCli } from '../../scripts/build-cli';
import { bundleItem } from '../support/bundle-item';
import { auditStack, type Secret } from '../support/audit';
import { CliProcess, type CliOptions } from '../support/cli-process';
import { startTestStack, tempDataDir } from '../../tools/local-stack';

const MiB = 1024 * 1024;
const tag = randomUUID().slice(0, 6);
const password = (user: string) => `${user} rides the ${tag} tandem across town`;
const text = (what: string) => `${what} ${tag}`;

let stack: Awaited<ReturnType<typeof startTestStack>>;
const work = tempDataDir();
let built: string;
const clients: CliProcess[] = [];
const secrets: Secret[] = [];
const image = randomImage(200_000);
const big = randomBytes(20 * MiB);
let alice: CliProcess;
let bob: CliProcess;
let carol: CliProcess;
let dave: CliProcess;

function randomImage(size: number): Buffer {
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return Buffer.concat([signature, randomBytes(size - signature.length)]);
}

function start(user: string, options: Partial<CliOptions> = {}): CliProcess {
  const client = new CliProcess({
    url: stack.endpoints.websocket,
    user,
    password: password(user),
    ...options,
    // After the options: a data folder is always inside the test's temporary folder.
    data: join(work.dir, options.data ?? user),
  });
  clients.push(client);
  return client;
}

const said = (message: string) => {
  secrets.push({ label: `text "${message}"`, bytes: Buffer.from(message) });
  return message;
};
const escape = (value: string) => value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const line = (pattern: string) => new RegExp(escape(pattern));
const savedFile = async (client: CliProcess, name: string, from: string) => {
  const saved = await client.waitFor(
    new RegExp(`^saved ${escape(name)} from ${from}.*: (.+)$`),
    180_000,
  );
  return readFileSync(saved.slice(saved.lastIndexOf(': ') + 2));
};
const count = (client: CliProcess, pattern: string) =>
  client.lines().filter((l) => l.includes(pattern)).length;

beforeAll(async () => {
  stack = await startTestStack();
  built = await buildCli(join(work.dir, 'cipherline.mjs'));
  writeFileSync(join(work.dir, 'image.png'), image);
  writeFileSync(join(work.dir, 'big.bin'), big);
  for (const user of ['alice', 'bob', 'carol', 'dave', 'erin'])
    secrets.push({ label: `password of ${user}`, bytes: Buffer.from(password(user)) });
  for (const offset of [0, 100_000, 190_000])
    secrets.push({ label: `image bytes at ${offset}`, bytes: image.subarray(offset, offset + 48) });
  for (const offset of [0, 7 * MiB, 20 * MiB - 64])
    secrets.push({
      label: `big file bytes at ${offset}`,
      bytes: big.subarray(offset, offset + 48),
    });
}, 120_000);

afterAll(async () => {
  for (const client of clients) client.kill();
  await Promise.all(clients.map((client) => client.exited));
  await stack?.stop();
  work.remove();
});

describe('four terminal clients', () => {
  it('sign up (one with a recovery key, printed once), and a wrong password is refused', async () => {
    alice = start('alice', { signup: true });
    bob = start('bob', { signup: true });
    carol = start('carol', { signup: true, recoveryKey: true });
    dave = start('dave', { signup: true, built });
    for (const [client, user] of [
      [alice, 'alice'],
      [bob, 'bob'],
      [carol, 'carol'],
      [dave, 'dave'],
    ] as const)
      await client.waitFor(new RegExp(`^Signed in as ${user} `));
    const lines = carol.lines();
    const key = lines[lines.findIndex((l) => l.startsWith('Your recovery key')) + 1]!.trim();
    expect(key).toMatch(/^(\d{4} ){15}\d{4}$/);
    expect(carol.output).toMatch(/WARNING: your keys are backed up under this key/);
    expect(carol.output.split(key).length - 1).toBe(1);
    secrets.push({ label: 'recovery key', bytes: Buffer.from(key.replace(/ /g, '')) });

    const twin = start('alice', { data: 'alice' });
    await twin.waitFor(/^error: The data folder .* is in use by another Cipherline client/);
    expect(await twin.exited).toBe(1);

    const wrong = start('alice', { data: 'alice-wrong', password: 'not the password at all' });
    await wrong.waitFor(/^error: .*(wrong|invalid).*(password|credentials)/i);
    expect(await wrong.exited).toBe(1);
  }, 180_000);

  it('SEND both ways (the whole rest of the line), with receipts; malformed commands print their usage', async () => {
    await alice.run(`SEND bob ${said(text('hello bob, this is the whole line'))}`, /^sent to bob/);
    await bob.waitFor(line(`alice: ${text('hello bob, this is the whole line')}`));
    await bob.run(`send ALICE ${said(text('hi alice'))}`, /^sent to alice/);
    await alice.waitFor(line(`bob: ${text('hi alice')}`));
    await alice.waitFor(/^delivered to bob/);
    await alice.run('WHOAMI', /^alice on device d-\S+ at ws:\/\/127\.0\.0\.1:\d+\/local$/);
    await alice.run('SAFETY bob', /^safety number with bob/);
    const aliceSees = await alice.waitFor(/^ {2}(\d{5} ){11}\d{5}$/);
    await bob.run('safety alice', /^safety number with alice/);
    expect(await bob.waitFor(/^ {2}(\d{5} ){11}\d{5}$/)).toBe(aliceSees);
    await alice.run('SEND bob', /^The message is missing\. Usage: SEND <user> <message>$/);
    await alice.run('SEND', /^Nothing to send\. Usage: SEND <user> <message>$/);
    await alice.run('CREATE', /Usage: CREATE <group>$/);
    await alice.run('FROBNICATE x', /^Unknown command "FROBNICATE"/);
    await alice.run('SEND nobody-here hi', /^error: There is no user nobody-here/);
  }, 180_000);

  it('a group of four: CREATE, JOIN, LIST counts, a late joiner reads from its join on, JOIN creates', async () => {
    await alice.run('CREATE team', /^created #team$/);
    await bob.run('JOIN team', /^joined #team$/);
    await carol.run('JOIN Team', /^joined #team$/);
    await carol.run('LIST', /^#team 3 members$/);
    await alice.run(`SENDGROUP team ${said(text('before dave joined'))}`, /^sent to #team$/);
    await bob.waitFor(line(`#team alice: ${text('before dave joined')}`));
    await carol.waitFor(line(`#team alice: ${text('before dave joined')}`));
    await dave.run('JOIN team', /^joined #team$/);
    await dave.run('LIST', /^#team 4 members$/);
    await bob.run(`SENDGROUP team ${said(text('after dave joined'))}`, /^sent to #team$/);
    for (const client of [alice, carol, dave])
      await client.waitFor(line(`#team bob: ${text('after dave joined')}`));
    await dave.run(`SENDGROUP team ${said(text('dave says hi'))}`, /^sent to #team$/);
    for (const client of [alice, bob, carol])
      await client.waitFor(line(`#team dave: ${text('dave says hi')}`));
    await dave.run('JOIN lounge', /^created and joined #lounge$/);
    await bob.run('CREATE team', /^error: .*exists/);
    await carol.run('MEMBERS team', /^#team: alice \(admin\), bob, carol, dave$/);
    await alice.run('LIST', /^#lounge 1 member$/);
    await dave.run('LEAVE lounge', /^left #lounge \(0 members remain\)$/);
    expect(dave.output).not.toContain(text('before dave joined'));
  }, 180_000);

  it('SENDFILE and SENDGROUPFILE: an image and a 20 MiB file, byte for byte, with progress', async () => {
    await alice.run(
      `SENDFILE ${join(work.dir, 'image.png')} bob`,
      /^sent image\.png \(195 KiB\) to bob$/,
    );
    expect((await savedFile(bob, 'image.png', 'alice')).equals(image)).toBe(true);
    await alice.run(
      `SENDFILE ${join(work.dir, 'big.bin')} carol`,
      /^sent big\.bin \(20 MiB\) to carol$/,
      240_000,
    );
    expect(alice.output).toMatch(/sending big\.bin \(20 MiB\): upload 100%/);
    expect((await savedFile(carol, 'big.bin', 'alice')).equals(big)).toBe(true);
    expect(carol.output).toMatch(/receiving big\.bin \(20 MiB\): decrypt 100%/);
    await dave.run(
      `SENDGROUPFILE ${join(work.dir, 'big.bin')} team`,
      /^sent big\.bin \(20 MiB\) to #team$/,
      240_000,
    );
    for (const client of [alice, bob, carol])
      expect((await savedFile(client, 'big.bin', 'dave')).equals(big)).toBe(true);
  }, 600_000);

  it('an offline client receives everything sent meanwhile exactly once after it reconnects', async () => {
    expect(await dave.quit()).toBe(0);
    await alice.run(`SEND dave ${said(text('while you were away'))}`, /^sent to dave/);
    await bob.run(`SENDGROUP team ${said(text('group while dave was away'))}`, /^sent to #team$/);
    await alice.run(`SENDFILE ${join(work.dir, 'image.png')} dave`, /^sent image\.png/);
    dave = start('dave', { built });
    await dave.waitFor(/^Signed in as dave/);
    await dave.waitFor(line(`alice: ${text('while you were away')}`));
    await dave.waitFor(line(`#team bob: ${text('group while dave was away')}`));
    expect((await savedFile(dave, 'image.png', 'alice')).equals(image)).toBe(true);
    // A message sent after the reconnect arrives, and nothing came twice.
    await alice.run(`SEND dave ${said(text('sync point'))}`, /^sent to dave/);
    await dave.waitFor(line(text('sync point')));
    for (const message of ['while you were away', 'group while dave was away', 'sync point'])
      expect(count(dave, text(message))).toBe(1);
    expect(count(dave, 'saved image.png')).toBe(1);
  }, 180_000);

  it("BLOCK: a blocked user's messages are dropped", async () => {
    await carol.run('BLOCK dave', /^blocked dave/);
    await dave.run(`SEND carol ${said(text('carol blocked this'))}`, /^sent to carol/);
    await alice.run(`SEND carol ${said(text('after the block'))}`, /^sent to carol/);
    await carol.waitFor(line(`alice: ${text('after the block')}`));
    expect(carol.output).not.toContain(text('carol blocked this'));
  }, 180_000);

  let bob2: CliProcess;
  it('a second device of one account restores its keys and reads new 1:1 and group messages', async () => {
    bob2 = start('bob', { data: 'bob-second' });
    await bob2.waitFor(/^Signed in as bob/);
    await alice.run(`SEND bob ${said(text('for both of your devices'))}`, /^sent to bob/);
    await carol.run(`SENDGROUP team ${said(text('group for both devices'))}`, /^sent to #team$/);
    for (const device of [bob, bob2]) {
      await device.waitFor(line(`alice: ${text('for both of your devices')}`));
      await device.waitFor(line(`#team carol: ${text('group for both devices')}`));
    }
    await bob2.run(`SEND carol ${said(text('from bobs second device'))}`, /^sent to carol/);
    await carol.waitFor(line(`bob: ${text('from bobs second device')}`));
  }, 180_000);

  it('a prekey rotation on one device (removing a lost device) while the other reads on', async () => {
    const bob3 = start('bob', { data: 'bob-third' });
    const signedIn = await bob3.waitFor(/^Signed in as bob \(device (\S+)\)/);
    const lostDevice = /device (\S+)\)/.exec(signedIn)![1]!;
    expect(await bob3.quit()).toBe(0);
    await bob.run('DEVICES', line(`${lostDevice}  added`));
    await bob.run(`DEVICES REMOVE ${lostDevice}`, /^signed out device/);
    // A new contact fetches the rotated bundle; bob's other device holds the new prekey through
    // the backup (announced by a note to self, or fetched when the unknown prekey id shows up).
    const erin = start('erin', { signup: true });
    await erin.waitFor(/^Signed in as erin/);
    await erin.run(`SEND bob ${said(text('from a new contact'))}`, /^sent to bob/);
    // A sender with the bundle from before the rotation still reaches both devices.
    await alice.run(`SEND bob ${said(text('to the previous prekey'))}`, /^sent to bob/);
    for (const device of [bob, bob2]) {
      await device.waitFor(line(`erin: ${text('from a new contact')}`));
      await device.waitFor(line(`alice: ${text('to the previous prekey')}`));
    }
    expect(bob2.output).not.toMatch(/could not be opened/);
    expect(await erin.quit()).toBe(0);
  }, 180_000);

  it('a changed identity key is warned about and never used', async () => {
    // The server (or whoever writes its tables) swaps bob's published keys for another identity.
    const dynamo = makeDynamoClient(stack.endpoints.dynamodb);
    const key = { userId: { S: 'bob' } };
    const table = localTableName('users');
    const original = (
      await dynamo.send(new GetItemCommand({ TableName: table, Key: key, ConsistentRead: true }))
    ).Item!;
    const impostor = bundleToWire(publicBundle(await generateLocalKeys('bob', Date.now())));
    await dynamo.send(
      new PutItemCommand({ TableName: table, Item: { ...original, bundle: bundleItem(impostor) } }),
    );
    // carol's copy of bob's bundle expires (as after a week): drop it while carol is stopped.
    expect(await carol.quit()).toBe(0);
    const store = await FileKeyValueStore.open(join(work.dir, 'carol', 'device'));
    await store.delete('bundles/bob');
    store.close();
    await store.flush();
    carol = start('carol');
    await carol.waitFor(/^Signed in as carol/);
    await carol.run(
      `SEND bob ${said(text('must not reach the impostor'))}`,
      /^error: The keys of bob have changed/,
    );
    expect(carol.output).toMatch(/^WARNING: the keys of bob have changed/m);
    await carol.run('SAFETY bob', /^safety number with bob/);
    await carol.waitFor(/^their keys CHANGED/);
    await dynamo.send(new PutItemCommand({ TableName: table, Item: original }));
  }, 180_000);

  it('PASSWORD changes the password; a new device signs in with the new one and restores the keys', async () => {
    const fresh = `${password('alice')} and back again`;
    secrets.push({ label: 'new password of alice', bytes: Buffer.from(fresh) });
    alice.send('PASSWORD');
    alice.send(password('alice'));
    alice.send(fresh);
    await alice.waitFor(/^password changed/);
    const another = start('alice', { data: 'alice-after-password', password: fresh });
    await another.waitFor(/^Signed in as alice/);
    await bob.run(`SEND alice ${said(text('to the new device too'))}`, /^sent to alice/);
    await another.waitFor(line(`bob: ${text('to the new device too')}`));
    await alice.waitFor(line(`bob: ${text('to the new device too')}`));
    expect(await another.quit()).toBe(0);
  }, 180_000);

  it('QUIT ends every client cleanly, and no output ever holds a stack trace', async () => {
    for (const client of [alice, bob, carol, dave, bob2]) expect(await client.quit()).toBe(0);
    for (const client of clients) expect(client.output).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m);
    // A device never shows (or saves) its own group messages, which come back in the group's log,
    // not even after a restart (dave's and carol's first devices ran twice).
    for (const client of clients.filter((c) => c.options.data === join(work.dir, c.options.user)))
      expect(client.output).not.toMatch(
        new RegExp(
          `^(\\[\\d\\d:\\d\\d\\] #\\S+ ${client.options.user}[: ]|saved .* from ${client.options.user} )`,
          'm',
        ),
      );
  }, 180_000);

  it('left no plaintext, file bytes or password in any DynamoDB item or S3 object', async () => {
    const audit = await auditStack(stack.endpoints, secrets);
    expect(audit.items).toBeGreaterThan(50);
    expect(audit.objects).toBeGreaterThan(3);
    expect(audit.found).toEqual([]);
  }, 180_000);
});
