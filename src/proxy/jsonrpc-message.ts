// Whether a parsed JSON value is a JSON-RPC message MCP accepts: the SDK's JSONRPCMessageSchema, checked by hand.

import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { isObject } from './params.js';

/**
 * The same rules as the SDK's zod JSONRPCMessageSchema (1.x), which every transport ran on every
 * message (a zod union of four strict objects, each failure building its issue list): on the
 * proxy's busiest path that was a few percent of its CPU, once per message per hop.
 *
 * - request: exactly `jsonrpc: "2.0"`, `id`, `method`, optional `params`;
 * - notification: exactly `jsonrpc`, `method`, optional `params`;
 * - result: exactly `jsonrpc`, `id`, `result` (an object);
 * - error: exactly `jsonrpc`, optional `id`, `error` with an integer `code`, a string `message`
 *   and any `data`.
 *
 * An id is a string or a safe integer; `params` and `result` are objects (not arrays) whose `_meta`,
 * if present, is an object whose `progressToken`, if present, is a string or an integer, and whose
 * related task, if present, has a string `taskId`. Unknown keys inside `params`, `result` and
 * `_meta` are kept. The value is returned as it is (not copied), or undefined when it is none of these.
 */
export function asJsonRpcMessage(value: unknown): JSONRPCMessage | undefined {
  if (!isObject(value) || value.jsonrpc !== '2.0') return undefined;
  let keys = 1;
  const hasId = 'id' in value;
  if (hasId) {
    if (!isRequestId(value.id)) return undefined;
    keys += 1;
  }
  if ('method' in value) {
    if (typeof value.method !== 'string') return undefined;
    keys += 1;
    if ('params' in value) {
      if (!isParams(value.params)) return undefined;
      keys += 1;
    }
  } else if ('result' in value) {
    if (!hasId || !isParams(value.result)) return undefined;
    keys += 1;
  } else if ('error' in value) {
    if (!isError(value.error)) return undefined;
    keys += 1;
  } else {
    return undefined;
  }
  return countKeys(value) === keys ? (value as JSONRPCMessage) : undefined;
}

const RELATED_TASK = 'io.modelcontextprotocol/related-task';

/** A JSON-RPC id MCP accepts: a string, or a safe integer (zod's int(): whole, within +-(2^53 - 1)). */
export function isRequestId(value: unknown): value is string | number {
  return typeof value === 'string' || Number.isSafeInteger(value);
}

/** `params` of a request or notification, or a `result`: an object with an optional, well-formed `_meta`. */
function isParams(value: unknown): boolean {
  if (!isObject(value)) return false;
  if (!('_meta' in value)) return true;
  const meta = value._meta;
  if (meta === undefined) return true;
  if (!isObject(meta)) return false;
  if ('progressToken' in meta && meta.progressToken !== undefined && !isRequestId(meta.progressToken))
    return false;
  if (RELATED_TASK in meta && meta[RELATED_TASK] !== undefined) {
    const task = meta[RELATED_TASK];
    if (!isObject(task) || typeof task.taskId !== 'string') return false;
  }
  return true;
}

function isError(value: unknown): boolean {
  return isObject(value) && Number.isSafeInteger(value.code) && typeof value.message === 'string';
}

function countKeys(value: Record<string, unknown>): number {
  let n = 0;
  for (const _ in value) n += 1;
  return n;
}
