// The command line as a value: the entry hands it arguments and an Io, and sets the exit code it returns.
export { EXIT_CHECK_FAILED, EXIT_OK, EXIT_USAGE, type Io, UsageError } from './io.js';
export { runCli } from './program.js';
