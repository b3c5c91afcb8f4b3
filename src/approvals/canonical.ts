// Canonical form of a call's arguments (RFC 8785) and the key that says "the same call".
import { canonicalJson, sha256Hex } from '../util/index.js';
import { ApprovalArgsError } from './types.js';

/**
 * Absent arguments are stored as `{}`: MCP treats them alike, and one form keeps "same call" exact.
 * Anything that is not a JSON object is refused rather than guessed at.
 */
export function canonicalArgs(args: unknown): string {
  const value = args === undefined || args === null ? {} : args;
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new ApprovalArgsError('tool arguments must be a JSON object');
  }
  try {
    return canonicalJson(value);
  } catch (error) {
    throw new ApprovalArgsError(`tool arguments are not JSON: ${(error as Error).message}`);
  }
}

/**
 * Same agent, server, tool and canonical arguments: the identity a retry is matched by. A resource read
 * or prompt get adds its kind, so approving prompt "x" never releases tool "x" (tool keys are unchanged).
 */
export function callKey(
  agent: string | null,
  server: string | null,
  tool: string,
  argsSha256: string,
  kind: 'tool' | 'resource' | 'prompt' = 'tool',
): string {
  const parts = kind === 'tool' ? [agent, server, tool, argsSha256] : [agent, server, tool, argsSha256, kind];
  return sha256Hex(canonicalJson(parts));
}
