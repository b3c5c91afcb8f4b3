// Scratch directories and the artifacts folder: under this run's temp root (tests/global-setup.ts), never in the repo.

import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface TempDir {
  dir: string;
  cleanup(): void;
}

/**
 * A fresh directory under the run's temp root, which is removed after the run, so a test that
 * forgets `cleanup` leaks nothing. Outside vitest (a fixture child) it falls back to the OS's.
 */
export function tempDir(prefix = 'portcullis-test-'): TempDir {
  const root = process.env.PORTCULLIS_TEST_TMP ?? os.tmpdir();
  mkdirSync(root, { recursive: true });
  const dir = mkdtempSync(path.join(root, prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Where screenshots go for a person to look at: kept after the run; global-setup prints the path. */
export function artifactsDir(): string {
  const dir = process.env.PORTCULLIS_TEST_ARTIFACTS ?? path.join(os.tmpdir(), 'portcullis-artifacts');
  mkdirSync(dir, { recursive: true });
  return dir;
}
