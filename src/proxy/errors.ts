// Error classes of the proxy: callers branch on `code`, never on the message text.

import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';

export class ProxyError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ProxyError';
    this.code = code;
  }
}

/** An upstream's configuration cannot be used (e.g. a `${VAR}` that is not set). */
export class UpstreamConfigError extends ProxyError {
  /** The upstream it stops, when it is one (its name in `servers:` or the `-- COMMAND`'s). */
  readonly server: string | undefined;
  constructor(message: string, server?: string) {
    super('E_UPSTREAM_CONFIG', message);
    this.server = server;
  }
}

/** The proxy will not start as asked (no upstream, anonymous clients on a reachable address): a usage mistake. */
export class StartRefusedError extends ProxyError {
  constructor(message: string) {
    super('E_START_REFUSED', message);
  }
}

/** The policy file could not be read or is invalid; `problems` are `file:line:col: message` lines. */
export class PolicyLoadError extends ProxyError {
  readonly problems: string[];
  constructor(message: string, problems: string[] = []) {
    super('E_POLICY_LOAD', message);
    this.problems = problems;
  }
}

/** MCP's code for an unknown resource URI: the SDK's ErrorCode (1.x) does not name it. */
export const RESOURCE_NOT_FOUND = -32002;

/**
 * Portcullis's code for a resources/read, resources/subscribe or prompts/get the policy denied (an
 * implementation-defined server error: MCP names none); its data carries the decision.
 */
export const ACCESS_DENIED = -32003;

/**
 * An error to send back over JSON-RPC as is. The SDK sends `message` verbatim, so unlike McpError
 * (whose message carries an "MCP error N: " prefix) it can be rethrown without double prefixes.
 */
export class RpcError extends Error {
  readonly code: number;
  readonly data: unknown;
  constructor(code: number, message: string, data?: unknown) {
    super(message);
    this.name = 'RpcError';
    this.code = code;
    this.data = data;
  }
}

/** Turns whatever a peer rejected with into an RpcError carrying the peer's own code, message and data. */
export function toRpcError(error: unknown): RpcError {
  if (error instanceof RpcError) return error;
  if (error instanceof McpError) {
    const prefix = `MCP error ${error.code}: `;
    const message = error.message.startsWith(prefix) ? error.message.slice(prefix.length) : error.message;
    return new RpcError(error.code, message, error.data);
  }
  return new RpcError(ErrorCode.InternalError, errorText(error));
}

/** The message of whatever was thrown, for a log line. */
export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
