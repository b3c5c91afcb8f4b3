// Creating a small secret file (a key, a token) once, privately and atomically, even with rivals.
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, linkSync, openSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/**
 * Creates `path` holding `content` with mode 0600, unless it exists: returns false then, and the
 * file is left as it is. The content goes to a private temporary file first (created exclusively,
 * fsynced) that is hard-linked into place: link() never replaces an existing file, so processes
 * starting together agree on the first one's content, and no reader ever sees half of it.
 * Other errors are thrown as they come (the caller names what the file is for).
 */
export function createSecretFile(path: string, content: string): boolean {
  const name = `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  const temporary = join(dirname(path), name);
  try {
    const fd = openSync(temporary, 'wx', 0o600);
    try {
      writeSync(fd, content);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    linkSync(temporary, path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    rmSync(temporary, { force: true });
  }
}
