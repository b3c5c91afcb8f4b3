// `portcullis audit verify` and `portcullis audit tail`: check every writer's chain, read recent records.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { AuditPathError, type AuditRecord, auditTarget, tailAudit, verifyAudit } from '../audit/index.js';
import { EXIT_CHECK_FAILED, EXIT_OK, type Io, UsageError } from './io.js';

/**
 * Verifies `path` (a log file, an audit directory with every writer's chain, or a data directory
 * holding `audit/`; default <dataDir>/audit): 0 intact, 1 broken. A path that is no audit log at
 * all is a usage error (2), never reported as tampering.
 */
export async function auditVerify(
  opts: { path?: string | undefined; dataDir: string },
  io: Io,
): Promise<number> {
  const target = opts.path === undefined ? join(opts.dataDir, 'audit') : verifyTarget(opts.path);
  if (!existsSync(target)) throw new UsageError(`no audit log at ${target}`);
  const result = await verifyAudit(target);
  if (!result.ok) {
    io.err(result.message);
    return EXIT_CHECK_FAILED;
  }
  const recovered = result.recoveries > 0 ? `, ${result.recoveries} torn write(s) recovered` : '';
  const heads = result.perChain.filter((chain) => chain.lastSeq !== null);
  const last =
    result.chains === 1
      ? heads.map((chain) => `, last seq ${chain.lastSeq}`).join('')
      : heads.length === 0
        ? ''
        : `, last seq ${heads.map((chain) => `${chain.lastSeq} (${chainName(chain.chain)})`).join(', ')}`;
  io.out(
    `audit log intact: ${result.records} records in ${result.files} file(s), ${result.chains} chain(s), ` +
      `${result.checkpoints} checkpoint(s)${last}${recovered}`,
  );
  return EXIT_OK;
}

/** What `path` names for verify (see auditTarget); a path that is no audit log is a usage error. */
function verifyTarget(path: string): string {
  try {
    return auditTarget(path);
  } catch (error) {
    if (error instanceof AuditPathError) throw new UsageError(error.message);
    throw error;
  }
}

function chainName(slot: number): string {
  return slot === 1 ? 'main' : `writer-${slot}`;
}

/**
 * Prints the last `n` records of every chain merged by time, then (with follow) new ones as any
 * writer adds them, including a writer that starts later, until `signal` aborts.
 */
export async function auditTail(
  opts: { dataDir: string; n: number; follow: boolean; signal?: AbortSignal | undefined },
  io: Io,
): Promise<number> {
  if (!Number.isInteger(opts.n) || opts.n < 0) throw new UsageError('-n must be a whole number');
  const root = join(opts.dataDir, 'audit');
  if (!existsSync(root)) throw new UsageError(`no audit log at ${root}`);
  for await (const batch of tailAudit(root, opts)) {
    for (const { record, chain } of batch) io.out(formatRecord(record, chain));
  }
  return EXIT_OK;
}

/** One record as a readable line: time, seq, event, agent, server/tool, decision, rule, reason, extras. */
export function formatRecord(record: AuditRecord, chain = 1): string {
  const parts = [
    record.ts,
    // seq counts per chain: records of writer slot N are marked wN.
    chain === 1 ? `#${record.seq}` : `w${chain}#${record.seq}`,
    record.event,
    `agent=${record.agent ?? '-'}`,
    `${record.server ?? '-'}/${record.tool ?? '-'}`,
    record.decision ?? '-',
    `rule=${record.rule ?? '-'}`,
  ];
  if (record.reason !== undefined) parts.push(JSON.stringify(record.reason));
  for (const key of EXTRA_KEYS) {
    const value = record[key];
    if (value === undefined || value === null) continue;
    parts.push(`${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`);
  }
  return parts.join('  ');
}

/** Event-specific fields worth a glance (see the *AuditEvent types). */
const EXTRA_KEYS = [
  'action',
  'approval_id',
  'status',
  'decided_by',
  'by',
  'note',
  'path',
  'outcome',
  'latency_ms',
  'error',
  'old_sha256',
  'new_sha256',
  'errors',
  'pid',
  'exit_code',
  'signal',
  'problem',
  'correlation_id',
  'method',
  'resource',
  'prompt',
] as const;
