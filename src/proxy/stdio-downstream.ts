// The stdio transport towards the client: one JSON-RPC message per line, and an answer for every line that is not one.

import type { Readable, Writable } from 'node:stream';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { writeBatched } from './batched-write.js';
import { asJsonRpcMessage } from './jsonrpc-message.js';
import { LineReader, type OversizedLine } from './line-reader.js';
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
  private readonly reader: LineReader;
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
    this.reader = new LineReader({
      maxLineBytes,
      onLine: (line) => {
        if (line.trim() !== '') this.deliver(line);
      },
      onOversized: (line) => this.oversized(line),
    });
  }

  private readonly onData = (chunk: Buffer): void => {
    this.reader.push(chunk);
  };

  private readonly onEnd = (): void => {
    void this.close();
  };

  private readonly onStreamError = (error: Error): void => {
    this.onerror?.(error);
  };

  /** A request too large to keep is answered under its own id; a notification or response is dropped. */
  private oversized(line: OversizedLine): void {
    this.log(`stdio: a ${line.kind} line of ${line.bytes} bytes (over ${this.maxLineBytes}) was refused`);
    if (line.kind === 'notification' || line.kind === 'response') return;
    this.write(
      errorLine(
        line.id,
        INVALID_REQUEST,
        `Invalid Request: a message is limited to ${this.maxLineBytes} bytes`,
      ),
    );
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
    const message = asJsonRpcMessage(value);
    if (!message) {
      const id = typeof value === 'object' && value !== null ? (value as { id?: unknown }).id : undefined;
      // A broken response or notification has nobody waiting for an answer; a broken request does.
      const method = typeof value === 'object' && value !== null && 'method' in value;
      this.log('stdio: a line that is not a JSON-RPC message was refused');
      if (method || id === undefined)
        this.write(errorLine(id, INVALID_REQUEST, 'Invalid Request: not a JSON-RPC 2.0 message'));
      return;
    }
    this.onmessage?.(message);
  }

  private write(text: string): void {
    if (!this.closed) writeBatched(this.stdout, text);
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
      if (writeBatched(this.stdout, `${JSON.stringify(message)}\n`)) resolve();
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
    this.reader.reset();
    this.onclose?.();
  }
}
