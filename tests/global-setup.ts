// Transpiles src/ and the test fixtures once per run (esbuild, no type check) so child processes start on plain node, not tsx.

import { mkdtemp, readdir, rm, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

export const BUILT_ENV = 'PORTCULLIS_TEST_BUILT';
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
  const out = await mkdtemp(path.join(os.tmpdir(), 'portcullis-built-'));
  await build({
    absWorkingDir: REPO,
    entryPoints: await entryPoints(),
    outdir: out,
    outbase: REPO,
    format: 'esm',
    platform: 'node',
    // Keeps `with { type: 'json' }` on JSON imports, which Node's ESM loader requires.
    target: 'node20.10',
    sourcemap: 'inline',
    logLevel: 'warning',
  });
  // Packages resolve, and findUiDir finds ui/, from the built files as they do from the repo's.
  await symlink(path.join(REPO, 'node_modules'), path.join(out, 'node_modules'), 'dir');
  await symlink(path.join(REPO, 'ui'), path.join(out, 'ui'), 'dir');
  await symlink(path.join(REPO, 'package.json'), path.join(out, 'package.json'));
  // An environment variable, not vitest's provide(): the test workers inherit it, and helpers that
  // fixture children import too (tests/audit/helpers.ts) can read it without loading vitest.
  process.env[BUILT_ENV] = out;
  return () => rm(out, { recursive: true, force: true });
}
