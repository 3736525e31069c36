/** The terminal client's device storage: the journal store, the persistent seen ids, the folder lock. */
import { spawn } from 'node:child_process';
import { appendFileSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FolderInUseError, lockFolder } from '../../client/node/folder-lock';
import { FileKeyValueStore } from '../../client/node/file-store';
import { PersistentSeenStore } from '../../client/session/persistent-seen-store';
import { openDirect, sealDirect } from '../../client/crypto/envelope';
import { generateLocalKeys, publicBundle, verifyBundle } from '../../client/crypto/keys';
import { tempDataDir } from '../../tools/local-stack';

const folders: { remove: () => void }[] = [];
function folder(): string {
  const data = tempDataDir();
  folders.push(data);
  return data.dir;
}
afterEach(() => {
  for (const data of folders.splice(0)) data.remove();
});

const bytes = (text: string) => new TextEncoder().encode(text);
const text = (value: Uint8Array | undefined) => value && new TextDecoder().decode(value);

describe('FileKeyValueStore', () => {
  it('keeps what was set across a reopen, with deletes, sorted prefix listings and private permissions', async () => {
    const dir = folder();
    const store = await FileKeyValueStore.open(join(dir, 'device'));
    await store.set('keys', bytes('secret'));
    await store.set('pins/bob', bytes('b'));
    await store.set('pins/alice', bytes('a'));
    await store.set('pins/bob', bytes('b2'));
    await store.delete('pins/alice');
    expect(await store.keys('pins/')).toEqual(['pins/bob']);
    store.close();
    await store.flush();

    const again = await FileKeyValueStore.open(join(dir, 'device'));
    expect(text(await again.get('keys'))).toBe('secret');
    expect(text(await again.get('pins/bob'))).toBe('b2');
    expect(await again.get('pins/alice')).toBeUndefined();
    expect(await again.keys()).toEqual(['keys', 'pins/bob']);
    expect(statSync(join(dir, 'device')).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, 'device', 'device.journal')).mode & 0o777).toBe(0o600);
    again.close();
  });

  it('drops a torn last record (a crash mid-write) and keeps everything before it', async () => {
    const dir = folder();
    const store = await FileKeyValueStore.open(dir);
    await store.set('a', bytes('1'));
    await store.set('b', bytes('2'));
    store.close();
    await store.flush();
    const journal = join(dir, 'device.journal');
    const whole = readFileSync(journal);
    writeFileSync(journal, whole.subarray(0, whole.length - 1)); // the last value lost a byte
    const again = await FileKeyValueStore.open(dir);
    expect(text(await again.get('a'))).toBe('1');
    expect(await again.get('b')).toBeUndefined();
    await again.set('c', bytes('3')); // appended after the cut, not after the garbage
    again.close();
    await again.flush();
    const third = await FileKeyValueStore.open(dir);
    expect(await third.keys()).toEqual(['a', 'c']);
    third.close();
  });

  it('compacts a journal of rewrites to the live data', async () => {
    const dir = folder();
    const store = await FileKeyValueStore.open(dir);
    const value = new Uint8Array(64 * 1024).fill(7);
    for (let i = 0; i < 40; i++) await store.set('same', value);
    await store.set('other', bytes('x'));
    const size = statSync(join(dir, 'device.journal')).size;
    // 40 rewrites of 64 KiB are 2.5 MiB; compaction keeps the journal under 1 MiB + a record.
    expect(size).toBeLessThan(1024 * 1024 + 2 * value.length);
    store.close();
    await store.flush();
    const again = await FileKeyValueStore.open(dir);
    expect((await again.get('same'))?.length).toBe(value.length);
    expect(text(await again.get('other'))).toBe('x');
    again.close();
  });

  it('clear() deletes the journal and closes the store', async () => {
    const dir = folder();
    const store = await FileKeyValueStore.open(dir);
    await store.set('keys', bytes('secret'));
    await store.clear();
    await expect(store.set('x', bytes('y'))).rejects.toThrow(/closed/);
    const again = await FileKeyValueStore.open(dir);
    expect(await again.keys()).toEqual([]);
    again.close();
  });
});

describe('PersistentSeenStore', () => {
  it('refuses a replayed envelope after a restart (the id was durable before the open returned)', async () => {
    const dir = folder();
    const now = Date.now();
    const alice = await generateLocalKeys('alice', now);
    const bob = await generateLocalKeys('bob', now);
    const envelope = await sealDirect({
      sender: alice,
      recipient: await verifyBundle(publicBundle(bob)),
      messageId: 'm-00000001',
      timestamp: now,
      body: { type: 'text', text: 'hi' },
    });
    const open = async (seen: PersistentSeenStore) =>
      openDirect({
        envelope,
        me: bob,
        sender: await verifyBundle(publicBundle(alice)),
        authenticatedSenderId: 'alice',
        expectedType: 'text',
        seen,
        now,
      });
    const first = await FileKeyValueStore.open(dir);
    expect((await open(await PersistentSeenStore.open(first))).body).toEqual({
      type: 'text',
      text: 'hi',
    });
    first.close();
    await first.flush();

    const restarted = await FileKeyValueStore.open(dir);
    await expect(open(await PersistentSeenStore.open(restarted))).rejects.toMatchObject({
      code: 'REPLAY',
    });
    restarted.close();
  });

  it('forgets ids older than the retention on prune, durably', async () => {
    const dir = folder();
    const store = await FileKeyValueStore.open(dir);
    const seen = await PersistentSeenStore.open(store);
    await seen.add('old', 1_000);
    await seen.add('new', 5_000);
    await seen.add('old', 500); // an older copy never shortens how long an id is kept
    await seen.prune(2_000);
    expect(await seen.has('old')).toBe(false);
    expect(await seen.has('new')).toBe(true);
    store.close();
    await store.flush();
    const again = await PersistentSeenStore.open(await FileKeyValueStore.open(dir));
    expect(again.size).toBe(1);
    expect(await again.has('new')).toBe(true);
  });
});

describe('lockFolder', () => {
  it('refuses a second holder while the first lives, and takes over from a dead one', async () => {
    const dir = folder();
    const release = lockFolder(dir, (owner) => new FolderInUseError(`in use by ${owner}`, owner));
    expect(() => lockFolder(dir, (owner) => new FolderInUseError(`in use by ${owner}`))).toThrow(
      `in use by ${process.pid}`,
    );
    release();
    const again = lockFolder(dir, () => new Error('unexpected'));
    again();

    // A process that died holding the lock.
    const child = spawn(process.execPath, ['-e', 'process.exit(0)']);
    const deadPid = await new Promise<number>((resolve) =>
      child.on('exit', () => resolve(child.pid!)),
    );
    appendFileSync(join(dir, 'lock'), String(deadPid));
    const taken = lockFolder(dir, () => new Error('unexpected'));
    expect(readFileSync(join(dir, 'lock'), 'utf8')).toBe(String(process.pid));
    taken();
  });
});
