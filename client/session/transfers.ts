/**
 * Received files (and long texts) are downloaded in the background, one at a time, so the inbox
 * goes on while a big file arrives. Each is recorded in the device state before its message is
 * acknowledged and removed once saved (or refused for good), so a download cut by a crash or a
 * lost network resumes at the next start. Long texts (longer than an inline envelope) travel as a
 * file of type LONG_TEXT_MIME and are shown as a message once downloaded.
 */
import { fromBase64, fromUtf8, toBase64 } from '../../protocol/bytes';
import type { FileDescriptor } from '../crypto/envelope-payloads';
import {
  downloadFile,
  uploadFile,
  type TransferDeps,
  type TransferProgress,
} from './blob-transfer';
import type { DeviceState } from './device-state';
import { CipherlineError, asCipherlineError } from './errors';
import type { Conversation, EventStream } from './events';
import type { FileSink, FileSource, FileWriter } from './ports';

/** The MIME type that marks a file as the text of a long message. */
export const LONG_TEXT_MIME = 'text/vnd.cipherline.long-text';
/** The longest text message, in UTF-8 bytes (longer ones are refused: send a file). */
export const MAX_TEXT_BYTES = 1024 * 1024;
/** Progress events come in steps of this share of a stage (and at its end). */
const PROGRESS_EVENT_STEP = 0.05;

interface DownloadRecord {
  readonly conversation: Conversation;
  readonly from: string;
  readonly messageId: string;
  readonly sentAt: number;
  readonly file: Omit<FileDescriptor, 'fileKey' | 'digest'> & { fileKey: string; digest: string };
  readonly late?: boolean;
}

export interface IncomingFile {
  readonly conversation: Conversation;
  readonly from: string;
  readonly messageId: string;
  readonly sentAt: number;
  readonly file: FileDescriptor;
  readonly late?: boolean;
}

export const bytesSource = (name: string, mimeType: string, bytes: Uint8Array): FileSource => ({
  name,
  mimeType,
  size: bytes.length,
  open: () =>
    (async function* () {
      yield bytes;
    })(),
});

export class Transfers {
  #queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly deps: {
      readonly transfer: TransferDeps;
      readonly state: DeviceState;
      readonly events: EventStream;
      readonly sink: FileSink;
    },
  ) {}

  /** Encrypts and uploads a file to send, with progress events under `messageId`. */
  upload(source: FileSource, messageId: string): Promise<FileDescriptor> {
    const report = this.#reporter(messageId, 'send', source.name);
    return uploadFile(this.deps.transfer, source, report);
  }

  /** Records a received file and queues its download; resolves once it is recorded. */
  async receive(incoming: IncomingFile): Promise<void> {
    const { file } = incoming;
    const record: DownloadRecord = {
      ...incoming,
      file: { ...file, fileKey: toBase64(file.fileKey), digest: toBase64(file.digest) },
    };
    await this.deps.state.addDownload(incoming.messageId, record);
    if (file.mimeType !== LONG_TEXT_MIME)
      await this.deps.events.deliver({
        type: 'file',
        conversation: incoming.conversation,
        from: incoming.from,
        messageId: incoming.messageId,
        sentAt: incoming.sentAt,
        file: { name: file.name, size: file.size, mimeType: file.mimeType },
      });
    this.#enqueue(incoming.messageId, record);
  }

  /** Queues the downloads a previous run did not finish. */
  async resume(): Promise<void> {
    for (const { id, record } of await this.deps.state.downloads<DownloadRecord>())
      this.#enqueue(id, record);
  }

  /** Resolves once every queued download has finished (for tests and a clean exit). */
  idle(): Promise<void> {
    return this.#queue;
  }

  #enqueue(id: string, record: DownloadRecord): void {
    this.#queue = this.#queue.then(() => this.#download(id, record));
  }

  async #download(id: string, record: DownloadRecord): Promise<void> {
    const file: FileDescriptor = {
      ...record.file,
      fileKey: fromBase64(record.file.fileKey),
      digest: fromBase64(record.file.digest),
    };
    const info = { name: file.name, size: file.size, mimeType: file.mimeType };
    const longText = file.mimeType === LONG_TEXT_MIME;
    try {
      if (longText && file.size > MAX_TEXT_BYTES)
        throw new CipherlineError('PROTOCOL', 'a long text larger than any text may be');
      const writer = longText
        ? memoryWriter()
        : await this.deps.sink.create({
            ...info,
            from: record.from,
            messageId: record.messageId,
            ...(record.conversation.kind === 'group' && { groupId: record.conversation.groupId }),
          });
      const report = longText
        ? () => undefined
        : this.#reporter(record.messageId, 'receive', file.name);
      const location = await downloadFile(this.deps.transfer, file, writer, report);
      // Kept by the UI first, then forgotten here: a reload in between downloads it again.
      if (longText) {
        await this.deps.events.deliver({
          type: 'message',
          conversation: record.conversation,
          from: record.from,
          messageId: record.messageId,
          sentAt: record.sentAt,
          text: fromUtf8(fromBase64(location)),
          ...(record.late && { late: true }),
        });
      } else {
        await this.deps.events.deliver({
          type: 'file-saved',
          conversation: record.conversation,
          from: record.from,
          messageId: record.messageId,
          file: info,
          location,
        });
      }
      await this.deps.state.deleteDownload(id);
    } catch (error) {
      const failure = asCipherlineError(error);
      // A lost network is tried again at the next start; a file that failed its checks is not.
      if (failure.code !== 'OFFLINE' && failure.code !== 'CLOSED')
        await this.deps.state.deleteDownload(id).catch(() => undefined);
      this.deps.events.emit({
        type: 'file-failed',
        messageId: record.messageId,
        file: info,
        error: failure,
      });
    }
  }

  /** Progress events in steps of 5 % (and at the end of each stage). */
  #reporter(messageId: string, direction: 'send' | 'receive', name: string) {
    const lastShare = new Map<string, number>();
    return (progress: TransferProgress) => {
      const share = progress.total === 0 ? 1 : progress.done / progress.total;
      const last = lastShare.get(progress.stage) ?? -1;
      if (share < 1 && share - last < PROGRESS_EVENT_STEP) return;
      lastShare.set(progress.stage, share);
      this.deps.events.emit({ type: 'progress', messageId, direction, name, progress });
    };
  }
}

/** Collects a long text in memory; `commit` answers the bytes as base64 (its "location"). */
function memoryWriter(): FileWriter {
  const parts: Uint8Array[] = [];
  return {
    write: async (bytes) => {
      parts.push(bytes.slice());
    },
    commit: async () => {
      const total = parts.reduce((n, part) => n + part.length, 0);
      const all = new Uint8Array(total);
      let offset = 0;
      for (const part of parts) {
        all.set(part, offset);
        offset += part.length;
      }
      return toBase64(all);
    },
    abort: async () => {
      parts.length = 0;
    },
  };
}
