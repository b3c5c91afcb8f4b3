// The stdio transport towards the client: one JSON-RPC message per line, and an answer for every line that is not one.

import type { Readable, Writable } from 'node:stream';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { type JSONRPCMessage, JSONRPCMessageSchema } from '@modelcontextprotocol/sdk/types.js';
import { INVALID_REQUEST } from './request-guard.js';

const PARSE_ERROR = -32700;
/** The most a client may send in one line; the HTTP endpoint allows the same per request body. */
export const DEFAULT_MAX_LINE_BYTES = 4 * 1024 * 1024;

function errorLine(id: unknown, code: number, message: string): string {
  const valid = typeof id === 'string' || typeof id === 'number';
  return `${JSON.stringify({ jsonrpc: '2.0', id: valid ? id : null, error: { code, message } })}\n`;
}

/**
 * The SDK's StdioServerTransport reports a line it cannot use only to `onerror`, so a client that
 * sent a batch, a line that is not JSON, or a message that is not JSON-RPC waited forever for an
 * answer. Here each such line gets the JSON-RPC error the spec names, and the session goes on.
 * Batches were removed from MCP in 2025-06-18: an array is an invalid request, answered once.
 */
export class StdioDownstream implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: <T extends JSONRPCMessage>(message: T) => void;
  private readonly stdin: Readable;
  private readonly stdout: Writable;
  private readonly maxLineBytes: number;
  private readonly log: (message: string) => void;
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** True while the rest of an over-long line is being thrown away, up to its newline. */
  private skipping = false;
  private closed = false;

  constructor(
    stdin: Readable,
    stdout: Writable,
    log: (message: string) => void,
    maxLineBytes = DEFAULT_MAX_LINE_BYTES,
  ) {
    this.stdin = stdin;
    this.stdout = stdout;
    this.log = log;
    this.maxLineBytes = maxLineBytes;
  }

  private readonly onData = (chunk: Buffer): void => {
    let start = 0;
    for (let nl = chunk.indexOf(10); nl !== -1; nl = chunk.indexOf(10, start)) {
      this.take(chunk.subarray(start, nl));
      this.endLine();
      start = nl + 1;
    }
    if (start < chunk.length) this.take(chunk.subarray(start));
  };

  private readonly onEnd = (): void => {
    void this.close();
  };

  private readonly onStreamError = (error: Error): void => {
    this.onerror?.(error);
  };

  private take(part: Buffer): void {
    if (this.skipping || part.length === 0) return;
    if (this.buffered + part.length > this.maxLineBytes) {
      // Memory stays bounded: the line is answered as too large once its newline arrives.
      this.chunks = [];
      this.buffered = 0;
      this.skipping = true;
      return;
    }
    this.chunks.push(part);
    this.buffered += part.length;
  }

  private endLine(): void {
    if (this.skipping) {
      this.skipping = false;
      this.log(`stdio: a line over ${this.maxLineBytes} bytes was refused`);
      this.write(
        errorLine(
          null,
          INVALID_REQUEST,
          `Invalid Request: a message is limited to ${this.maxLineBytes} bytes`,
        ),
      );
      return;
    }
    const line = Buffer.concat(this.chunks, this.buffered).toString('utf8').replace(/\r$/, '');
    this.chunks = [];
    this.buffered = 0;
    if (line.trim() === '') return;
    this.deliver(line);
  }

  private deliver(line: string): void {
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      this.log('stdio: a line that is not JSON was answered with a parse error');
      this.write(errorLine(null, PARSE_ERROR, 'Parse error'));
      return;
    }
    if (Array.isArray(value)) {
      this.log('stdio: a JSON-RPC batch was refused');
      this.write(errorLine(null, INVALID_REQUEST, 'Invalid Request: batches are not supported'));
      return;
    }
    const parsed = JSONRPCMessageSchema.safeParse(value);
    if (!parsed.success) {
      const id = typeof value === 'object' && value !== null ? (value as { id?: unknown }).id : undefined;
      // A broken response or notification has nobody waiting for an answer; a broken request does.
      const method = typeof value === 'object' && value !== null && 'method' in value;
      this.log('stdio: a line that is not a JSON-RPC message was refused');
      if (method || id === undefined)
        this.write(errorLine(id, INVALID_REQUEST, 'Invalid Request: not a JSON-RPC 2.0 message'));
      return;
    }
    this.onmessage?.(parsed.data);
  }

  private write(text: string): void {
    if (!this.closed) this.stdout.write(text);
  }

  async start(): Promise<void> {
    this.stdin.on('data', this.onData);
    this.stdin.on('end', this.onEnd);
    this.stdin.on('error', this.onStreamError);
  }

  send(message: JSONRPCMessage): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.closed) {
        reject(new Error('stdio transport is closed'));
        return;
      }
      if (this.stdout.write(`${JSON.stringify(message)}\n`)) resolve();
      else this.stdout.once('drain', resolve);
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stdin.off('data', this.onData);
    this.stdin.off('end', this.onEnd);
    this.stdin.off('error', this.onStreamError);
    if (this.stdin.listenerCount('data') === 0) this.stdin.pause();
    this.chunks = [];
    this.onclose?.();
  }
}
