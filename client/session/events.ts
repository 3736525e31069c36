/**
 * The session's typed event stream: everything a UI shows that it did not ask for (messages,
 * files, receipts, group changes, warnings), and the progress of what it did ask for.
 */
import type { TransferProgress } from './blob-transfer';
import type { ConnectionStatus } from './connection';
import { asCipherlineError, type CipherlineError } from './errors';

/** Where a message belongs: a 1:1 chat with a user, or a group. */
export type Conversation =
  | { readonly kind: 'direct'; readonly with: string }
  | { readonly kind: 'group'; readonly groupId: string };

export interface ReceivedFile {
  readonly name: string;
  readonly size: number;
  readonly mimeType: string;
}

export type ClientEvent =
  | { readonly type: 'connection'; readonly status: ConnectionStatus }
  /** A text, 1:1 or in a group (long texts arrive through the blob store, the same way). */
  | {
      readonly type: 'message';
      readonly conversation: Conversation;
      readonly from: string;
      readonly messageId: string;
      /** The sender's clock, as signed in the envelope. */
      readonly sentAt: number;
      readonly text: string;
      /** A group message that arrived after the next epoch had begun (DESIGN.md section 4). */
      readonly late?: boolean;
    }
  /** A file arrived; it is being downloaded (see `file-saved` / `file-failed`). */
  | {
      readonly type: 'file';
      readonly conversation: Conversation;
      readonly from: string;
      readonly messageId: string;
      readonly sentAt: number;
      readonly file: ReceivedFile;
    }
  | {
      readonly type: 'file-saved';
      readonly conversation: Conversation;
      readonly from: string;
      readonly messageId: string;
      readonly file: ReceivedFile;
      /** Where the platform's FileSink put it (a path, an object URL...). */
      readonly location: string;
    }
  | {
      readonly type: 'file-failed';
      readonly messageId: string;
      readonly file: ReceivedFile;
      readonly error: CipherlineError;
    }
  /** Progress of a file this device sends or receives, per stage. */
  | {
      readonly type: 'progress';
      readonly messageId: string;
      readonly direction: 'send' | 'receive';
      readonly name: string;
      readonly progress: TransferProgress;
    }
  /** A 1:1 message of mine reached a device of its recipient. */
  | {
      readonly type: 'receipt';
      readonly messageId: string;
      readonly by: string;
      readonly at: number;
    }
  /** A group message is kept until the key of its epoch arrives (then a `message` follows). */
  | {
      readonly type: 'waiting-for-key';
      readonly groupId: string;
      readonly messageId: string;
      readonly from: string;
    }
  /** Membership or admin changes of a group, as its signed epoch says. */
  | {
      readonly type: 'group-change';
      readonly groupId: string;
      readonly epoch: number;
      readonly by: string;
      readonly joined: readonly string[];
      readonly left: readonly string[];
      readonly removed: readonly string[];
      readonly rekeyed: boolean;
    }
  /** Someone joined or left, as the server's log says (before the next epoch confirms it). */
  | {
      readonly type: 'member-notice';
      readonly groupId: string;
      readonly userId: string;
      readonly change: 'joined' | 'left';
      readonly memberCount: number;
    }
  /** A contact's identity keys differ from the pinned ones: never accepted silently. */
  | { readonly type: 'key-change'; readonly userId: string }
  /** Another device of mine wrote a backup that does not fit the chain I know. */
  | { readonly type: 'backup-fork'; readonly version: number; readonly why: string }
  /** Messages this device could not open, summed up once (e.g. sent to keys retired before a
   * restore); `reasons` counts them by cause. */
  | {
      readonly type: 'unreadable-summary';
      readonly count: number;
      readonly reasons: Readonly<Record<string, number>>;
    }
  /** Something went wrong in the background (a message that failed its checks, a failed
   * rotation...); the session goes on. */
  | { readonly type: 'warning'; readonly message: string; readonly error?: CipherlineError }
  /** The server ended this session (signed out elsewhere, device removed, password changed). */
  | { readonly type: 'session-ended'; readonly error: CipherlineError };

export type ClientEventType = ClientEvent['type'];

/**
 * A UI's listener. It may answer a promise for what it keeps of an event (a PWA writing its
 * history): for what a device must not lose, the session waits for it (`deliver`).
 */
export type ClientEventListener = (event: ClientEvent) => void | Promise<void>;

export class EventStream {
  readonly #listeners = new Set<ClientEventListener>();

  subscribe(listener: ClientEventListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** For what passes (connection status, progress, warnings): the listeners' work is not awaited. */
  emit(event: ClientEvent): void {
    for (const listener of [...this.#listeners]) void this.#call(listener, event);
  }

  /**
   * For what arrives from the server (a message, a file, a receipt, a group change): resolves once
   * every listener has kept it. The session acknowledges a page only after its events are
   * handled, so a page reloaded right after a message cannot lose it: the server's cursor moves
   * only after the UI's history has it. A listener that fails is reported as a warning and not
   * awaited again; a listener that never settles holds up the catch-up, as it should.
   */
  async deliver(event: ClientEvent): Promise<void> {
    await Promise.all([...this.#listeners].map((listener) => this.#call(listener, event)));
  }

  async #call(listener: ClientEventListener, event: ClientEvent): Promise<void> {
    try {
      await listener(event);
    } catch (error) {
      // A UI's failing listener must not stop the session; it hears of it once.
      if (event.type !== 'warning')
        this.emit({
          type: 'warning',
          message: `Keeping a ${event.type} event failed on this device; it may be missing from the history.`,
          error: asCipherlineError(error),
        });
    }
  }
}
