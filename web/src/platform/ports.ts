/**
 * The browser's side of the client session's ports (issue 13's `client/session/` takes storage,
 * the active-device guard and the socket as small interfaces). These are the shapes the PWA's
 * adapters implement; TypeScript's structural typing lets the session declare its own matching
 * interfaces without importing anything from `web/`.
 */

/** Bytes under string keys, sealed at rest. `clear()` is sign-out: everything, keys included. */
export interface KeyValueStore {
  get(key: string): Promise<Uint8Array | undefined>;
  set(key: string, value: Uint8Array): Promise<void>;
  delete(key: string): Promise<void>;
  /** The stored keys that start with `prefix`, sorted. */
  keys(prefix?: string): Promise<string[]>;
  /** Deletes every record and the key that sealed them; the store is closed afterwards. */
  clear(): Promise<void>;
  close(): void;
}

/** Which tab of this browser is the device's one active client. */
export type TabRole =
  | { readonly role: 'starting' }
  | { readonly role: 'active' }
  /** Another tab is active; this one takes over by itself when that tab closes. */
  | { readonly role: 'standby'; readonly because: 'open-elsewhere' | 'taken-over' }
  | { readonly role: 'released' };

export interface ActiveTabGuard {
  readonly current: TabRole;
  /** Claims the role if no tab holds it, else becomes a standby; resolves with the outcome. */
  start(): Promise<TabRole>;
  /** Calls `listener` now and on every change; returns the unsubscribe function. */
  subscribe(listener: (role: TabRole) => void): () => void;
  /** Makes this tab the active one, turning the active tab (if any) into a standby. */
  takeOver(): Promise<void>;
  /** Gives the role up for good (sign-out, page unload). */
  release(): void;
}

export type SocketState =
  | { readonly status: 'stopped' }
  | { readonly status: 'connecting'; readonly attempt: number }
  | { readonly status: 'open' }
  /** Waiting for `retryAt` (epoch ms), or for an event that makes a retry worth it sooner. */
  | { readonly status: 'waiting'; readonly attempt: number; readonly retryAt: number }
  /** The browser reports no network: nothing is tried until it reports one again. */
  | { readonly status: 'offline' };

export type SocketEvent =
  | { readonly type: 'state'; readonly state: SocketState }
  /** A new connection is open: the session signs in or resumes on it. */
  | { readonly type: 'open' }
  | { readonly type: 'message'; readonly text: string }
  | { readonly type: 'closed'; readonly code: number; readonly reason: string };

/** One logical connection to the cloud that reconnects by itself until stopped. */
export interface MessageSocket {
  readonly state: SocketState;
  subscribe(listener: (event: SocketEvent) => void): () => void;
  start(): void;
  stop(): void;
  /** Sends one text frame; throws `SocketNotOpenError` unless the state is `open`. */
  send(text: string): void;
  /** Drops the current connection (if any) and connects again without waiting. */
  reconnectNow(): void;
}

export class SocketNotOpenError extends Error {
  override readonly name = 'SocketNotOpenError';
  constructor() {
    super(
      'Not connected to the cloud right now; the message was not sent. It reconnects by itself.',
    );
  }
}
