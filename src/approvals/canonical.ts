// Canonical form of a call's arguments (RFC 8785) and the key that says "the same call".
import { createHash } from 'node:crypto';
import canonicalizeModule from 'canonicalize';
import { ApprovalArgsError } from './types.js';

type Canonicalize = (input: unknown) => string | undefined;
// The package is CommonJS (`module.exports = fn`) but its types declare an ES default export:
// under NodeNext the default import is the function at run time, `.default` only in the types.
const canonicalize = ((canonicalizeModule as unknown as { default?: Canonicalize }).default ??
  canonicalizeModule) as unknown as Canonicalize;

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/**
 * Absent arguments are stored as `{}`: MCP treats them alike, and one form keeps "same call" exact.
 * Anything that is not a JSON object is refused rather than guessed at.
 */
export function canonicalArgs(args: unknown): string {
  const value = args === undefined || args === null ? {} : args;
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new ApprovalArgsError('tool arguments must be a JSON object');
  }
  let text: string | undefined;
  try {
    text = canonicalize(value);
  } catch (error) {
    throw new ApprovalArgsError(`tool arguments are not JSON: ${(error as Error).message}`);
  }
  if (text === undefined) throw new ApprovalArgsError('tool arguments are not JSON');
  return text;
}

/** Same agent, server, tool and canonical arguments: the identity a retry is matched by. */
export function callKey(
  agent: string | null,
  server: string | null,
  tool: string,
  argsSha256: string,
): string {
  return sha256Hex(canonicalize([agent, server, tool, argsSha256]) ?? '');
}
