/**
 * What the client session needs from its platform, as small interfaces: a key-value store, a
 * socket, file sources and sinks, HTTP for presigned blob URLs, a chunk cipher (worker pool) and a
 * clock. Node adapters live in client/node/, browser adapters in web/src/platform/; the shapes of
 * KeyValueStore and MessageSocket are exactly those of web/src/platform/ports.ts, so the PWA's
 * SealedStore and ReconnectingSocket plug in unchanged (structural typing, no import from web/).
 */
import type { ChunkCipher } from '../crypto/file-cipher';

/** Bytes under string keys, durable once `set` resolves. `clear()` is sign-out: everything. */
export interface KeyValueStore {
  get(key: string): Promise<Uint8Array | undefined>;
  set(key: string, value: Uint8Array): Promise<void>;
  delete(key: string): Promise<void>;
  /** The stored keys that start with `prefix`, sorted. */
  keys(prefix?: string): Promise<string[]>;
  /** Deletes every record (and whatever sealed them); the store is closed afterwards. */
  clear(): Promise<void>;
  close(): void;
}

export type SocketState =
  | { readonly status: 'stopped' }
  | { readonly status: 'connecting'; readonly attempt: number }
  | { readonly status: 'open' }
  /** Waiting for `retryAt` (epoch ms) before the next attempt. */
  | { readonly status: 'waiting'; readonly attempt: number; readonly retryAt: number }
  /** The platform reports no network: nothing is tried until it reports one again. */
  | { readonly status: 'offline' };

export type SocketEvent =
  | { readonly type: 'state'; readonly state: SocketState }
  /** A new connection is open: the session resumes (or signs in) on it. */
  | { readonly type: 'open' }
  | { readonly type: 'message'; readonly text: string }
  | { readonly type: 'closed'; readonly code: number; readonly reason: string };

/** One logical connection to the cloud that reconnects by itself (jittered back-off) until stopped. */
export interface MessageSocket {
  readonly state: SocketState;
  subscribe(listener: (event: SocketEvent) => void): () => void;
  start(): void;
  stop(): void;
  /** Sends one text frame; throws unless the state is `open` (nothing is queued). */
  send(text: string): void;
  /** Drops the current connection (if any) and connects again without waiting. */
  reconnectNow(): void;
}

/** Makes the socket for a WebSocket URL (not started). */
export type SocketConnector = (url: string) => MessageSocket;

/** Time and timers, injectable so tests can drive heartbeats and retries. */
export interface Clock {
  now(): number;
  /** Calls `callback` once after `ms`; returns the function that cancels it. */
  setTimer(ms: number, callback: () => void): () => void;
  /** A uniform number in [0, 1) for jitter. */
  random(): number;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer: (ms, callback) => {
    const timer = setTimeout(callback, ms);
    return () => clearTimeout(timer);
  },
  random: () => Math.random(),
};

/** A file to send: a path in Node, a File in the browser. Read once per send attempt. */
export interface FileSource {
  readonly name: string;
  readonly size: number;
  readonly mimeType: string;
  open(): AsyncIterable<Uint8Array> | ReadableStream<Uint8Array>;
}

export interface IncomingFileInfo {
  readonly name: string;
  readonly size: number;
  readonly mimeType: string;
  readonly from: string;
  readonly groupId?: string;
  readonly messageId: string;
}

/** Where a received file is written while it is decrypted (a temporary place until `commit`). */
export interface FileWriter {
  write(bytes: Uint8Array): Promise<void>;
  /** Every chunk's MAC and the digest passed: make the file visible; returns where it is. */
  commit(): Promise<string>;
  /** Something failed: remove what was written. */
  abort(): Promise<void>;
}

export interface FileSink {
  create(file: IncomingFileInfo): Promise<FileWriter>;
}

export interface HttpPutResult {
  readonly status: number;
  /** The ETag header (S3 names each part by it). */
  readonly etag?: string;
}

export interface HttpGetResult {
  readonly status: number;
  /** The body as it arrives (empty for an error status). */
  readonly body: AsyncIterable<Uint8Array>;
}

/** HTTP for presigned S3 URLs (the bytes never go through the WebSocket). */
export interface BlobHttp {
  put(url: string, body: Uint8Array, contentType: string): Promise<HttpPutResult>;
  /** `from`: the first byte wanted (a Range request), to resume an interrupted download. */
  get(url: string, from?: number): Promise<HttpGetResult>;
}

/** Makes the chunk cipher for file work (a worker pool); called once, on the first file. */
export type ChunkCipherFactory = () => ChunkCipher;

/** Where Argon2id runs (ClientOptions.kdf): the PWA's Web Worker, or this thread by default. */
export type { Argon2idHasher } from '../crypto/account';
