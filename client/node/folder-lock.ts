/**
 * One process per folder: a lock file holding the owner's pid, created exclusively. A lock left
 * by a dead process is taken over. Used for the terminal client's data folder (two processes
 * must never share one device's keys, seen ids and session) and for the local stack's data
 * folder (LevelDB and s3rver must never open one folder twice).
 */
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export class FolderInUseError extends Error {
  override readonly name: string = 'FolderInUseError';
  constructor(
    message: string,
    readonly ownerPid?: number,
  ) {
    super(message);
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Takes `<folder>/lock` or throws what `inUse(ownerPid)` makes; returns the release function.
 * The folder is created (0700) if missing.
 */
export function lockFolder(folder: string, inUse: (ownerPid: number) => Error): () => void {
  mkdirSync(folder, { recursive: true, mode: 0o700 });
  const lockPath = join(folder, 'lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(lockPath, 'wx', 0o600);
      writeSync(fd, String(process.pid));
      closeSync(fd);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        rmSync(lockPath, { force: true });
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = Number.parseInt(readFileSync(lockPath, 'utf8'), 10);
      if (Number.isInteger(owner) && isAlive(owner)) throw inUse(owner);
      rmSync(lockPath, { force: true }); // stale: its owner died without cleaning up
    }
  }
  throw new FolderInUseError(`Could not lock the folder ${folder}.`);
}
