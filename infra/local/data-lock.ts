/**
 * One local stack per data folder: LevelDB and s3rver must never open the same folder twice
 * (the lock itself: client/node/folder-lock.ts).
 */
import { FolderInUseError, lockFolder } from '../../client/node/folder-lock';

export class DataFolderInUseError extends FolderInUseError {
  override readonly name = 'DataFolderInUseError';
}

/** Takes the folder's lock or throws DataFolderInUseError; returns the release function. */
export function lockDataFolder(dataDir: string): () => void {
  return lockFolder(
    dataDir,
    (owner) =>
      new DataFolderInUseError(
        `The data folder ${dataDir} is in use by another local stack (pid ${owner}). Stop that one first, or start with another folder: npm start -- --data <folder>.`,
        owner,
      ),
  );
}
