// Requests to an upstream sent on its transport and matched to their answers here, without the SDK Client's request path.

import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { ErrorCode, type JSONRPCMessage, McpError, type Result } from '@modelcontextprotocol/sdk/types.js';
import { isResponse } from './request-guard.js';

interface Pending {
  resolve(result: Result): void;
  reject(error: unknown): void;
  timer: NodeJS.Timeout;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

/**
 * The SDK's Protocol checks every incoming message against three or four zod schemas before it
 * finds the response handler, then parses the result against the caller's schema: on the proxy's
 * busiest path (one allowed tools/call after another) that was the largest item of the client side.
 * A request sent here takes its id from the SDK client's own counter, so ids stay unique across
 * both paths; its answer is taken off the transport before the SDK sees it, and everything else
 * (notifications, the upstream's own requests, answers to the SDK's requests) goes on as before.
 *
 * What the SDK does for a request is kept: an error answer becomes an
 * McpError with the upstream's code, message and data, a timeout or an aborted signal sends
 * `notifications/cancelled` upstream, and a closed connection rejects everything pending with the
 * SDK's ConnectionClosed error. Like dispatchByShape, this relies on the transport having checked
 * each message (a result is then an object, as the SDK's ResultSchema required). Requests that
 * report progress still go through the SDK.
 */
export class DirectRequests {
  private readonly transport: Transport;
  private readonly nextId: () => number;
  private readonly pending = new Map<number, Pending>();
  private closed = false;

  /**
   * Takes over the transport's message and close callbacks, which the SDK client set when it
   * connected; what is not an answer to one of these requests is handed on to them.
   */
  constructor(transport: Transport, nextId: () => number) {
    this.transport = transport;
    this.nextId = nextId;
    const sdkMessage = transport.onmessage;
    const sdkClose = transport.onclose;
    transport.onmessage = (message, extra) => {
      if (!this.answer(message)) sdkMessage?.(message, extra);
    };
    transport.onclose = () => {
      sdkClose?.();
      this.close();
    };
  }

  request(method: string, params: unknown, timeout: number, signal?: AbortSignal): Promise<Result> {
    return new Promise<Result>((resolve, reject) => {
      if (this.closed) {
        reject(new McpError(ErrorCode.ConnectionClosed, 'Connection closed'));
        return;
      }
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const id = this.nextId();
      const cancel = (reason: unknown): void => {
        if (!this.settle(id)) return;
        this.transport
          .send({
            jsonrpc: '2.0',
            method: 'notifications/cancelled',
            params: { requestId: id, reason: String(reason) },
          })
          .catch(() => {});
        reject(reason instanceof McpError ? reason : new McpError(ErrorCode.RequestTimeout, String(reason)));
      };
      const entry: Pending = {
        resolve,
        reject,
        timer: setTimeout(
          () => cancel(new McpError(ErrorCode.RequestTimeout, 'Request timed out', { timeout })),
          timeout,
        ),
        signal,
        onAbort: signal && (() => cancel(signal.reason)),
      };
      this.pending.set(id, entry);
      if (entry.onAbort) signal?.addEventListener('abort', entry.onAbort, { once: true });
      const message = {
        jsonrpc: '2.0',
        id,
        method,
        ...(params !== undefined && { params }),
      } as JSONRPCMessage;
      this.transport.send(message).catch((error: unknown) => {
        if (this.settle(id)) reject(error);
      });
    });
  }

  /** Takes the request off the books; undefined when it was already answered, cancelled or closed. */
  private settle(id: number): Pending | undefined {
    const entry = this.pending.get(id);
    if (!entry) return undefined;
    this.pending.delete(id);
    clearTimeout(entry.timer);
    if (entry.onAbort) entry.signal?.removeEventListener('abort', entry.onAbort);
    return entry;
  }

  /** True when the message answered one of these requests (and was used up). */
  private answer(message: JSONRPCMessage): boolean {
    if (!isResponse(message) || typeof message.id !== 'number') return false;
    const entry = this.settle(message.id);
    if (!entry) return false;
    if ('error' in message) {
      const { code, message: text, data } = message.error;
      entry.reject(McpError.fromError(code, text, data));
      return true;
    }
    // The transport checked the answer (asJsonRpcMessage, or the SDK's zod in its HTTP transport):
    // the result is an object with a well-formed _meta, what the SDK's ResultSchema asked of it.
    entry.resolve((message as { result: Result }).result);
    return true;
  }

  private close(): void {
    this.closed = true;
    for (const id of [...this.pending.keys()]) {
      this.settle(id)?.reject(new McpError(ErrorCode.ConnectionClosed, 'Connection closed'));
    }
  }
}
