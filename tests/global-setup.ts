// Once per run: transpiles src/ and the test fixtures (esbuild, no type check) so children start on plain node, not tsx;
// makes the run's temp root (removed after) and artifacts folder (kept, printed).

import { mkdir, mkdtemp, readdir, rm, rmdir, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Every module the children may load: the sources, the fixtures and helpers, not the test files. */
async function entryPoints(): Promise<string[]> {
  const files: string[] = [];
  for (const dir of ['src', 'tests']) {
    for (const file of await readdir(path.join(REPO, dir), { recursive: true })) {
      if (file.endsWith('.ts') && !file.endsWith('.test.ts')) files.push(path.join(dir, file));
    }
  }
  return files;
}

export default async function setup(): Promise<() => Promise<void>> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'portcullis-test-run-'));
  const built = path.join(root, 'built');
  const artifacts = await mkdtemp(path.join(os.tmpdir(), 'portcullis-artifacts-'));
  await build({
    absWorkingDir: REPO,
    entryPoints: await entryPoints(),
    outdir: built,
    outbase: REPO,
    format: 'esm',
    platform: 'node',
    // Keeps `with { type: 'json' }` on JSON imports, which Node's ESM loader requires.
    target: 'node20.10',
    sourcemap: 'inline',
    logLevel: 'warning',
  });
  // Packages resolve, ESM is ESM, and findUiDir finds ui/, from the built files as from the repo's.
  await symlink(path.join(REPO, 'node_modules'), path.join(built, 'node_modules'), 'dir');
  await symlink(path.join(REPO, 'ui'), path.join(built, 'ui'), 'dir');
  await symlink(path.join(REPO, 'package.json'), path.join(built, 'package.json'));
  await mkdir(path.join(root, 'tmp'));
  // Environment variables, not vitest's provide(): the test workers inherit them, and helpers that
  // fixture children import too (tests/audit/helpers.ts) can read them without loading vitest.
  process.env.PORTCULLIS_TEST_BUILT = built;
  process.env.PORTCULLIS_TEST_TMP = path.join(root, 'tmp');
  process.env.PORTCULLIS_TEST_ARTIFACTS = artifacts;
  process.stderr.write(`test artifacts (screenshots): ${artifacts}\n`);
  return async () => {
    await rm(root, { recursive: true, force: true });
    // Kept only when a test left something to look at.
    await rmdir(artifacts).catch(() => {});
  };
}
