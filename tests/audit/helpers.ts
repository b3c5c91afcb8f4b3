// Shared fixtures for the audit tests: temp data dirs, realistic events, log file access.
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AuditEvent } from '../../src/audit/types.js';

export async function tempDataDir(): Promise<{
  dataDir: string;
  auditDir: string;
  cleanup: () => Promise<void>;
}> {
  const dataDir = await mkdtemp(join(tmpdir(), 'portcullis-audit-test-'));
  return {
    dataDir,
    auditDir: join(dataDir, 'audit'),
    cleanup: () => rm(dataDir, { recursive: true, force: true }),
  };
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

/** Polls a condition until it holds or the deadline passes (waiting on state, not on time). */
export async function waitFor(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
