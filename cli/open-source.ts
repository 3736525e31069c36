/** SENDFILE's path as the session's FileSource, or INVALID_INPUT saying why it cannot be sent. */
import { fileSourceFromPath } from '../client/node/files';
import { CipherlineError } from '../client/session/errors';
import type { FileSource } from '../client/session/ports';

export async function openSource(path: string): Promise<FileSource> {
  try {
    return await fileSourceFromPath(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new CipherlineError(
      'INVALID_INPUT',
      code === 'ENOENT' ? `There is no file ${path}.` : `${path} cannot be read as a file.`,
    );
  }
}
