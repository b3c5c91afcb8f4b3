// The server side of one Streamable HTTP session on Node's own request and response objects.

import { randomUUID } from 'node:crypto';
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { MAX_BATCH_SIZE } from '@modelcontextprotocol/sdk/server/requestBody.js';
import { DEFAULT_SSE_KEEP_ALIVE_MS } from '@modelcontextprotocol/sdk/server/sseKeepAlive.js';
import { isJsonContentType } from '@modelcontextprotocol/sdk/shared/mediaType.js';
import type { Transport, TransportSendOptions } from '@modelcontextprotocol/sdk/shared/transport.js';
import {
  DEFAULT_NEGOTIATED_PROTOCOL_VERSION,
  type JSONRPCMessage,
  type MessageExtraInfo,
  type RequestId,
  SUPPORTED_PROTOCOL_VERSIONS,
} from '@modelcontextprotocol/sdk/types.js';
import type { BoundedEventStore } from './event-store.js';
import { asJsonRpcMessage } from './jsonrpc-message.js';
import { isRequest, isResponse } from './request-guard.js';

/** The first protocol version whose clients resume streams (they handle the empty priming event). */
export const RESUMABLE_PROTOCOL = '2025-11-25';
const STANDALONE = '_GET_stream';

const SSE_HEADERS = {
  'content-type': 'text/event-stream',
  'cache-control': 'no-cache, no-transform',
  connection: 'keep-alive',
  'x-accel-buffering': 'no',
} as const;

export interface NodeHttpTransportOptions {
  /** The id a new session gets when its initialize request arrives. */
  sessionId(): string;
  /** Called (synchronously) once the session has its id, before the initialize request is handled. */
  onSessionInitialized?(sessionId: string): void;
  /** The session's SSE events, for resumption with Last-Event-ID; none: streams are not resumable. */
  events?: BoundedEventStore | undefined;
  /** The `retry:` hint sent with the priming event of a resumable stream. */
  retryMs?: number | undefined;
  /** How often an open stream gets a keep-alive comment. */
  keepAliveMs?: number | undefined;
  /**
   * How long the answer to a POST of one request may take to be sent as plain JSON; 0: always a
   * stream. Past it, or as soon as anything else is sent for the request, the stream opens.
   */
  jsonWindowMs?: number | undefined;
}

/** How long a lone request's answer may take to go back as JSON rather than on an SSE stream. */
export const JSON_WINDOW_MS = 100;

/** What a POST got: its status, and the stream its requests' answers go to (undefined: none). */
export interface PostOutcome {
  status: number;
  streamId?: string | undefined;
}

interface Stream {
  res: ServerResponse;
  /** Whether the stream's client takes a priming event (it resumes streams). */
  primed: boolean;
  /** While the answer may still go back as JSON: the timer that opens the stream instead. No headers are sent yet. */
  waiting?: NodeJS.Timeout | undefined;
}

/** A request header as one string (repeated ones joined), or undefined. */
export function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

