/**
 * Files in a chat, as rune state the attachment components share: sending (from a picker, a
 * drop, a paste, the camera or a voice note), the progress of every transfer by message id (the
 * session's `progress` events), and turning a saved file's location back into a File.
 *
 * The chat screen makes one Attachments per signed-in client and hands it to the components
 * with the conversation; it needs only the narrow AttachmentClient below. A file this device sends
 * is named by a message id chosen here (so its progress can be shown before the send returns),
 * and a copy of it goes into the device's file store (streamed, on disk), so the sender sees the
 * same preview as the receiver, also after a reload.
 */
import { SvelteMap } from 'svelte/reactivity';
import type { SentMessage, SendFileOptions } from '../../../../../client/session/direct';
import type { ClientEvent, Conversation } from '../../../../../client/session/events';
import type { TransferStage } from '../../../../../client/session/blob-transfer';
import type { FileSource } from '../../../../../client/session/ports';
import { fileSourceFromBlob } from '../../../platform/file-source';
import type { ReceivedFiles, SavedFileInfo } from '../../../platform/received-files';

/** What the attachments need of CipherlineClient (structurally; tests may pass their own). */
export interface AttachmentClient {
  subscribe(listener: (event: ClientEvent) => void): () => void;
  sendFile(to: string, file: FileSource, options?: SendFileOptions): Promise<SentMessage>;
  readonly groups: {
    sendFile(group: string, file: FileSource, options?: SendFileOptions): Promise<SentMessage>;
  };
}

/** A file as the chat shows it (pwa-chat's history keeps the same fields). */
export interface ChatFile {
  readonly name: string;
  readonly size: number;
  readonly mimeType: string;
  /** Where the file is on this device (the file store's location), once there. */
  readonly location?: string;
  readonly failed?: string;
}

/** A file of mine on its way: shown by the composer until it is sent (or failed). */
export interface OutgoingFile {
  readonly messageId: string;
  readonly conversation: Conversation;
  readonly file: ChatFile;
  readonly error?: string;
}

/** Done and total per stage of one transfer (only the stages seen so far). */
export type TransferState = Partial<Record<TransferStage, { done: number; total: number }>>;

export interface AttachmentsOptions {
  readonly client: AttachmentClient;
  readonly files: ReceivedFiles;
  /** A file this device sent: into the chat's history (pwa-chat's history.addSent). */
  readonly onSent?: (conversation: Conversation, sent: SentMessage, file: ChatFile) => unknown;
}

export class Attachments {
  /** Transfers in progress, by message id (gone once saved, sent or failed). */
  readonly progress = new SvelteMap<string, TransferState>();
  outgoing = $state<OutgoingFile[]>([]);
  readonly #options: AttachmentsOptions;

  constructor(options: AttachmentsOptions) {
    this.#options = options;
  }

  get files(): ReceivedFiles {
    return this.#options.files;
  }

  /** Follows the client's events; returns the function that stops it. */
  start(): () => void {
    return this.#options.client.subscribe((event) => this.#onEvent(event));
  }

  /** Sends each file (in order of arrival, uploads running side by side). */
  sendAll(conversation: Conversation, blobs: Iterable<Blob>): Promise<void>[] {
    return [...blobs].map((blob) => this.send(conversation, blob));
  }

  /** Sends one file or Blob; resolves when it is sent or has failed (shown in `outgoing`). */
  async send(conversation: Conversation, blob: Blob, name?: string): Promise<void> {
    const source = fileSourceFromBlob(blob, name);
    const messageId = crypto.randomUUID();
    const file: ChatFile = { name: source.name, size: source.size, mimeType: source.mimeType };
    this.outgoing = [...this.outgoing, { messageId, conversation, file }];
    try {
      const { client } = this.#options;
      const sent =
        conversation.kind === 'direct'
          ? await client.sendFile(conversation.with, source, { messageId })
          : await client.groups.sendFile(conversation.groupId, source, { messageId });
      const location = await this.#keepCopy(source).catch(() => undefined);
      await this.#options.onSent?.(conversation, sent, { ...file, ...(location && { location }) });
      this.outgoing = this.outgoing.filter((item) => item.messageId !== messageId);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      this.outgoing = this.outgoing.map((item) =>
        item.messageId === messageId ? { ...item, error: message } : item,
      );
    } finally {
      this.progress.delete(messageId);
    }
  }

  /** Forgets a failed send the user dismissed. */
  dismiss(messageId: string): void {
    this.outgoing = this.outgoing.filter((item) => item.messageId !== messageId);
  }

  /** The file at a saved location, named and typed as the sender said. */
  open(location: string, info: SavedFileInfo): Promise<File> {
    return this.#options.files.file(location, info);
  }

  /** Streams a copy of a sent file into the file store (disk), for the sender's own preview. */
  async #keepCopy(source: FileSource): Promise<string> {
    const writer = await this.#options.files.create({
      name: source.name,
      size: source.size,
      mimeType: source.mimeType,
      from: '',
      messageId: '',
    });
    try {
      const reader = (source.open() as ReadableStream<Uint8Array>).getReader();
      for (let read = await reader.read(); !read.done; read = await reader.read())
        await writer.write(read.value);
      return await writer.commit();
    } catch (error) {
      await writer.abort();
      throw error;
    }
  }

  #onEvent(event: ClientEvent): void {
    switch (event.type) {
      case 'progress': {
        const { stage, done, total } = event.progress;
        const current = this.progress.get(event.messageId) ?? {};
        this.progress.set(event.messageId, { ...current, [stage]: { done, total } });
        return;
      }
      case 'file-saved':
      case 'file-failed':
        this.progress.delete(event.messageId);
        return;
      default:
        return;
    }
  }
}
