// Shared fixtures for the audit tests: temp data dirs, realistic events, log file access.
import { type ChildProcess, fork } from 'node:child_process';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { AuditEvent } from '../../src/audit/types.js';
import { builtFile } from '../helpers/built.js';
import { tempDir } from '../helpers/temp.js';
import type { WriterCommand, WriterMessage } from './fixtures/writer.js';

export async function tempDataDir(): Promise<{
  dataDir: string;
  auditDir: string;
  cleanup: () => Promise<void>;
}> {
  const { dir: dataDir, cleanup } = tempDir('portcullis-audit-test-');
  return { dataDir, auditDir: join(dataDir, 'audit'), cleanup: async () => cleanup() };
}

export function decisionEvent(i: number, extra: Partial<AuditEvent> = {}): AuditEvent {
  return {
    event: 'decision',
    correlation_id: `corr-${i}`,
    agent: i % 2 === 0 ? 'support-bot' : 'billing-bot',
    server: 'payments',
    tool: i % 3 === 0 ? 'users.export' : 'refunds.refund',
    decision: i % 3 === 0 ? 'deny' : 'allow',
    rule: i % 3 === 0 ? 'export-forbidden' : 'small-refunds',
    reason: i % 3 === 0 ? 'User export forbidden' : 'Auto-approved refunds under $150',
    policy_sha256: 'a'.repeat(64),
    args: { op: 'refund', amount_cents: 1000 + i, order: { id: `ord_${i}`, note: 'parcel arrived damaged' } },
    ...extra,
  };
}

/** Every log file's lines, in chain order, with where each record sits. */
export async function logLines(auditDir: string): Promise<Array<{ file: string; lines: string[] }>> {
  const names = (await readdir(auditDir)).filter((name) => /^audit-\d+\.jsonl$/.test(name)).sort();
  const files = [];
  for (const name of names) {
    const text = await readFile(join(auditDir, name), 'utf8');
    files.push({ file: join(auditDir, name), lines: text.split('\n').filter((line) => line !== '') });
  }
  return files;
}

/** Finds the file and line index of a seq. */
export async function locate(
  auditDir: string,
  seq: number,
): Promise<{ file: string; lines: string[]; index: number }> {
  for (const { file, lines } of await logLines(auditDir)) {
    const index = lines.findIndex((line) => (JSON.parse(line) as { seq: number }).seq === seq);
    if (index >= 0) return { file, lines, index };
  }
  throw new Error(`seq ${seq} not found`);
}

export async function writeLines(file: string, lines: string[]): Promise<void> {
  await writeFile(file, lines.map((line) => `${line}\n`).join(''));
}

/** A writer child process (fixtures/writer.ts) on `dataDir`, and how to talk to it. */
export interface WriterChild {
  child: ChildProcess;
  /** Resolves with the next message of this type; rejects when the child exits first or after 20 s. */
  next<T extends WriterMessage['type']>(type: T): Promise<Extract<WriterMessage, { type: T }>>;
  send(command: WriterCommand): void;
  /** Resolves once the process is gone (its pid is then free). */
  exited: Promise<void>;
}

export function spawnWriter(dataDir: string): WriterChild {
  const child = fork(builtFile('tests/audit/fixtures/writer.ts'), [dataDir], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const queued: WriterMessage[] = [];
  type Waiter = { type: string; resolve: (m: WriterMessage) => void; reject: (e: Error) => void };
  const waiting: Waiter[] = [];
  child.on('message', (message: WriterMessage) => {
    if (message.type === 'error') {
      for (const waiter of waiting.splice(0)) waiter.reject(new Error(message.message));
      queued.push(message);
      return;
    }
    const at = waiting.findIndex((w) => w.type === message.type);
    if (at >= 0) waiting.splice(at, 1)[0]?.resolve(message);
    else queued.push(message);
  });
  return {
    child,
    exited,
    send: (command) => child.send(command),
    next<T extends WriterMessage['type']>(type: T) {
      const at = queued.findIndex((m) => m.type === type || m.type === 'error');
      if (at >= 0) {
        const message = queued.splice(at, 1)[0] as WriterMessage;
        if (message.type === 'error') return Promise.reject(new Error(message.message));
        return Promise.resolve(message as unknown as Extract<WriterMessage, { type: T }>);
      }
      return new Promise<Extract<WriterMessage, { type: T }>>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no '${type}' message from the writer`)), 20_000);
        const done = () => clearTimeout(timer);
        waiting.push({
          type,
          resolve: (message) => {
            done();
            resolve(message as unknown as Extract<WriterMessage, { type: T }>);
          },
          reject: (error) => {
            done();
            reject(error);
          },
        });
        void exited.then(() => {
          done();
          reject(new Error(`the writer exited before '${type}'`));
        });
      });
    },
  };
}

/** An escaped lone surrogate: `\udXXX` (after an even number of backslashes) not part of an escaped pair. */
const ESCAPED_LONE_SURROGATE =
  /(?<!\\)(?:\\\\)*\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F][0-9a-fA-F]{2})|(?<!\\)(?:\\\\)*(?<!\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F][0-9a-fA-F]{2}/;

/**
 * Parses audit bytes as strictly as jq and I-JSON: UTF-8 that a fatal decoder accepts, every line
 * JSON, no line holding an escaped lone surrogate, every string in it well-formed. Throws naming the line.
 */
export function strictJsonLines(bytes: Buffer): Array<Record<string, unknown>> {
  const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines.map((line, i) => {
    if (ESCAPED_LONE_SURROGATE.test(line)) throw new Error(`line ${i + 1} escapes a lone surrogate: ${line}`);
    const record = JSON.parse(line) as Record<string, unknown>;
    if (!allWellFormed(record)) throw new Error(`line ${i + 1} holds a lone surrogate`);
    return record;
  });
}

function allWellFormed(value: unknown): boolean {
  if (typeof value === 'string')
    return !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(value);
  if (typeof value !== 'object' || value === null) return true;
  return Object.entries(value).every(([key, item]) => allWellFormed(key) && allWellFormed(item));
}

/** Every byte of every file under the audit directory (all chains). */
export async function auditBytes(auditDir: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for (const { file } of (await logLines(auditDir)).map((f) => ({ file: f.file }))) {
    chunks.push(await readFile(file));
  }
  return Buffer.concat(chunks);
}
