// The real CLI in stdio mode as a child process, in front of the recording fixture, as a desktop client starts it.

import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import path from 'node:path';
import { builtFile } from './built.js';
import { FIXTURE, REPO } from './peers.js';

/**
 * Runs `portcullis --policy DIR/policy.yml --ui UI --data-dir DIR/data -- node FIXTURE`
 * with the fixture recording into `fixtureLog`. The caller writes the policy and talks on stdin/stdout.
 */
export function spawnStdioProxy(options: {
  dir: string;
  fixtureLog: string;
  ui?: string | undefined;
  env?: NodeJS.ProcessEnv | undefined;
}): ChildProcessWithoutNullStreams {
  const { dir } = options;
  return spawn(
    process.execPath,
    [
      builtFile('src/cli.ts'),
      '--policy',
      path.join(dir, 'policy.yml'),
      '--ui',
      options.ui ?? 'off',
      '--data-dir',
      path.join(dir, 'data'),
      '--',
      'node',
      FIXTURE,
    ],
    { cwd: REPO, env: { ...process.env, ...options.env, FIXTURE_LOG: options.fixtureLog } },
  );
}
