/**
 * Received files: the session's FileSink in the Origin Private File System (OPFS), so a decrypted
 * 200 MiB video streams to disk chunk by chunk instead of gathering in the page's memory.
 *
 * A file is written to `partial/<id>` through a FileSystemWritableFileStream and moved to
 * `received/<id>` only at `commit` (every chunk's MAC and the digest passed), so nothing half
 * written or forged is ever under `received/`. `abort` removes the partial file; a partial file
 * left by a closed tab or a crash is swept when the sink is opened next (one active tab per
 * device, so no other writer can be using it). The location handed back is `opfs:<id>`; the UI
 * turns it into a File (and an object URL) with `file()`, named and typed as the sender said.
 *
 * Where OPFS or its writable streams are missing (Safari before 26, private windows of some
 * browsers), received files are kept as Blobs in memory for the life of the page instead
 * (`memory:<id>`): the browser may page large Blobs to disk, and the chat still shows them.
 */
import type { FileSink, FileWriter, IncomingFileInfo } from '../../../client/session/ports';

/** How a saved file is shown: the name and type the sender gave. */
export interface SavedFileInfo {
  readonly name: string;
  readonly mimeType: string;
}

/** The FileSink of the PWA, plus what the UI needs to show and the sign-out to delete. */
export interface ReceivedFiles extends FileSink {
  /** Where files are kept: 'opfs' on disk, 'memory' for the life of the page. */
  readonly kind: 'opfs' | 'memory';
  /** The committed file at `location`, as a File named and typed as `info` says. */
  file(location: string, info: SavedFileInfo): Promise<File>;
  remove(location: string): Promise<void>;
  /** Deletes every received and partial file (sign-out). */
  clear(): Promise<void>;
}

/** Thrown for a location this device does not hold (deleted, or from another device). */
export class MissingFileError extends Error {
  override readonly name = 'MissingFileError';
  constructor(location: string) {
    super(`The file ${location} is no longer on this device: ask the sender to send it again.`);
  }
}

/** The top folder of everything this app keeps in OPFS. */
export const FILES_FOLDER = 'cipherline-files';
const PARTIAL = 'partial';
const RECEIVED = 'received';
const ID_PATTERN = /^[0-9a-f-]{36}$/;

/** FileSystemHandle.move, which lib.dom does not declare yet (Chromium 110, Firefox 111, Safari 16.4 in OPFS). */
type MovableFileHandle = FileSystemFileHandle & {
  move?: (destination: FileSystemDirectoryHandle, name: string) => Promise<void>;
};

/** OPFS when the browser has it with writable streams; memory otherwise. */
export async function openReceivedFiles(folder = FILES_FOLDER): Promise<ReceivedFiles> {
  try {
    return await OpfsReceivedFiles.open(folder);
  } catch {
    return new MemoryReceivedFiles();
  }
}

export class OpfsReceivedFiles implements ReceivedFiles {
  readonly kind = 'opfs';

  private constructor(
    private readonly root: FileSystemDirectoryHandle,
    private readonly folder: string,
    private partial: FileSystemDirectoryHandle,
    private received: FileSystemDirectoryHandle,
  ) {}

  /** Opens the folders and sweeps partial files an earlier page left; throws without OPFS. */
  static async open(folder = FILES_FOLDER): Promise<OpfsReceivedFiles> {
    const root = await navigator.storage.getDirectory();
    const top = await root.getDirectoryHandle(folder, { create: true });
    await top.removeEntry(PARTIAL, { recursive: true }).catch(() => undefined);
    const partial = await top.getDirectoryHandle(PARTIAL, { create: true });
    const received = await top.getDirectoryHandle(RECEIVED, { create: true });
    if (!('createWritable' in FileSystemFileHandle.prototype))
      throw new Error('this browser cannot write OPFS files from a page');
    return new OpfsReceivedFiles(root, folder, partial, received);
  }

  async create(_file: IncomingFileInfo): Promise<FileWriter> {
    const id = crypto.randomUUID();
    const partial = this.partial;
    const received = this.received;
    const handle: MovableFileHandle = await partial.getFileHandle(id, { create: true });
    const stream = await handle.createWritable();
    let open = true;
    return {
      write: async (bytes) => {
        await stream.write(bytes as Uint8Array<ArrayBuffer>);
      },
      commit: async () => {
        open = false;
        await stream.close();
        if (handle.move) {
          await handle.move(received, id);
        } else {
          // Without move(): copy on disk, then drop the partial file.
          const target = await (
            await received.getFileHandle(id, { create: true })
          ).createWritable();
          await (await handle.getFile()).stream().pipeTo(target);
          await partial.removeEntry(id);
        }
        return `opfs:${id}`;
      },
      abort: async () => {
        if (open) await stream.abort().catch(() => undefined);
        open = false;
        await partial.removeEntry(id).catch(() => undefined);
      },
    };
  }

  async file(location: string, info: SavedFileInfo): Promise<File> {
    const id = this.#idOf(location);
    let handle: FileSystemFileHandle;
    try {
      handle = await this.received.getFileHandle(id);
    } catch {
      throw new MissingFileError(location);
    }
    // A File over the stored one (no copy), under the sender's name and type.
    return new File([await handle.getFile()], info.name, { type: info.mimeType });
  }

  async remove(location: string): Promise<void> {
    await this.received.removeEntry(this.#idOf(location)).catch(() => undefined);
  }

  async clear(): Promise<void> {
    await this.root.removeEntry(this.folder, { recursive: true }).catch(() => undefined);
    // The sink stays usable (a new account may sign in on this page).
    const top = await this.root.getDirectoryHandle(this.folder, { create: true });
    this.partial = await top.getDirectoryHandle(PARTIAL, { create: true });
    this.received = await top.getDirectoryHandle(RECEIVED, { create: true });
  }

  #idOf(location: string): string {
    const id = location.startsWith('opfs:') ? location.slice(5) : '';
    if (!ID_PATTERN.test(id)) throw new MissingFileError(location);
    return id;
  }
}

/** Received files as Blobs in this page's memory (browsers without OPFS writable streams). */
export class MemoryReceivedFiles implements ReceivedFiles {
  readonly kind = 'memory';
  readonly #files = new Map<string, Blob>();

  async create(_file: IncomingFileInfo): Promise<FileWriter> {
    // One Blob per chunk: the browser may keep large Blobs on disk rather than in the page.
    let parts: Blob[] = [];
    return {
      write: async (bytes) => {
        parts.push(new Blob([bytes as Uint8Array<ArrayBuffer>]));
      },
      commit: async () => {
        const id = crypto.randomUUID();
        this.#files.set(id, new Blob(parts));
        parts = [];
        return `memory:${id}`;
      },
      abort: async () => {
        parts = [];
      },
    };
  }

  async file(location: string, info: SavedFileInfo): Promise<File> {
    const blob = this.#files.get(location.slice('memory:'.length));
    if (!location.startsWith('memory:') || !blob) throw new MissingFileError(location);
    return new File([blob], info.name, { type: info.mimeType });
  }

  async remove(location: string): Promise<void> {
    this.#files.delete(location.slice('memory:'.length));
  }

  async clear(): Promise<void> {
    this.#files.clear();
  }
}
