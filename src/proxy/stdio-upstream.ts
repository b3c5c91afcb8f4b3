// The stdio client transport towards an upstream child: the SDK's, except that a too-large message fails one call, not the connection.

import { type ChildProcess, spawn } from 'node:child_process';
import process from 'node:process';
import { PassThrough } from 'node:stream';
import { getDefaultEnvironment } from '@modelcontextprotocol/sdk/client/stdio.js';
import { serializeMessage } from '@modelcontextprotocol/sdk/shared/stdio.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { ErrorCode, type JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { writeBatched } from './batched-write.js';
import { ProxyError } from './errors.js';
import { asJsonRpcMessage, isRequestId } from './jsonrpc-message.js';
import { DEFAULT_MAX_LINE_BYTES, LineReader, type OversizedLine } from './line-reader.js';
import { isObject } from './params.js';

export interface StdioUpstreamParams {
  command: string;
  args?: string[] | undefined;
  /** Added to the SDK's default environment (HOME, PATH, SHELL, TERM, USER, LOGNAME). */
  env?: Record<string, string> | undefined;
  cwd?: string | undefined;
  /** Longest message line accepted from the child; longer ones are answered with an error. */
  maxLineBytes?: number | undefined;
}

/** A message line from a peer was longer than the proxy accepts; it was discarded. */
export class OversizedMessageError extends ProxyError {
  readonly line: OversizedLine;
  readonly limitBytes: number;
  constructor(message: string, line: OversizedLine, limitBytes: number) {
    super('E_MESSAGE_TOO_LARGE', message);
    this.line = line;
    this.limitBytes = limitBytes;
  }
}

/** JSON-RPC "Invalid Request": the answer to a request from the child that was too large to read. */
const INVALID_REQUEST = -32600;

/** How long close() waits for the child after closing its stdin, and again after SIGTERM (as the SDK does). */
const CLOSE_GRACE_MS = 2000;

/**
 * Spawns the child like the SDK's StdioClientTransport (same default environment, stderr piped
 * through a stream available before start, the same stdin-end / SIGTERM / SIGKILL close). Its
 * line reader replaces the SDK's ReadBuffer, which throws past 10 MiB — after which the SDK
 * transport closes and every call in flight on that upstream fails. Here a response over the
 * limit becomes a JSON-RPC error for that request id only; a request from the child over the
 * limit is answered with an error; anything else over the limit is reported and dropped.
 */
