// File operations under the writer: whole appends that roll back, syncs, private directories.
import { closeSync, fdatasyncSync, ftruncateSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * Appends all of `buffer` to a file that is `size` bytes long (and syncs it when asked). On failure
 * the file is cut back to `size`, so it still ends on a whole line, and the error is rethrown; if
 * even that fails, the writer's next open finds a torn tail and records it.
 */
export function appendFully(fd: number, buffer: Buffer, size: number, sync = false): void {
  let done = 0;
  try {
    while (done < buffer.length) done += writeSync(fd, buffer, done, buffer.length - done);
    if (sync) fdatasyncSync(fd);
  } catch (error) {
    if (done > 0) {
      try {
        ftruncateSync(fd, size);
      } catch {}
    }
    throw error;
  }
}

/** Cuts a file to `size` bytes; synced when asked, so the cut survives a power loss. */
export function truncateFile(path: string, size: number, sync: boolean): void {
  const fd = openSync(path, 'r+');
  try {
    ftruncateSync(fd, size);
    if (sync) fdatasyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * mkdir -p, one level at a time: Node's recursive mkdirSync never returns on some paths (under
 * /proc it loops on ENOENT), and a proxy must fail to start rather than hang.
 */
export function makeDirectory(path: string): void {
  try {
    mkdirSync(path, { mode: 0o700 });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return;
    const parent = dirname(path);
    if (code !== 'ENOENT' || parent === path) throw error;
    makeDirectory(parent);
    mkdirSync(path, { mode: 0o700 });
  }
}

/** Makes a new directory entry durable. */
export function syncDirectory(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fdatasyncSync(fd);
  } catch {
    // Some filesystems refuse to sync a directory; the file's own sync still holds.
  } finally {
    closeSync(fd);
  }
}

export function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
