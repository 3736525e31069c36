/**
 * The policy probe: a page built by Vite in production mode and served beside the production
 * PWA with the production headers (test/web/production-policy.test.ts). Each step does, with the
 * app's own client code, one thing the app must be able to do under the Content-Security-Policy,
 * or one thing the policy must stop. Steps keep their results in this page for the next step;
 * the test calls them in order through `window.policyProbe` and asserts in Node.
 */
// First, as in the app's entry: the schemas the imports below build must not try eval.
import '../../../web/src/app/zod-without-eval';
import { deriveAccountKeys, deriveNewAccountKeys } from '../../../client/crypto/account';
import { sealDirect } from '../../../client/crypto/envelope';
import {
  createWebWorkerChunkCipher,
  decryptFileStream,
  encryptFileStream,
  newBlobId,
  newFileKey,
  toReadableStream,
  type ChunkCipher,
} from '../../../client/crypto/file';
import {
  bundleFromWire,
  bundleToWire,
  generateLocalKeys,
  publicBundle,
  verifyBundle,
  type LocalKeys,
} from '../../../client/crypto/keys';
import {
  BLOB_CONTENT_TYPE,
  type DownloadReply,
  type UploadStartReply,
} from '../../../protocol/blobs';
import { bytesEqual, concatBytes, toBase64, type Bytes } from '../../../protocol/bytes';
import type { PublicBundleWire } from '../../../protocol/commands';
import { loadRuntimeConfig } from '../../../web/src/app/runtime-config';

type Frame = Record<string, unknown>;

/** One WebSocket, a reply per request id (the protocol of docs/protocol.md, by hand). */
class ProbeSocket {
  private readonly waiting = new Map<string, (frame: Frame) => void>();
  private counter = 0;

  private constructor(private readonly socket: WebSocket) {
    socket.addEventListener('message', (event: MessageEvent<string>) => {
      const frame = JSON.parse(event.data) as Frame;
      if (typeof frame.replyTo === 'string') this.waiting.get(frame.replyTo)?.(frame);
    });
  }

  static open(url: string): Promise<ProbeSocket> {
    const socket = new WebSocket(url);
    return new Promise((resolve, reject) => {
      socket.addEventListener('open', () => resolve(new ProbeSocket(socket)), { once: true });
      socket.addEventListener('error', () => reject(new Error(`no WebSocket to ${url}`)), {
        once: true,
      });
    });
  }

  /** Sends `{action, id, ...fields}`; resolves with an ok reply, throws on an error reply. */
  request<Reply extends object = Frame>(action: string, fields: object = {}): Promise<Reply> {
    const id = `probe-${++this.counter}`;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, (frame) => {
        this.waiting.delete(id);
        if (frame.type === 'ok') resolve(frame as Reply);
        else reject(new Error(`${action}: ${String(frame.code)} ${String(frame.message)}`));
      });
      this.socket.send(JSON.stringify({ action, id, ...fields }));
    });
  }

  close(): void {
    this.socket.close();
  }
}

const state: {
  socket?: ProbeSocket;
  keys?: LocalKeys;
  image?: Bytes;
  fileKey?: Bytes;
  cryptoBlobId?: string;
  ciphertext?: Bytes;
  serverBlobId?: string;
  downloaded?: Bytes;
  decrypted?: Bytes;
} = {};

function need<K extends keyof typeof state>(key: K): NonNullable<(typeof state)[K]> {
  const value = state[key];
  if (value === undefined) throw new Error(`run the step that makes ${key} first`);
  return value as NonNullable<(typeof state)[K]>;
}

/** Two real Web Workers running the app's chunk worker, bundled by Vite as the app bundles it. */
function workerPool(): ChunkCipher {
  return createWebWorkerChunkCipher(
    () =>
      new Worker(new URL('../../../client/crypto/file-worker.ts', import.meta.url), {
        type: 'module',
      }),
    2,
  );
}