export class StdioUpstreamTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;
  private readonly params: StdioUpstreamParams;
  private readonly limit: number;
  private readonly reader: LineReader;
  private readonly stderrStream = new PassThrough();
  private child: ChildProcess | undefined;

  constructor(params: StdioUpstreamParams) {
    this.params = params;
    this.limit = params.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
    this.reader = new LineReader({
      maxLineBytes: this.limit,
      onLine: (line) => this.line(line),
      onOversized: (line) => this.oversized(line),
    });
  }

  /** The child's stderr, available before start so that nothing it writes early is lost. */
  get stderr(): PassThrough {
    return this.stderrStream;
  }

  get pid(): number | null {
    return this.child?.pid ?? null;
  }

  start(): Promise<void> {
    if (this.child) throw new Error('StdioUpstreamTransport already started');
    return new Promise((resolve, reject) => {
      const child = spawn(this.params.command, this.params.args ?? [], {
        env: { ...getDefaultEnvironment(), ...this.params.env },
        stdio: ['pipe', 'pipe', 'pipe'],
        shell: false,
        windowsHide: process.platform === 'win32',
        cwd: this.params.cwd,
      });
      this.child = child;
      child.on('error', (error) => {
        reject(error);
        this.onerror?.(error);
      });
      child.on('spawn', () => resolve());
      child.on('close', () => {
        if (this.child === child) this.child = undefined;
        this.onclose?.();
      });
      child.stdin?.on('error', (error) => this.onerror?.(error));
      child.stdout?.on('data', (chunk: Buffer) => this.reader.push(chunk));
      child.stdout?.on('error', (error) => this.onerror?.(error));
      child.stderr?.pipe(this.stderrStream);
    });
  }

  private line(line: string): void {
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      // A line that is not JSON (a stray print) is reported and skipped, as the SDK does.
      this.onerror?.(new Error(`upstream wrote a line that is not JSON: ${(error as Error).message}`));
      return;
    }
    const message = asJsonRpcMessage(value);
    if (message) {
      this.onmessage?.(message);
      return;
    }
    const id = brokenAnswerId(value);
    this.onerror?.(
      new Error(
        id === undefined
          ? 'upstream wrote a line that is not a JSON-RPC message; skipped'
          : `upstream answered request ${JSON.stringify(id)} with a message that is not a JSON-RPC response`,
      ),
    );
    // The request it answers would otherwise wait for its timeout (30 minutes): it fails now.
    if (id !== undefined) {
      this.onmessage?.({
        jsonrpc: '2.0',
        id,
        error: {
          code: ErrorCode.InternalError,
          message: 'the upstream answered with a malformed JSON-RPC response',
        },
      });
    }
  }

  private oversized(line: OversizedLine): void {
    const limit = formatBytes(this.limit);
    const size = `${line.bytes} bytes`;
    if (line.kind === 'response' && line.id !== undefined) {
      const text = `upstream result is larger than the proxy's limit of ${limit} (${size})`;
      this.onerror?.(
        new OversizedMessageError(`${text}; failed request ${JSON.stringify(line.id)}`, line, this.limit),
      );
      this.onmessage?.({
        jsonrpc: '2.0',
        id: line.id,
        error: {
          code: ErrorCode.InternalError,
          message: text,
          data: { limit_bytes: this.limit, bytes: line.bytes },
        },
      });
      return;
    }
    if (line.kind === 'request' && line.id !== undefined) {
      const text = `request is larger than the proxy's limit of ${limit} (${size})`;
      this.onerror?.(new OversizedMessageError(`upstream ${text}; answered with an error`, line, this.limit));
      this.send({
        jsonrpc: '2.0',
        id: line.id,
        error: { code: INVALID_REQUEST, message: text, data: { limit_bytes: this.limit, bytes: line.bytes } },
      }).catch((error: unknown) => this.onerror?.(error as Error));
      return;
    }
    const what = line.kind === 'notification' ? 'a notification' : 'a line without a request id';
    this.onerror?.(
      new OversizedMessageError(
        `dropped ${what} of ${size}, over the proxy's limit of ${limit}`,
        line,
        this.limit,
      ),
    );
  }

  async close(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (child) {
      const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
      const grace = () =>
        Promise.race([closed, new Promise((resolve) => setTimeout(resolve, CLOSE_GRACE_MS).unref())]);
      try {
        child.stdin?.end();
      } catch {
        // Already gone.
      }
      await grace();
      if (child.exitCode === null && child.signalCode === null) {
        try {
          child.kill('SIGTERM');
        } catch {
          // Already gone.
        }
        await grace();
      }
      if (child.exitCode === null && child.signalCode === null) {
        try {
          child.kill('SIGKILL');
        } catch {
          // Already gone.
        }
      }
    }
    this.reader.reset();
  }

  send(message: JSONRPCMessage): Promise<void> {
    return new Promise((resolve, reject) => {
      const stdin = this.child?.stdin;
      if (!stdin) {
        reject(new Error('Not connected'));
        return;
      }
      if (writeBatched(stdin, serializeMessage(message))) resolve();
      else stdin.once('drain', resolve);
    });
  }
}

/** The id of what looks like an answer (an id, no method) but is malformed; undefined for anything else. */
function brokenAnswerId(value: unknown): string | number | undefined {
  if (!isObject(value) || 'method' in value || !('id' in value)) return undefined;
  return isRequestId(value.id) ? value.id : undefined;
}

/** 10485760 -> "10 MiB"; sizes that are not whole MiB in bytes. */
function formatBytes(bytes: number): string {
  const mib = bytes / (1024 * 1024);
  return Number.isInteger(mib) ? `${mib} MiB` : `${bytes} bytes`;
}
