// What a path given to `audit verify` names: a log file, an audit directory, or a data directory.
import { closeSync, existsSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { CHECKPOINT_FILE, logFileIndex, parseRecord } from './files.js';
import { WRITERS_DB, writerSlot } from './writers.js';

/** A path that holds no audit log at all: a usage mistake, never a broken chain. */
export class AuditPathError extends Error {
  readonly code = 'E_AUDIT_PATH';
}

/** Files a data directory holds beside `audit/` (any one says it is one). */
const DATA_DIR_MARKERS = [WRITERS_DB, 'audit-hmac.key'];

/**
 * What verifyAudit should check for `path`: an audit log file, an audit directory (log files,
 * checkpoints or writer-N/ chains; or an `audit/` or `writer-N/` directory where a writer put it,
 * whose emptiness is then evidence), or a data directory, whose `audit/` is meant. Anything else
 * throws AuditPathError: verifying a wrong path must not look like a broken chain.
 */
export function auditTarget(path: string): string {
  const info = statSync(path, { throwIfNoEntry: false });
  if (info === undefined) throw new AuditPathError(`no audit log at ${path}`);
  if (!info.isDirectory()) {
    if (logFileIndex(basename(path)) !== null || looksLikeRecords(path)) return path;
    throw new AuditPathError(
      `${path} is not an audit log (not an audit-NNNNNN.jsonl file, and its first line is not an audit record)`,
    );
  }
  if (isAuditDir(path)) return path;
  const inner = join(path, 'audit');
  if (statSync(inner, { throwIfNoEntry: false })?.isDirectory() && isDataDir(path)) return inner;
  throw new AuditPathError(
    `${path} holds no audit log: no audit-NNNNNN.jsonl files, checkpoints or writer-N/ chains, ` +
      'and it is not a data directory with an audit/ folder',
  );
}

function isAuditDir(dir: string): boolean {
  const names = readdirSync(dir);
  if (names.some((name) => logFileIndex(name) !== null || name === CHECKPOINT_FILE)) return true;
  if (names.some((name) => writerSlot(name) !== null && statSync(join(dir, name)).isDirectory())) return true;
  // Where a writer puts a chain: an empty one there lost its files, which verify must report.
  const parent = dirname(dir);
  if (basename(dir) === 'audit' && isDataDir(parent)) return true;
  return writerSlot(basename(dir)) !== null && basename(parent) === 'audit' && isDataDir(dirname(parent));
}

function isDataDir(dir: string): boolean {
  return DATA_DIR_MARKERS.some((name) => existsSync(join(dir, name)));
}

/** Whether a file's first line is an audit record (a renamed or copied log file still verifies). */
function looksLikeRecords(path: string): boolean {
  const fd = openSync(path, 'r');
  try {
    const buffer = Buffer.alloc(64 * 1024);
    const read = readSync(fd, buffer, 0, buffer.length, 0);
    const text = buffer.toString('utf8', 0, read);
    const newline = text.indexOf('\n');
    const record = parseRecord(newline < 0 ? text : text.slice(0, newline));
    return record !== null && typeof record.prev === 'string' && typeof record.hash === 'string';
  } finally {
    closeSync(fd);
  }
}
