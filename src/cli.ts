#!/usr/bin/env node
// Command-line entry: the process's arguments and streams to the command line. The only place that sets the exit code.
import { type Io, runCli } from './commands/index.js';

const io: Io = {
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
};

process.exitCode = await runCli(process.argv.slice(2), io);