async function collect(chunks: AsyncIterable<Bytes>): Promise<Bytes> {
  const parts: Bytes[] = [];
  for await (const chunk of chunks) parts.push(chunk);
  return concatBytes(...parts);
}

async function* once(bytes: Bytes): AsyncGenerator<Bytes> {
  yield bytes;
}

/** A PNG of random pixels (so it does not compress): several file chunks, a real image. */
async function randomPng(width: number, height: number): Promise<Bytes> {
  const canvas = new OffscreenCanvas(width, height);
  const context = canvas.getContext('2d')!;
  const pixels = context.createImageData(width, height);
  // getRandomValues fills at most 64 KiB at a time.
  for (let i = 0; i < pixels.data.length; i += 65536)
    crypto.getRandomValues(pixels.data.subarray(i, i + 65536));
  for (let i = 3; i < pixels.data.length; i += 4) pixels.data[i] = 255;
  context.putImageData(pixels, 0, 0);
  const blob = await canvas.convertToBlob({ type: 'image/png' });
  return new Uint8Array(await blob.arrayBuffer());
}

const CHUNK_BYTES = 16 * 1024;

export const policyProbe = {
  /** Argon2id at the account cost: hash-wasm compiles WebAssembly ('wasm-unsafe-eval'). */
  async argon2id(): Promise<{ authKeyBytes: number }> {
    const keys = await deriveAccountKeys('probe', 'correct horse battery staple');
    return { authKeyBytes: keys.authKey.length };
  },

  /** config.json, then signup and a published key bundle over the stack's WebSocket. */
  async signUp(input: { username: string; password: string }): Promise<{ userId: string }> {
    const config = await loadRuntimeConfig();
    const account = await deriveNewAccountKeys(input.username, input.password);
    state.keys = await generateLocalKeys(input.username, Date.now());
    state.socket = await ProbeSocket.open(config.websocketUrl);
    const session = await state.socket.request<{ userId: string }>('signup', {
      username: input.username,
      authKey: toBase64(account.authKey),
      deviceId: `probe-${crypto.randomUUID()}`,
    });
    await state.socket.request('keys', {
      op: 'publish',
      bundle: bundleToWire(publicBundle(state.keys)),
    });
    return { userId: session.userId };
  },

  /** A 1:1 text message to `to`, sealed with the recipient's verified bundle. */
  async sendText(input: { to: string; text: string }): Promise<{ messageId: string }> {
    const socket = need('socket');
    const reply = await socket.request<{ bundle: PublicBundleWire }>('keys', {
      op: 'fetch',
      userId: input.to,
    });
    const recipient = await verifyBundle(bundleFromWire(reply.bundle));
    const messageId = crypto.randomUUID();
    const envelope = await sealDirect({
      sender: need('keys'),
      recipient,
      messageId,
      timestamp: Date.now(),
      body: { type: 'text', text: input.text },
    });
    await socket.request('send', { to: input.to, messageId, envelope: toBase64(envelope) });
    return { messageId };
  },

  /** A picture encrypted in chunks by the worker pool. */
  async encryptInWorkers(): Promise<{ imageBytes: number; blobBytes: number }> {
    state.image = await randomPng(160, 120);
    state.fileKey = newFileKey();
    state.cryptoBlobId = newBlobId();
    const pool = workerPool();
    try {
      state.ciphertext = await collect(
        encryptFileStream(toReadableStream(once(state.image.slice())), {
          fileKey: state.fileKey,
          blobId: state.cryptoBlobId,
          chunkSize: CHUNK_BYTES,
          cipher: pool,
        }),
      );
    } finally {
      await pool.close();
    }
    return { imageBytes: state.image.length, blobBytes: state.ciphertext.length };
  },

  /** `upload` start, a presigned PUT straight to the bucket, `upload` complete. */
  async uploadBlob(): Promise<{ putOrigin: string }> {
    const socket = need('socket');
    const ciphertext = need('ciphertext');
    const started = await socket.request<UploadStartReply>('upload', {
      op: 'start',
      size: ciphertext.length,
    });
    const [part] = started.urls;
    const response = await fetch(part!.url, {
      method: 'PUT',
      headers: { 'content-type': BLOB_CONTENT_TYPE },
      body: ciphertext.slice(),
    });
    if (!response.ok) throw new Error(`PUT answered ${response.status}`);
    await socket.request('upload', { op: 'complete', blobId: started.blobId });
    state.serverBlobId = started.blobId;
    return { putOrigin: new URL(part!.url).origin };
  },

  /** `download`, then a presigned GET of the blob. */
  async downloadBlob(): Promise<{ sameBytes: boolean }> {
    const reply = await need('socket').request<DownloadReply>('download', {
      blobId: need('serverBlobId'),
    });
    const response = await fetch(reply.url);
    if (!response.ok) throw new Error(`GET answered ${response.status}`);
    state.downloaded = new Uint8Array(await response.arrayBuffer());
    return { sameBytes: bytesEqual(state.downloaded, need('ciphertext')) };
  },

  /** The downloaded blob decrypted by the worker pool. */
  async decryptInWorkers(): Promise<{ sameImage: boolean }> {
    const pool = workerPool();
    try {
      state.decrypted = await collect(
        decryptFileStream(toReadableStream(once(need('downloaded').slice())), {
          fileKey: need('fileKey'),
          blobId: need('cryptoBlobId'),
          cipher: pool,
        }),
      );
    } finally {
      await pool.close();
    }
    return { sameImage: bytesEqual(state.decrypted, need('image')) };
  },

  /** The decrypted picture shown from a `blob:` URL, as the chat shows a received photo. */
  async previewImage(): Promise<{ width: number; height: number }> {
    const url = URL.createObjectURL(new Blob([need('decrypted').slice()], { type: 'image/png' }));
    try {
      const image = document.createElement('img');
      image.alt = 'preview';
      document.getElementById('probe')!.append(image);
      await new Promise<void>((resolve, reject) => {
        image.onload = () => resolve();
        image.onerror = () => reject(new Error('the blob: image did not load'));
        image.src = url;
      });
      return { width: image.naturalWidth, height: image.naturalHeight };
    } finally {
      URL.revokeObjectURL(url);
    }
  },

  /** A script element with inline code: must not run. */
  async inlineScript(): Promise<{ ran: boolean }> {
    const flag = '__probeInlineRan';
    const script = document.createElement('script');
    script.textContent = `window.${flag} = true;`;
    document.head.append(script);
    await new Promise((resolve) => setTimeout(resolve, 50));
    return { ran: (window as unknown as Record<string, unknown>)[flag] === true };
  },

  /** JavaScript from a string: must throw. */
  async stringToCode(): Promise<{ ran: boolean; error?: string }> {
    // Out of the test's evaluate call first: DevTools lets code it evaluates itself use eval.
    await new Promise((resolve) => setTimeout(resolve, 0));
    try {
      return { ran: new Function('return 42')() === 42 };
    } catch (error) {
      return { ran: false, error: (error as Error).name };
    }
  },

  /** A fetch to some other origin: must fail without a request. */
  async fetchOtherOrigin(input: { url: string }): Promise<{ reached: boolean; error?: string }> {
    try {
      await fetch(input.url, { mode: 'no-cors' });
      return { reached: true };
    } catch (error) {
      return { reached: false, error: (error as Error).name };
    }
  },

  /** A WebSocket to some other origin: must not open. */
  async webSocketOtherOrigin(input: { url: string }): Promise<{ opened: boolean; error?: string }> {
    try {
      await ProbeSocket.open(input.url).then((socket) => socket.close());
      return { opened: true };
    } catch (error) {
      return { opened: false, error: (error as Error).name };
    }
  },
};

export type PolicyProbe = typeof policyProbe;
export type ProbeStep = keyof PolicyProbe;

(window as unknown as { policyProbe: PolicyProbe }).policyProbe = policyProbe;
