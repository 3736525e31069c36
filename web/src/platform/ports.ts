/**
 * The browser's side of the client session's ports: the PWA's adapters implement the session's
 * storage and socket interfaces (client/session/ports.ts), and the one-active-tab guard below.
 */

// Storage and socket ports are the client session's own (client/session/ports.ts); the adapters
// here implement them. The tab guard is the browser's alone.
export type {
  KeyValueStore,
  MessageSocket,
  SocketEvent,
  SocketState,
} from '../../../client/session/ports';
export { SocketNotOpenError } from '../../../client/session/reconnecting-socket';

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
