/**
 * One local stack per data folder: LevelDB and s3rver must never open the same folder twice.
 * The lock file holds the owner's pid; a lock left by a dead process is taken over.
 */
import { mkdirSync, openSync, readFileSync, rmSync, writeSync, closeSync } from 'node:fs';
import { join } from 'node:path';

export class DataFolderInUseError extends Error {
  override readonly name = 'DataFolderInUseError';
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes the folder's lock or throws DataFolderInUseError; returns the release function. */
export function lockDataFolder(dataDir: string): () => void {
  mkdirSync(dataDir, { recursive: true });
  const lockPath = join(dataDir, 'lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(lockPath, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return () => rmSync(lockPath, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = Number.parseInt(readFileSync(lockPath, 'utf8'), 10);
      if (Number.isInteger(owner) && isAlive(owner)) {
        throw new DataFolderInUseError(
          `The data folder ${dataDir} is in use by another local stack (pid ${owner}). Stop that one first, or start with another folder: npm start -- --data <folder>.`,
        );
      }
      rmSync(lockPath, { force: true }); // stale: its owner died without cleaning up
    }
  }
  throw new DataFolderInUseError(`Could not lock the data folder ${dataDir}.`);
}
