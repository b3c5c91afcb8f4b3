// A client's tools/call: resolve the name to the upstream that listed it, then hand the call to the gate.

import { ErrorCode, type Result } from '@modelcontextprotocol/sdk/types.js';
import type { ToolInputSchema } from './arg-schema.js';
import type { Route } from './catalog.js';
import { errorText, RpcError } from './errors.js';
import type { Gate } from './gate.js';
import { type Resolution, unroutedReason } from './lists.js';
import { type Extra, isString, type Params } from './params.js';
import type { Elicit } from './review.js';

export interface ToolCallDeps {
  agent: string;
  gate: Gate;
  /** Where a client-side tool name leads: an upstream and its name there, or why nowhere. */
  resolve(exposed: string, extra: Extra): Promise<Resolution>;
  /** Throws when the route no longer holds at forwarding time (the name became ambiguous or was unlisted). */
  confirm(exposed: string, route: Route): void;
  /** The inputSchema the route's upstream listed for the tool, for the gate's argument check. */
  inputSchema?(route: Route): ToolInputSchema | undefined;
  /** Why the route's tool is held by its pin (a changed definition), or undefined. */
  held?(route: Route): string | undefined;
  forward(server: string, method: string, params: Params, extra: Extra): Promise<Result>;
  /** How to ask the person at this call's client, when it declared form elicitation. */
  elicit?(extra: Extra): Elicit | undefined;
  log(message: string): void;
}

/**
 * How a call held for review tells the client it is still waiting: numbered progress notifications
 * on the client's own progress token; undefined when it sent none (it cannot be kept waiting then).
 */
export function heldProgress(
  extra: Extra,
  log: (message: string) => void,
): ((message: string) => void) | undefined {
  const token = extra._meta?.progressToken;
  if (token === undefined) return undefined;
  let step = 0;
  return (message) => {
    step += 1;
    extra
      .sendNotification({
        method: 'notifications/progress',
        params: { progressToken: token, progress: step, message },
      })
      .catch((error: unknown) => log(`cannot send progress: ${errorText(error)}`));
  };
}

/**
 * A name no upstream listed (exactly, in its case), or that two upstreams list without prefixes,
 * reaches the gate without a server, and the gate denies it with the reason. The arguments go to
 * the gate as parsed, and the gate forwards the object it judged.
 */
export async function callTool(deps: ToolCallDeps, params: Params, extra: Extra): Promise<Result> {
  if (!isString(params.name)) throw new RpcError(ErrorCode.InvalidParams, 'tools/call needs a tool name');
  if (params.task !== undefined) {
    throw new RpcError(
      ErrorCode.InvalidParams,
      'task-augmented tool calls are not supported through Portcullis',
    );
  }
  const exposed = params.name;
  const resolution = await deps.resolve(exposed, extra);
  const route = resolution.kind === 'route' ? resolution.route : undefined;
  return deps.gate.call({
    agent: deps.agent,
    server: route?.server,
    tool: route?.name ?? exposed,
    args: params.arguments,
    inputSchema: route ? deps.inputSchema?.(route) : undefined,
    held: route ? deps.held?.(route) : undefined,
    unrouted: resolution.kind === 'route' ? undefined : unroutedReason('tools', exposed, resolution),
    signal: extra.signal,
    progress: heldProgress(extra, deps.log),
    elicit: deps.elicit?.(extra),
    forward: (args) => {
      if (!route) throw new RpcError(ErrorCode.InternalError, 'no route');
      deps.confirm(exposed, route);
      const forwarded: Params = { ...params, name: route.name };
      if (args !== undefined) forwarded.arguments = args;
      return deps.forward(route.server, 'tools/call', forwarded, extra);
    },
  });
}
