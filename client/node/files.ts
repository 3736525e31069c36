/**
 * Files for the terminal client: a file on disk as a FileSource (streamed, never read whole), and
 * a downloads folder as the FileSink: a received file is written to a hidden partial file and
 * renamed to its (sanitised, de-duplicated) name only once every chunk's MAC and the digest have
 * checked out, so a half-written or forged file never shows up under a real name.
 */
import { createReadStream } from 'node:fs';
import { link, mkdir, open, rm, stat, type FileHandle } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { randomUUID } from 'node:crypto';
import type { FileSink, FileSource, FileWriter, IncomingFileInfo } from '../session/ports';

const MIME_TYPES: Readonly<Record<string, string>> = {
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.svg': 'image/svg+xml',
  '.heic': 'image/heic',
  '.mp4': 'video/mp4',
  '.mov': 'video/quicktime',
  '.webm': 'video/webm',
  '.mp3': 'audio/mpeg',
  '.m4a': 'audio/mp4',
  '.ogg': 'audio/ogg',
  '.wav': 'audio/wav',
  '.pdf': 'application/pdf',
  '.txt': 'text/plain',
  '.md': 'text/markdown',
  '.json': 'application/json',
  '.zip': 'application/zip',
};

export const mimeTypeOf = (path: string): string =>
  MIME_TYPES[extname(path).toLowerCase()] ?? 'application/octet-stream';

/** A file on disk to send. Throws INVALID_INPUT-worthy errors (missing, a folder) at once. */
export async function fileSourceFromPath(path: string): Promise<FileSource> {
  const info = await stat(path);
  if (!info.isFile()) throw new Error(`${path} is not a file`);
  return {
    name: basename(path),
    size: info.size,
    mimeType: mimeTypeOf(path),
    open: () => createReadStream(path, { highWaterMark: 1024 * 1024 }),
  };
}

/**
 * A name that is safe as one file name in the downloads folder: its last path segment, no control
 * characters, no leading dots (hidden files), at most 200 characters.
 */
export function safeFileName(name: string): string {
  const cleaned = (name.split(/[\\/]/).pop() ?? '')
    .replace(/\p{Cc}/gu, '')
    .replace(/^\.+/, '')
    .trim()
    .slice(0, 200);
  return cleaned || 'file';
}

export class DownloadsFolder implements FileSink {
  constructor(readonly folder: string) {}

  async create(file: IncomingFileInfo): Promise<FileWriter> {
    await mkdir(this.folder, { recursive: true, mode: 0o700 });
    const partial = join(this.folder, `.partial-${randomUUID()}`);
    const handle: FileHandle = await open(partial, 'wx', 0o600);
    let closed = false;
    const close = async () => {
      if (!closed) await handle.close();
      closed = true;
    };
    return {
      write: async (bytes) => {
        await handle.write(bytes);
      },
      commit: async () => {
        await handle.datasync();
        await close();
        const target = await this.#claimName(safeFileName(file.name), partial);
        await rm(partial, { force: true });
        return target;
      },
      abort: async () => {
        await close();
        await rm(partial, { force: true });
      },
    };
  }

  /** Links the file as `name`, or `name (2)`, `name (3)`... the first that does not exist
   * (a hard link fails if the name exists, so two downloads never take the same name). */
  async #claimName(name: string, partial: string): Promise<string> {
    const extension = extname(name);
    const stem = name.slice(0, name.length - extension.length);
    for (let n = 1; ; n++) {
      const candidate = join(this.folder, n === 1 ? name : `${stem} (${n})${extension}`);
      try {
        await link(partial, candidate);
        return candidate;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
    }
  }
}
