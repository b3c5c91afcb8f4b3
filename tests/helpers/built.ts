// Where this run's transpiled copy of the repo is (tests/global-setup.ts), for children started on plain node.

import path from 'node:path';

/** The transpiled file of a repo module: `builtFile('src/cli.ts')` -> `<built>/src/cli.js`. */
export function builtFile(repoPath: string): string {
  const built = process.env.PORTCULLIS_TEST_BUILT;
  if (!built)
    throw new Error('PORTCULLIS_TEST_BUILT is not set: run the tests through vitest (tests/global-setup.ts)');
  return path.join(built, repoPath.replace(/\.ts$/, '.js'));
}
