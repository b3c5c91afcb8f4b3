// Shapes of the loosely typed MCP payloads the proxy routes without parsing them (internal helpers).

import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import type { Implementation, ServerNotification, ServerRequest } from '@modelcontextprotocol/sdk/types.js';

/** What the SDK hands a request handler towards the client: its signal, progress token, stream. */
export type Extra = RequestHandlerExtra<ServerRequest, ServerNotification>;
/** A request's params as the client sent them; only the fields the proxy routes on are read. */
export type Params = Record<string, unknown> & { _meta?: Record<string, unknown> };

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function isString(value: unknown): value is string {
  return typeof value === 'string';
}

export function isImplementation(value: unknown): value is Implementation {
  return isObject(value) && isString(value.name) && isString(value.version);
}
