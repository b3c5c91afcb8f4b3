// Requests across the proxy with their progress and cancellation: client to upstream, and upstream to client.

import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import type { RequestOptions } from '@modelcontextprotocol/sdk/shared/protocol.js';
import {
  ErrorCode,
  type JSONRPCRequest,
  type Result,
  ResultSchema,
  type ServerRequest,
} from '@modelcontextprotocol/sdk/types.js';
import { errorText, RpcError, toRpcError } from './errors.js';
import type { Extra, Params } from './params.js';
import { UPSTREAM_REQUEST_TIMEOUT_MS, type UpstreamConnection } from './upstream.js';

/** Requests an upstream may send to the client through the proxy. */
const SERVER_TO_CLIENT_REQUESTS = new Set(['sampling/createMessage', 'elicitation/create', 'roots/list']);

export class Relay {
  private readonly server: Server;
  private readonly log: (message: string) => void;
  /** The client requests in flight to each upstream, oldest first. */
  private readonly inFlight = new Map<string, Extra[]>();

  constructor(server: Server, log: (message: string) => void) {
    this.server = server;
    this.log = log;
  }

  /**
   * Sends a request upstream for the client: the client's cancellation follows it, and progress
   * comes back under the client's own progress token.
   */
  async forward(upstream: UpstreamConnection, method: string, params: Params, extra: Extra): Promise<Result> {
    const token = extra._meta?.progressToken;
    const options: RequestOptions = { signal: extra.signal };
    if (token !== undefined) {
      options.resetTimeoutOnProgress = true;
      options.onprogress = (progress) => {
        extra
          .sendNotification({
            method: 'notifications/progress',
            params: { ...progress, progressToken: token },
          })
          .catch((error: unknown) => this.log(`cannot forward progress: ${errorText(error)}`));
      };
    }
    let calls = this.inFlight.get(upstream.name);
    if (!calls) {
      calls = [];
      this.inFlight.set(upstream.name, calls);
    }
    calls.push(extra);
    try {
      return await upstream.request(method, params, options);
    } finally {
      calls.splice(calls.indexOf(extra), 1);
    }
  }

  /**
   * The client request to this upstream that something the upstream sends now belongs with: the
   * most recent one in flight (the one most likely still running the tool that speaks, since an
   * upstream's messages do not say which call they are about), or none.
   */
  callInFlight(upstream: string): Extra | undefined {
    return this.inFlight
      .get(upstream)
      ?.filter((extra) => !extra.signal.aborted)
      .at(-1);
  }

  /**
   * Sampling, elicitation and roots requests from an upstream go to this session's client. While
   * a client request to that upstream is in flight, the request is tied to it (over HTTP it then
   * travels on that call's stream); otherwise it goes out on the session. The upstream's progress
   * token and cancellation are mapped the same way as the client's are on the way up.
   */
  async toClient(
    upstream: UpstreamConnection,
    request: JSONRPCRequest,
    signal: AbortSignal,
  ): Promise<Result> {
    if (!SERVER_TO_CLIENT_REQUESTS.has(request.method))
      throw new RpcError(ErrorCode.MethodNotFound, 'Method not found');
    const params = request.params as Params | undefined;
    const upstreamToken = params?._meta?.progressToken;
    const options: RequestOptions = { signal, timeout: UPSTREAM_REQUEST_TIMEOUT_MS };
    if (upstreamToken !== undefined) {
      options.onprogress = (progress) => {
        void upstream.notify('notifications/progress', { ...progress, progressToken: upstreamToken });
      };
    }
    const message = { method: request.method, params } as ServerRequest;
    const related = this.callInFlight(upstream.name);
    try {
      return related
        ? await related.sendRequest(message, ResultSchema, options)
        : await this.server.request(message, ResultSchema, options);
    } catch (error) {
      throw toRpcError(error);
    }
  }
}
