// Test entry that runs `portcullis run` with JSON options in a child process (stdio downstream).

import { runProxy } from '../../src/commands/run.js';

const options = JSON.parse(process.argv[2] ?? '{}');
const code = await runProxy(options, {
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
});
process.exitCode = code;
