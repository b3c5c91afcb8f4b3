// checkpoints.jsonl on the writer's side: appending a checkpoint durably, reading the newest back.
import { closeSync, fstatSync, openSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { appendFully, truncateFile } from './disk.js';
import { CHECKPOINT_FILE, type Checkpoint, endOfLastLine, linesBackward, parseCheckpoint } from './files.js';

/** Appends and syncs one checkpoint line; a failed write is taken back and rethrown. */
export function appendCheckpoint(dir: string, checkpoint: Checkpoint): void {
  // Private like the log (not createSecretFile: the file exists after its first checkpoint and grows).
  const fd = openSync(join(dir, CHECKPOINT_FILE), 'a', 0o600);
  try {
    appendFully(fd, Buffer.from(`${JSON.stringify(checkpoint)}\n`), fstatSync(fd).size, true);
  } finally {
    closeSync(fd);
  }
}

/**
 * The newest well-formed checkpoint, read from the end of the file (it grows for as long as the
 * log lives). A torn last line (a write cut short) is removed first.
 */
export function lastCheckpoint(dir: string): Checkpoint | null {
  const path = join(dir, CHECKPOINT_FILE);
  const stat = statSync(path, { throwIfNoEntry: false });
  if (!stat) return null;
  const end = endOfLastLine(path, stat.size);
  if (end < stat.size) truncateFile(path, end, false);
  for (const { line } of linesBackward(path, end)) {
    const checkpoint = parseCheckpoint(line);
    if (checkpoint) return checkpoint;
  }
  return null;
}
