// `portcullis approvals list|approve|deny`: deciding held calls from a shell, for servers without a browser; the same store, queue and audit records as the UI.
import { existsSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import {
  type Approval,
  ApprovalConflictError,
  ApprovalInClientError,
  ApprovalNeedsAccountError,
  ApprovalNotFoundError,
  ApprovalQueue,
  ApprovalStore,
  type ReviewerRef,
} from '../approvals/index.js';
import { AuditLog } from '../audit/index.js';
import { redact } from '../secrets/index.js';
import { EXIT_OK, type Io, UsageError } from './io.js';

/** The store refused this approve from the command line (a two-person or client-kept approval): exit 1, not a usage error. */
export class ApprovalRefusedError extends Error {
  readonly code = 'E_APPROVAL_REFUSED';
}

function osUser(): string {
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}

interface ApprovalsOptions {
  dataDir: string;
}

function openStore(dataDir: string): ApprovalStore {
  const file = join(dataDir, 'approvals.db');
  // Opening would create an empty database: a mistyped --data-dir must say so instead.
  if (!existsSync(file)) throw new UsageError(`no approvals in ${dataDir} (no approvals.db there)`);
  return new ApprovalStore(file);
}

/** Secret-looking arguments are masked as the approval pages mask them before anyone reveals them. */
function shownArgs(approval: Approval, reveal: boolean): string {
  if (reveal) return approval.argsCanonical;
  const args = JSON.parse(approval.argsCanonical) as unknown;
  return JSON.stringify(redact(args, { mode: 'review', mask: () => '[redacted]' }).value);
}

function minutes(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  return s < 120 ? `${s}s` : `${Math.round(s / 60)}m`;
}

/** One approval as a block of lines a person reads before deciding. */
function describe(approval: Approval, now: number, reveal: boolean): string[] {
  const where = `${approval.server ?? '-'}/${approval.tool}`;
  const lines = [
    `${approval.id}  ${approval.status}  agent=${approval.agent ?? '-'}  ${where}  rule=${approval.rule ?? '-'}`,
    `  reason: ${approval.reason}`,
    `  args:   ${shownArgs(approval, reveal)}`,
  ];
  if (approval.status === 'pending')
    lines.push(
      `  asked ${minutes(now - approval.createdAt)} ago, expires in ${minutes(approval.expiresAt - now)}`,
    );
  // Two-person approvals: approving needs reviewer accounts (the UI or their tokens), not this command.
  if (approval.status === 'pending' && approval.approvers > 1) {
    const names = approval.votes.map((vote) => vote.name).join(', ');
    lines.push(
      `  needs ${approval.approvers} reviewer accounts: ${approval.votes.length} of ${approval.approvers} approvals${names ? ` (${names})` : ''}; approve in the UI, deny here`,
    );
  } else if (approval.decidedAt !== null)
    lines.push(
      `  ${approval.status} by ${approval.decidedBy ?? '-'} at ${new Date(approval.decidedAt).toISOString()}` +
        (approval.note ? `: ${approval.note}` : ''),
    );
  return lines;
}

/** The pending approvals (or, with `all`, the latest of every status), oldest pending first. */
export function approvalsList(
  opts: ApprovalsOptions & { all?: boolean | undefined; reveal?: boolean | undefined },
  io: Io,
): number {
  const store = openStore(opts.dataDir);
  try {
    const now = Date.now();
    const approvals = opts.all
      ? store.list({ limit: 50 })
      : store.list({ status: 'pending' }).filter((a) => a.expiresAt > now);
    if (approvals.length === 0) io.out(opts.all ? 'no approvals yet' : 'nothing is waiting for a person');
    for (const approval of approvals)
      for (const line of describe(approval, now, opts.reveal === true)) io.out(line);
    return EXIT_OK;
  } finally {
    store.close();
  }
}

/** Who decided, for the approval and the audit record: the account running the command. */
function person(by: string | undefined): string {
  if (by !== undefined && by.trim() !== '') return `${by.trim()} (command line)`;
  try {
    return `${userInfo().username} (command line)`;
  } catch {
    return 'command line';
  }
}

/**
 * A person's decision on one approval, through the same queue as the UI: the store changes, the
 * audit record is written (this process takes its own writer slot), and the waiting proxy sees the
 * decision at its next poll of the database.
 */
async function decide(
  opts: ApprovalsOptions & { id: string; by?: string | undefined; note?: string | undefined },
  io: Io,
  decision: 'approve' | 'deny',
): Promise<number> {
  const store = openStore(opts.dataDir);
  let audit: AuditLog | undefined;
  let queue: ApprovalQueue | undefined;
  try {
    audit = await AuditLog.open({ dataDir: opts.dataDir });
    queue = new ApprovalQueue({ store, audit });
    // The command line is no reviewer account: it can settle a one-person approval and deny any,
    // but the store refuses its approve of a two-person one (ApprovalNeedsAccountError).
    const by = person(opts.by);
    const reviewer: ReviewerRef = { id: `cli:${osUser()}`, name: by, kind: 'cli' };
    const approval = queue.decide(opts.id, { decision, by, reviewer, note: opts.note ?? null });
    io.out(
      `${approval.id} ${approval.status} by ${approval.decidedBy}: ${approval.server ?? '-'}/${approval.tool}`,
    );
    return EXIT_OK;
  } catch (error) {
    if (error instanceof ApprovalNotFoundError || error instanceof ApprovalConflictError)
      throw new UsageError(error.message);
    if (error instanceof ApprovalNeedsAccountError) {
      throw new ApprovalRefusedError(
        `${error.message}. The command line has no reviewer account: approve it in the UI, or with a ` +
          `reviewer's token on POST /api/approvals/${opts.id}/approve. It can still be denied from here.`,
      );
    }
    if (error instanceof ApprovalInClientError) throw new ApprovalRefusedError(error.message);
    throw error;
  } finally {
    queue?.close();
    // The decision's audit record is on disk before the command says it is done.
    await audit?.close();
    store.close();
  }
}

export const approvalsApprove = (opts: Parameters<typeof decide>[0], io: Io) => decide(opts, io, 'approve');
export const approvalsDeny = (opts: Parameters<typeof decide>[0], io: Io) => decide(opts, io, 'deny');