/** A JSON body (already serialised) with an exact length, in one write with its headers. */
function sendJsonText(res: ServerResponse, status: number, text: string, headers: OutgoingHttpHeaders): void {
  res.writeHead(status, {
    ...headers,
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

/** A JSON body with an exact length, in one write with its headers. */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: OutgoingHttpHeaders = {},
): void {
  sendJsonText(res, status, JSON.stringify(body), headers);
}

/** A JSON-RPC error without an id, the shape the SDK's transport answers refused HTTP requests with. */
export function sendRpcError(
  res: ServerResponse,
  status: number,
  code: number,
  message: string,
  headers: OutgoingHttpHeaders = {},
): void {
  sendJson(res, status, { jsonrpc: '2.0', error: { code, message }, id: null }, headers);
}

function isInitialize(message: JSONRPCMessage): boolean {
  return 'method' in message && message.method === 'initialize';
}

/**
 * The SDK's web-standard Streamable HTTP transport, behaviour for behaviour (status codes,
 * messages, the stream a request's answers go to, priming events, resumption with
 * Last-Event-ID, one standalone GET stream), written against Node's response instead of a web
 * Request and a ReadableStream per POST with an adapter copying it into Node's response. A
 * stream's headers and priming event leave in one write, its last event and end in another; each
 * event is serialised once, for the wire and for the event store alike. The endpoint (http.ts) reads
 * the body, checks Host, key and session first; what it hands over is checked here as the SDK does.
 */
export class NodeHttpTransport implements Transport {
  sessionId?: string;
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: <T extends JSONRPCMessage>(message: T, extra?: MessageExtraInfo) => void;
  private readonly options: NodeHttpTransportOptions;
  private readonly streams = new Map<string, Stream>();
  /** The stream each open request's messages go to, and the requests of each stream. */
  private readonly streamOf = new Map<RequestId, string>();
  private readonly requestsOf = new Map<string, RequestId[]>();
  /** Requests of a batch answered while others of the same stream are not yet. */
  private readonly answered = new Set<RequestId>();
  /** Streams whose client holds an event id, so a lost connection can be resumed. */
  private readonly resumable = new Set<string>();
  private keepAlive: NodeJS.Timeout | undefined;
  private started = false;
  private initialized = false;
  private closed = false;

  constructor(options: NodeHttpTransportOptions) {
    this.options = options;
  }

  async start(): Promise<void> {
    if (this.started) throw new Error('Transport already started');
    this.started = true;
  }

  /** A refusal: reported to onerror as the SDK's transport does, and answered as a JSON-RPC error. */
  private refuse(res: ServerResponse, status: number, code: number, message: string): PostOutcome {
    this.onerror?.(new Error(message));
    sendRpcError(res, status, code, message);
    return { status };
  }

  /** A POST whose body the endpoint has read and parsed. */
  handlePost(req: IncomingMessage, res: ServerResponse, body: unknown): PostOutcome {
    if (this.closed) return this.refuse(res, 404, -32001, 'Session not found');
    const accept = header(req, 'accept');
    if (!accept?.includes('application/json') || !accept.includes('text/event-stream')) {
      return this.refuse(
        res,
        406,
        -32000,
        'Not Acceptable: Client must accept both application/json and text/event-stream',
      );
    }
    if (!isJsonContentType(header(req, 'content-type') ?? null)) {
      return this.refuse(res, 415, -32000, 'Unsupported Media Type: Content-Type must be application/json');
    }
    if (Array.isArray(body) && body.length > MAX_BATCH_SIZE) {
      return this.refuse(
        res,
        400,
        -32600,
        `Invalid Request: Batch must not exceed ${MAX_BATCH_SIZE} messages`,
      );
    }
    const messages: JSONRPCMessage[] = [];
    for (const raw of Array.isArray(body) ? body : [body]) {
      const message = asJsonRpcMessage(raw);
      if (!message) return this.refuse(res, 400, -32700, 'Parse error: Invalid JSON-RPC message');
      messages.push(message);
    }
    const initialize = messages.find(isInitialize) as { params: { protocolVersion: string } } | undefined;
    if (initialize) {
      if (this.initialized && this.sessionId !== undefined) {
        return this.refuse(res, 400, -32600, 'Invalid Request: Server already initialized');
      }
      if (messages.length > 1) {
        return this.refuse(res, 400, -32600, 'Invalid Request: Only one initialization request is allowed');
      }
      this.sessionId = this.options.sessionId();
      this.initialized = true;
      this.options.onSessionInitialized?.(this.sessionId);
    } else {
      const refused = this.checkSession(req, res);
      if (refused) return refused;
    }
    const extra: MessageExtraInfo = { requestInfo: { headers: req.headers } };
    const requests = messages.filter(isRequest);
    if (requests.length === 0) {
      for (const message of messages) this.onmessage?.(message, extra);
      res.writeHead(202, { 'content-length': 0 });
      res.end();
      return { status: 202 };
    }
    const version = initialize
      ? initialize.params.protocolVersion
      : (header(req, 'mcp-protocol-version') ?? DEFAULT_NEGOTIATED_PROTOCOL_VERSION);
    const streamId = randomUUID();
    const primed = this.options.events !== undefined && version >= RESUMABLE_PROTOCOL;
    const stream: Stream = { res, primed };
    this.streams.set(streamId, stream);
    this.requestsOf.set(
      streamId,
      requests.map((request) => request.id),
    );
    for (const request of requests) this.streamOf.set(request.id, streamId);
    res.on('close', () => this.lost(streamId, stream));
    // One request (not a batch), answered soon and with nothing else to say: one JSON body, cheaper for both ends
    // than a stream. Anything slower (a held approval, a long tool) gets its stream, with the
    // priming event that lets the client resume it, within the window.
    const windowMs = this.options.jsonWindowMs ?? JSON_WINDOW_MS;
    if (!Array.isArray(body) && windowMs > 0) {
      stream.waiting = setTimeout(() => this.startStream(streamId, stream), windowMs);
      stream.waiting.unref();
    } else {
      this.startStream(streamId, stream);
    }
    try {
      for (const message of messages) this.onmessage?.(message, extra);
    } catch (error) {
      // Nothing will answer on this stream: release it and its requests.
      this.forget(streamId);
      this.end(streamId);
      throw error;
    }
    return { status: 200, streamId };
  }

  /** Whether the client of a stream holds an event id of it, so it can resume the stream. */
  holdsCursor(streamId: string): boolean {
    return this.resumable.has(streamId);
  }

  /** Sends a stream's headers and, to a client that resumes, its priming event: in one write. */
  private startStream(streamId: string, stream: Stream): void {
    clearTimeout(stream.waiting);
    stream.waiting = undefined;
    if (stream.res.writableEnded) return;
    this.openStream(stream.res);
    const events = this.options.events;
    if (events && stream.primed) {
      const id = events.store(streamId, '');
      const retry = this.options.retryMs === undefined ? '' : `retry: ${this.options.retryMs}\n`;
      stream.res.write(`id: ${id}\n${retry}data: \n\n`);
      this.resumable.add(streamId);
    } else {
      stream.res.flushHeaders();
    }
  }

  /** A GET: the standalone stream, or (with Last-Event-ID and an event store) a resumed one. */
  handleGet(req: IncomingMessage, res: ServerResponse): number {
    if (this.closed) return this.refuse(res, 404, -32001, 'Session not found').status;
    if (!header(req, 'accept')?.includes('text/event-stream')) {
      return this.refuse(res, 406, -32000, 'Not Acceptable: Client must accept text/event-stream').status;
    }
    const refused = this.checkSession(req, res);
    if (refused) return refused.status;
    const lastEventId = header(req, 'last-event-id');
    const events = this.options.events;
    if (events && lastEventId) return this.resume(events, lastEventId, res);
    if (this.streams.has(STANDALONE)) {
      return this.refuse(res, 409, -32000, 'Conflict: Only one SSE stream is allowed per session').status;
    }
    const stream: Stream = { res, primed: false };
    this.streams.set(STANDALONE, stream);
    res.on('close', () => this.lost(STANDALONE, stream));
    this.openStream(res);
    res.flushHeaders();
    return 200;
  }

  private resume(events: BoundedEventStore, lastEventId: string, res: ServerResponse): number {
    const streamId = events.streamOf(lastEventId);
    if (streamId === undefined) return this.refuse(res, 400, -32000, 'Invalid event ID format').status;
    if (this.streams.has(streamId)) {
      return this.refuse(res, 409, -32000, 'Conflict: Stream already has an active connection').status;
    }
    let later: ReturnType<BoundedEventStore['after']>;
    try {
      later = events.after(lastEventId);
    } catch (error) {
      this.onerror?.(error instanceof Error ? error : new Error(String(error)));
      return this.refuse(res, 500, -32000, 'Error replaying events').status;
    }
    // Storing an event and writing it happen in one step (send), so what was replayed here is
    // exactly what was stored before this point, and every later event is written fresh.
    const stream: Stream = { res, primed: true };
    this.openStream(res);
    res.write(
      later.events.map((event) => `event: message\nid: ${event.id}\ndata: ${event.data}\n\n`).join(''),
    );
    this.streams.set(streamId, stream);
    // The resume itself proves the client holds a Last-Event-ID cursor.
    this.resumable.add(streamId);
    res.on('close', () => this.lost(streamId, stream));
    // Answers that were all replayed end the resumed stream at once.
    const requests = this.requestsOf.get(streamId);
    if (requests === undefined && streamId !== STANDALONE) this.end(streamId);
    return 200;
  }

  /** A DELETE: the session ends. */
  handleDelete(req: IncomingMessage, res: ServerResponse): number {
    if (this.closed) return this.refuse(res, 404, -32001, 'Session not found').status;
    const refused = this.checkSession(req, res);
    if (refused) return refused.status;
    res.writeHead(200, { 'content-length': 0 });
    res.end();
    void this.close();
    return 200;
  }

  /** Any other method. */
  handleOther(res: ServerResponse): number {
    if (this.closed) return this.refuse(res, 404, -32001, 'Session not found').status;
    this.onerror?.(new Error('Method not allowed.'));
    sendRpcError(res, 405, -32000, 'Method not allowed.', { allow: 'GET, POST, DELETE' });
    return 405;
  }

  /** The checks every request after initialize passes: the session is open, is this one, and the version known. */
  private checkSession(req: IncomingMessage, res: ServerResponse): PostOutcome | undefined {
    if (!this.initialized) return this.refuse(res, 400, -32000, 'Bad Request: Server not initialized');
    const sessionId = header(req, 'mcp-session-id');
    if (!sessionId) return this.refuse(res, 400, -32000, 'Bad Request: Mcp-Session-Id header is required');
    if (sessionId !== this.sessionId) return this.refuse(res, 404, -32001, 'Session not found');
    const version = header(req, 'mcp-protocol-version');
    if (version !== undefined && !SUPPORTED_PROTOCOL_VERSIONS.includes(version)) {
      return this.refuse(
        res,
        400,
        -32000,
        `Bad Request: Unsupported protocol version: ${version} (supported versions: ${SUPPORTED_PROTOCOL_VERSIONS.join(', ')})`,
      );
    }
    return undefined;
  }

  private openStream(res: ServerResponse): void {
    const headers: OutgoingHttpHeaders = { ...SSE_HEADERS };
    if (this.sessionId !== undefined) headers['mcp-session-id'] = this.sessionId;
    res.writeHead(200, headers);
    this.armKeepAlive();
  }

  /** One timer per session writes a comment on every open stream, so idle proxies do not drop them. */
  private armKeepAlive(): void {
    if (this.keepAlive !== undefined || this.closed) return;
    const every = this.options.keepAliveMs ?? DEFAULT_SSE_KEEP_ALIVE_MS;
    if (!Number.isFinite(every) || every < 1) return;
    this.keepAlive = setInterval(() => {
      if (this.streams.size === 0) {
        clearInterval(this.keepAlive);
        this.keepAlive = undefined;
        return;
      }
      for (const { res, waiting } of this.streams.values()) {
        if (waiting === undefined && !res.writableEnded) res.write(': keepalive\n\n');
      }
    }, every);
    this.keepAlive.unref();
  }

  /**
   * The client's connection closed. The stream goes; its requests stay mapped when the client holds
   * an event id of it (a resume takes them up), else nothing can ever deliver their answers.
   */
  private lost(streamId: string, stream: Stream): void {
    if (this.streams.get(streamId) !== stream) return;
    clearTimeout(stream.waiting);
    this.streams.delete(streamId);
    if (!this.resumable.has(streamId)) this.forget(streamId);
  }

  /** Ends the stream's response (its last event already written) and drops it. */
  private end(streamId: string, last = ''): void {
    const stream = this.streams.get(streamId);
    if (!stream) return;
    if (stream.waiting !== undefined) this.startStream(streamId, stream);
    this.streams.delete(streamId);
    if (!stream.res.writableEnded) stream.res.end(last);
  }

  /** Drops the request mappings of a stream whose requests are all answered (or will never be). */
  private forget(streamId: string): void {
    for (const id of this.requestsOf.get(streamId) ?? []) {
      this.streamOf.delete(id);
      this.answered.delete(id);
    }
    this.requestsOf.delete(streamId);
    this.resumable.delete(streamId);
  }

  async send(message: JSONRPCMessage, options?: TransportSendOptions): Promise<void> {
    const response = isResponse(message);
    const requestId = response ? message.id : options?.relatedRequestId;
    const data = JSON.stringify(message);
    if (requestId === undefined) {
      if (response) {
        throw new Error(
          'Cannot send a response on a standalone SSE stream unless resuming a previous client request',
        );
      }
      // Stored even while the stream is disconnected, so a resume replays it.
      const eventId = this.options.events?.store(STANDALONE, data);
      this.streams.get(STANDALONE)?.res.write(event(data, eventId));
      return;
    }
    const streamId = this.streamOf.get(requestId);
    if (streamId === undefined) {
      throw new Error(`No connection established for request ID: ${String(requestId)}`);
    }
    const stream = this.streams.get(streamId);
    if (stream?.waiting !== undefined) {
      if (response) {
        // The lone request's answer, within the window: plain JSON, nothing stored (no client
        // could ask to have it replayed: it was handed no event id).
        clearTimeout(stream.waiting);
        this.streams.delete(streamId);
        this.forget(streamId);
        sendJsonText(
          stream.res,
          200,
          data,
          this.sessionId === undefined ? {} : { 'mcp-session-id': this.sessionId },
        );
        return;
      }
      this.startStream(streamId, stream);
    }
    const eventId = this.options.events?.store(streamId, data);
    if (!response) {
      if (stream) {
        stream.res.write(event(data, eventId));
        if (eventId !== undefined) this.resumable.add(streamId);
      }
      return;
    }
    this.answered.add(requestId);
    const requests = this.requestsOf.get(streamId) ?? [];
    const done = requests.every((id) => this.answered.has(id));
    if (!done) {
      stream?.res.write(event(data, eventId));
      return;
    }
    const resumable = this.resumable.has(streamId);
    this.forget(streamId);
    if (stream) {
      this.end(streamId, event(data, eventId));
      return;
    }
    // The connection is gone. After close() that is expected; with an event id the client holds,
    // the answer was stored above and a resume replays it; otherwise it cannot be delivered.
    if (this.closed || (eventId !== undefined && resumable)) return;
    throw new Error(`No connection established for request ID: ${String(requestId)}`);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.keepAlive);
    this.keepAlive = undefined;
    for (const streamId of [...this.streams.keys()]) this.end(streamId);
    this.streamOf.clear();
    this.requestsOf.clear();
    this.answered.clear();
    this.resumable.clear();
    this.onclose?.();
  }
}

function event(data: string, eventId: string | undefined): string {
  return eventId === undefined
    ? `event: message\ndata: ${data}\n\n`
    : `event: message\nid: ${eventId}\ndata: ${data}\n\n`;
}
