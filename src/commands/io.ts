// What a command may print to, handed down from src/cli.ts so commands stay testable and never exit.

export interface Io {
  /** Standard output: results a script reads (in stdio proxy mode, reserved for MCP). */
  out(text: string): void;
  /** Standard error: diagnostics and logs for a person. */
  err(text: string): void;
}

/** Exit codes of the CLI contract (DESIGN 2). */
export const EXIT_OK = 0;
export const EXIT_CHECK_FAILED = 1;
export const EXIT_USAGE = 2;

/** A mistake in how the command was called; the CLI prints its message and exits 2. */
export class UsageError extends Error {
  readonly code = 'E_USAGE';
}
