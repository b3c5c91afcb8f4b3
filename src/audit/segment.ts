// The log file being appended to: its descriptor, identity and size, checked before every write.
import { closeSync, fdatasyncSync, fstatSync, openSync, statSync } from 'node:fs';
import { appendFully, syncDirectory } from './disk.js';
import type { LogFile } from './files.js';
import { AuditWriteError } from './types.js';

export class Segment {
  readonly file: LogFile;
  readonly #fd: number;
  readonly #identity: { dev: number; ino: number };
  #size: number;
  /** Written since the last sync. */
  #dirty = false;

  private constructor(file: LogFile, fd: number, identity: { dev: number; ino: number }, size: number) {
    this.file = file;
    this.#fd = fd;
    this.#identity = identity;
    this.#size = size;
  }

  /** Opens `file` to append to; `create` makes a new file (failing if it exists) and syncs `dir`. */
  static open(dir: string, file: LogFile, create: boolean): Segment {
    // Not createSecretFile: a log file stays open for appending, and is never written whole at once.
    const fd = openSync(file.path, create ? 'ax' : 'a', 0o600);
    const stat = fstatSync(fd);
    if (!stat.isFile()) {
      closeSync(fd);
      throw new AuditWriteError(`audit file ${file.path} is not a regular file`);
    }
    try {
      if (create) syncDirectory(dir);
    } catch (error) {
      closeSync(fd);
      throw error;
    }
    return new Segment(file, fd, { dev: stat.dev, ino: stat.ino }, stat.size);
  }

  get size(): number {
    return this.#size;
  }

  /** Fails when the path no longer names the file we hold open (moved, deleted, replaced). */
  assertInPlace(): void {
    const stat = statSync(this.file.path, { throwIfNoEntry: false });
    if (!stat || stat.ino !== this.#identity.ino || stat.dev !== this.#identity.dev) {
      throw new AuditWriteError(`audit file ${this.file.path} was moved, deleted or replaced`);
    }
  }

  /** Appends whole lines; a failed write is taken back (see appendFully) and rethrown. */
  write(text: string): void {
    const buffer = Buffer.from(text);
    appendFully(this.#fd, buffer, this.#size);
    this.#size += buffer.length;
    this.#dirty = true;
  }

  /** fdatasync when something was written since the last one, or always (`force`). */
  sync(force = false): void {
    if (!force && !this.#dirty) return;
    fdatasyncSync(this.#fd);
    this.#dirty = false;
  }

  /** Syncs what is unsynced (best effort) and closes. */
  close(): void {
    try {
      if (this.#dirty) fdatasyncSync(this.#fd);
    } catch {
      // The descriptor is going away either way; a later reopen compares the disk with memory.
    } finally {
      this.#dirty = false;
      closeSync(this.#fd);
    }
  }
}
