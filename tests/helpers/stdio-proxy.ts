// The real CLI in stdio mode in front of the recording fixture: as a child process, as a desktop client starts it, or in this process.

import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { runProxy } from '../../src/commands/run.js';
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

/** What a test of the stdio framing needs of the proxy: its stdin, stdout and stderr, and its end. */
export interface StdioProxy {
  stdin: PassThrough;
  stdout: PassThrough;
  stderr: PassThrough;
  /** Resolves with the exit code once the proxy stopped (its stdin ended). */
  exited: Promise<number>;
}

/**
 * The same command line run in this process through runProxy's stdin/stdout and Io, for tests of
 * what goes over the pipe (framing, ids, escapes) rather than of the process around it.
 */
export function runStdioProxy(options: {
  dir: string;
  fixtureLog: string;
  env?: NodeJS.ProcessEnv | undefined;
}): StdioProxy {
  const { dir } = options;
  const stdin = new PassThrough();
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const exited = runProxy(
    {
      policy: path.join(dir, 'policy.yml'),
      ui: 'off',
      dataDir: path.join(dir, 'data'),
      command: ['node', FIXTURE],
    },
    { out: (text) => stdout.write(`${text}\n`), err: (text) => stderr.write(`${text}\n`) },
    { stdin, stdout, env: { ...process.env, ...options.env, FIXTURE_LOG: options.fixtureLog } },
  );
  return { stdin, stdout, stderr, exited };
}
