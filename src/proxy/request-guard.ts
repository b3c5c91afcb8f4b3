// Between a downstream transport and the session's Server: one request per id at a time, and requests a client abandoned become cancellations.

import type { Transport, TransportSendOptions } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage, MessageExtraInfo, RequestId } from '@modelcontextprotocol/sdk/types.js';

/** JSON-RPC "Invalid Request": the code a reused id is answered with. */
export const INVALID_REQUEST = -32600;

export function isRequest(
  message: JSONRPCMessage,
): message is JSONRPCMessage & { id: RequestId; method: string } {
  return 'method' in message && 'id' in message;
}

export function isResponse(message: JSONRPCMessage): message is JSONRPCMessage & { id: RequestId } {
  return 'id' in message && !('method' in message);
}

/** The error a request reusing the id of one still in progress gets; nothing is run for it. */
export function duplicateIdError(id: RequestId): JSONRPCMessage {
  return {
    jsonrpc: '2.0',
    id,
    error: {
      code: INVALID_REQUEST,
      message: `Invalid Request: id ${JSON.stringify(id)} is already used by a request in progress in this session`,
    },
  };
}

/**
 * The SDK's Protocol keys a request's handler, abort controller and (over HTTP) response stream by
 * its id alone: a second request with the id of one in progress runs twice and one of the two
 * answers is lost. The guard lets one request per id through, answers a duplicate itself, and turns
 * requests whose client went away into `notifications/cancelled`, so a held approval is withdrawn
 * and an upstream call is cancelled instead of running for nobody.
 */
export class RequestGuard implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: <T extends JSONRPCMessage>(message: T, extra?: MessageExtraInfo) => void;
  private readonly inner: Transport;
  private readonly log: (message: string) => void;
  /** Ids of client requests that reached the Server and have not been answered or cancelled. */
  private readonly inFlight = new Set<RequestId>();
  /** Ids admitted by `reserve` (an HTTP body checked before the transport parses it), not yet seen. */
  private readonly reserved = new Set<RequestId>();

  constructor(inner: Transport, log: (message: string) => void) {
    this.inner = inner;
    this.log = log;
    inner.onclose = () => {
      this.inFlight.clear();
      this.reserved.clear();
      this.onclose?.();
    };
    inner.onerror = (error) => this.onerror?.(error);
    inner.onmessage = (message, extra) => this.receive(message, extra);
  }

  get sessionId(): string | undefined {
    return this.inner.sessionId;
  }

  /** True while a request with this id is being handled. */
  busy(id: RequestId): boolean {
    return this.inFlight.has(id) || this.reserved.has(id);
  }

  /**
   * Claims ids before their messages are handed to the transport (HTTP: the body is read first, so a
   * duplicate is refused before the SDK transport maps its stream). Returns the first id that is in
   * use or repeated, or undefined when all were claimed. `release` gives back the ones never seen.
   */
  reserve(ids: readonly RequestId[]): RequestId | undefined {
    const seen = new Set<RequestId>();
    for (const id of ids) {
      if (this.busy(id) || seen.has(id)) return id;
      seen.add(id);
    }
    for (const id of ids) this.reserved.add(id);
    return undefined;
  }

  /** Gives back reserved ids whose messages never reached the Server (the transport refused the body). */
  release(ids: readonly RequestId[]): void {
    for (const id of ids) this.reserved.delete(id);
  }

  /**
   * The client is gone for these requests (its connection closed before they were answered): each one
   * still in progress is cancelled as if the client had sent `notifications/cancelled`.
   */
  abandon(ids: readonly RequestId[], reason: string): void {
    for (const id of ids) {
      this.reserved.delete(id);
      if (!this.inFlight.delete(id)) continue;
      this.log(`request ${JSON.stringify(id)} abandoned (${reason}): cancelling it`);
      this.onmessage?.({
        jsonrpc: '2.0',
        method: 'notifications/cancelled',
        params: { requestId: id, reason },
      });
    }
  }

  private receive(message: JSONRPCMessage, extra?: MessageExtraInfo): void {
    if (isRequest(message)) {
      if (this.reserved.delete(message.id)) {
        this.inFlight.add(message.id);
      } else if (this.inFlight.has(message.id)) {
        this.log(`request id ${JSON.stringify(message.id)} reused while in progress: refused`);
        this.inner.send(duplicateIdError(message.id)).catch((error: unknown) => {
          this.onerror?.(error instanceof Error ? error : new Error(String(error)));
        });
        return;
      } else {
        this.inFlight.add(message.id);
      }
    } else if ('method' in message && message.method === 'notifications/cancelled') {
      // A cancelled request gets no answer from the SDK, so its id is free again from here on.
      const id = (message.params as { requestId?: RequestId } | undefined)?.requestId;
      if (id !== undefined) this.inFlight.delete(id);
    }
    this.onmessage?.(message, extra);
  }

  start(): Promise<void> {
    return this.inner.start();
  }

  send(message: JSONRPCMessage, options?: TransportSendOptions): Promise<void> {
    if (isResponse(message)) this.inFlight.delete(message.id);
    return this.inner.send(message, options);
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  setProtocolVersion(version: string): void {
    this.inner.setProtocolVersion?.(version);
  }
}
