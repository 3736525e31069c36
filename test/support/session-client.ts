/** CipherlineClients in this process, on the real Node adapters, for the session layer's tests. */
import { join } from 'node:path';
import { allowWeakKdfForTests, TEST_KDF_COST } from '../../client/crypto/kdf-settings';
import { inThreadChunkCipher } from '../../client/crypto/file';
import { FileKeyValueStore } from '../../client/node/file-store';
import { DownloadsFolder } from '../../client/node/files';
import { connectNodeSocket } from '../../client/node/reconnecting-socket';
import type { MessageSocket, SocketEvent } from '../../client/session/ports';
import { CipherlineClient, type ClientOptions } from '../../client/session/client';
import type { ClientEvent } from '../../client/session/events';

export interface TestDevice {
  readonly client: CipherlineClient;
  readonly events: ClientEvent[];
  readonly folder: string;
  /** The first event (seen or still to come) that matches. */
  next<T extends ClientEvent>(
    match: (event: ClientEvent) => event is T,
    timeoutMs?: number,
  ): Promise<T>;
  next(match: (event: ClientEvent) => boolean, timeoutMs?: number): Promise<ClientEvent>;
  close(): Promise<void>;
}

/** A device (a data folder) of some account; sign it up, in or resume it yourself. */
export async function openDevice(
  url: string,
  folder: string,
  options: Partial<ClientOptions> = {},
): Promise<TestDevice> {
  allowWeakKdfForTests();
  const store = await FileKeyValueStore.open(join(folder, 'device'));
  const client = await CipherlineClient.open({
    url,
    connect: connectNodeSocket,
    store,
    files: new DownloadsFolder(join(folder, 'downloads')),
    cipher: () => inThreadChunkCipher,
    kdfCost: TEST_KDF_COST,
    ...options,
  });
  const events: ClientEvent[] = [];
  const waiters = new Set<() => void>();
  let taken = 0;
  client.subscribe((event) => {
    events.push(event);
    for (const waiter of [...waiters]) waiter();
  });
  return {
    client,
    events,
    folder,
    next: (match: (event: ClientEvent) => boolean, timeoutMs = 30_000) =>
      new Promise<ClientEvent>((resolve, reject) => {
        const check = () => {
          const index = events.findIndex((event, i) => i >= taken && match(event));
          if (index < 0) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(events[index]!);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(
            new Error(
              `no matching event within ${timeoutMs} ms; events: ${JSON.stringify(events.slice(-10))}`,
            ),
          );
        }, timeoutMs);
        waiters.add(check);
        check();
      }),
    close: async () => {
      taken = events.length;
      await client.close();
      store.close();
      await store.flush();
    },
  } as TestDevice;
}

export const isMessage = (text: string) => (event: ClientEvent) =>
  event.type === 'message' && event.text === text;

/**
 * A socket whose pushes can be held back (a device that has not heard of a change yet), counting
 * the CONFLICT replies it receives and keeping the frames it sent.
 */
export function tappedConnector() {
  const tap = {
    hold: false,
    held: [] as (() => void)[],
    conflicts: 0,
    sent: [] as { action: string; messageId?: string }[],
  };
  const connect = (url: string): MessageSocket => {
    const socket = connectNodeSocket(url);
    socket.subscribe((event) => {
      if (event.type !== 'message') return;
      const frame = JSON.parse(event.text) as {
        replyTo?: string;
        code?: string;
      };
      if (frame.code === 'CONFLICT') tap.conflicts++;
    });
    return {
      get state() {
        return socket.state;
      },
      start: () => socket.start(),
      stop: () => socket.stop(),
      send: (text) => {
        socket.send(text);
        const frame = JSON.parse(text) as { action: string; messageId?: string };
        tap.sent.push(frame);
      },
      reconnectNow: () => socket.reconnectNow(),
      subscribe: (listener) =>
        socket.subscribe((event: SocketEvent) => {
          if (event.type === 'message' && tap.hold && !('replyTo' in JSON.parse(event.text))) {
            tap.held.push(() => listener(event));
            return;
          }
          listener(event);
        }),
    };
  };
  const release = () => {
    tap.hold = false;
    for (const deliver of tap.held.splice(0)) deliver();
  };
  return { tap, connect, release };
}
