// Approval queue costs on a real SQLite file: admitting, deciding, claiming, and how fast a held call wakes.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApprovalQueue, ApprovalStore } from '../src/approvals/index.js';
import type { ReviewVerdict } from '../src/proxy/index.js';

// One agent queues all N calls here: the pending cap must not be what is measured.
const SETTINGS = {
  timeoutMs: 600_000,
  maxHoldMs: 600_000,
  retryWindowMs: 600_000,
  maxPendingPerAgent: 100_000,
  approveIn: 'ui' as const,
  grantMaxMs: 86_400_000,
};

function approvalId(verdict: ReviewVerdict): string {
  if (verdict.approvalId === undefined) throw new Error(JSON.stringify(verdict));
  return verdict.approvalId;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

function fmt(ms: number): string {
  return `${ms.toFixed(3)} ms`;
}

export async function run(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-bench-'));
  const file = join(dir, 'approvals.db');
  const store = new ApprovalStore(file);
  const queue = new ApprovalQueue({ store, settings: () => SETTINGS });
  try {
    const N = 2000;
    const call = (n: number) => ({
      agent: 'bench',
      server: 'payments',
      tool: 'refunds.refund',
      args: { n, amount_cents: 20_000, customer: { id: `c_${n}` } },
      rule: 'fallback',
      reason: 'bench',
      canWait: false,
    });
    const ids: string[] = [];
    let t = performance.now();
    for (let n = 0; n < N; n++) ids.push(approvalId(await queue.review(call(n))));
    const admitMs = (performance.now() - t) / N;

    t = performance.now();
    ids.forEach((id, i) => {
      queue.decide(id, { decision: i % 2 === 0 ? 'approve' : 'deny', by: 'bench' });
    });
    const decideMs = (performance.now() - t) / N;

    t = performance.now();
    for (let n = 0; n < N; n++) await queue.review(call(n));
    const claimMs = (performance.now() - t) / N;

    console.log(`approvals.db with ${N} approvals (WAL, synchronous=NORMAL)`);
    console.log(`  admit a review call (new pending):      ${fmt(admitMs)} per call`);
    console.log(`  decide (conditional UPDATE):            ${fmt(decideMs)} per decision`);
    console.log(`  retry after decision (atomic claim):    ${fmt(claimMs)} per call`);

    // Wake-up latency: a decision made through another connection (another proxy process) is seen by
    // polling PRAGMA data_version; one made in this process wakes the held call directly.
    for (const [label, pollMs, remote] of [
      ['same process', 250, false],
      ['other connection, poll 250 ms, decided just after a poll', 250, true],
      ['other connection, poll 100 ms, decided just after a poll', 100, true],
    ] as const) {
      const holderStore = new ApprovalStore(file);
      const holder = new ApprovalQueue({
        store: holderStore,
        settings: () => SETTINGS,
        pollIntervalMs: pollMs,
      });
      const decider = remote ? queue : holder;
      const samples: number[] = [];
      for (let i = 0; i < 20; i++) {
        const held = holder.review({ ...call(N + i + (remote ? 1000 : 0) + pollMs), canWait: true });
        const id = holderStore.list({ status: 'pending' }).at(-1)?.id as string;
        const start = performance.now();
        decider.decide(id, { decision: 'approve', by: 'bench' });
        await held;
        samples.push(performance.now() - start);
      }
      samples.sort((a, b) => a - b);
      console.log(
        `  held call wakes after a decision (${label}): p50 ${fmt(percentile(samples, 50))}, p95 ${fmt(percentile(samples, 95))}`,
      );
      holder.close();
      holderStore.close();
    }
  } finally {
    queue.close();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
