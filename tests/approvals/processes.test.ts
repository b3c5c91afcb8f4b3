// Several OS processes on one real SQLite file: decisions race, proxies restart after SIGKILL.
import { type ChildProcess, fork } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ApprovalQueue, ApprovalStore } from '../../src/approvals/index.js';
import { builtFile } from '../helpers/built.js';
import { tempDir } from '../helpers/temp.js';
import { raceCall, restartCall } from './fixtures/calls.js';
import { idOf } from './helpers.js';

let tmp: ReturnType<typeof tempDir>;
const children: ChildProcess[] = [];

function spawnFixture(name: string, args: string[]): ChildProcess {
  const child = fork(builtFile(`tests/approvals/fixtures/${name}`), args, {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  children.push(child);
  return child;
}

function nextMessage<T extends { type: string }>(
  child: ChildProcess,
  type: string,
  timeoutMs = 20_000,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no '${type}' message from child`)), timeoutMs);
    const onMessage = (message: T): void => {
      if (message.type !== type) return;
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
      resolve(message);
    };
    const onExit = (code: number | null): void => {
      clearTimeout(timer);
      reject(new Error(`child exited (${code}) before '${type}'`));
    };
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

beforeEach(() => {
  tmp = tempDir();
});

afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  tmp.cleanup();
});

describe('several processes sharing one approvals database', () => {
  it('settles racing approve/deny requests with one decision each and runs each approval at most once', async () => {
    const file = join(tmp.dir, 'approvals.db');
    const PROCESSES = 6;
    const APPROVALS = 40;
    const store = new ApprovalStore(file);
    const queue = new ApprovalQueue({
      store,
      settings: () => ({
        timeoutMs: 600_000,
        maxHoldMs: 0,
        retryWindowMs: 600_000,
        maxPendingPerAgent: 1000,
        approveIn: 'ui',
        grantMaxMs: 86_400_000,
      }),
    });
    const calls: { id: string; n: number }[] = [];
    for (let n = 0; n < APPROVALS; n++) {
      const outcome = await queue.review(raceCall(n));
      calls.push({ id: idOf(outcome), n });
    }
    const workers = Array.from({ length: PROCESSES }, () => spawnFixture('race-worker.ts', [file]));
    await Promise.all(workers.map((w) => nextMessage(w, 'ready')));

    // Round 1: every process tries to decide every approval, half approving and half denying.
    const decided = workers.map((w) =>
      nextMessage<{ type: string; won: number; conflicts: number }>(w, 'decided'),
    );
    // Each process starts at a different point of the list so that every approval is contested.
    const ids = calls.map((c) => c.id);
    const startAt = Date.now() + 300;
    workers.forEach((w, i) => {
      const offset = Math.floor((i * APPROVALS) / PROCESSES);
      const order = [...ids.slice(offset), ...ids.slice(0, offset)];
      w.send({ type: 'decide', ids: order, verb: i % 2 === 0 ? 'approve' : 'deny', startAt });
    });
    const decisions = await Promise.all(decided);
    const won = decisions.reduce((sum, d) => sum + d.won, 0);
    const winners = decisions.filter((d) => d.won > 0).length;
    const conflicts = decisions.reduce((sum, d) => sum + d.conflicts, 0);
    expect(won).toBe(APPROVALS);
    expect(conflicts).toBe(APPROVALS * (PROCESSES - 1));

    // Round 2: every process retries every call at once; each approval may run only once.
    const claimed = workers.map((w) =>
      nextMessage<{ type: string; executed: string[]; told: string[] }>(w, 'claimed'),
    );
    const claimAt = Date.now() + 300;
    for (const w of workers) w.send({ type: 'claim', calls, startAt: claimAt });
    const claims = await Promise.all(claimed);
    const executions = claims.flatMap((c) => c.executed);
    const approved = calls.filter((c) => store.get(c.id)?.status === 'approved').map((c) => c.id);
    const denied = calls.filter((c) => store.get(c.id)?.status === 'denied').map((c) => c.id);
    expect(approved.length + denied.length).toBe(APPROVALS);
    expect(new Set(executions).size).toBe(executions.length);
    expect(executions.sort()).toEqual([...approved].sort());
    expect(claims.flatMap((c) => c.told).sort()).toEqual([...denied].sort());

    // Numbers for the lead's note.
    process.stderr.write(
      `[race] ${PROCESSES} processes, ${APPROVALS} approvals: ${PROCESSES * APPROVALS} decide requests raced, ` +
        `${won} decisions made (${approved.length} approved, ${denied.length} denied, by ${winners} processes), ` +
        `${conflicts} refused as 409; ` +
        `${PROCESSES * APPROVALS} retries raced, ${executions.length} executions\n`,
    );
    for (const w of workers) w.send({ type: 'exit' });
    queue.close();
    store.close();
  }, 60_000);

  it('holds the pending cap of one agent exactly when processes flood the same database at once', async () => {
    const file = join(tmp.dir, 'approvals.db');
    const PROCESSES = 4;
    const CALLS = 15;
    const CAP = 10;
    const workers = Array.from({ length: PROCESSES }, () => spawnFixture('flood-worker.ts', [file]));
    await Promise.all(workers.map((w) => nextMessage(w, 'ready')));
    const flooded = workers.map((w) =>
      nextMessage<{ type: string; queued: number; refused: number }>(w, 'flooded'),
    );
    const startAt = Date.now() + 300;
    workers.forEach((w, worker) => {
      w.send({ type: 'flood', worker, calls: CALLS, cap: CAP, startAt });
    });
    const results = await Promise.all(flooded);
    const queued = results.reduce((sum, r) => sum + r.queued, 0);
    const refused = results.reduce((sum, r) => sum + r.refused, 0);
    expect(queued).toBe(CAP);
    expect(refused).toBe(PROCESSES * CALLS - CAP);
    const store = new ApprovalStore(file);
    expect(store.countPending()).toBe(CAP);
    // Every refusal of every process counted once in the shared flood counter.
    expect(store.pendingByAgent(Date.now()).agents).toMatchObject([
      { agent: 'flooder', pending: CAP, refused: PROCESSES * CALLS - CAP },
    ]);
    store.close();
    process.stderr.write(
      `[cap race] ${PROCESSES} processes x ${CALLS} calls of one agent, cap ${CAP}: ` +
        `${queued} queued by ${results.filter((r) => r.queued > 0).length} processes, ${refused} refused\n`,
    );
    for (const w of workers) w.send({ type: 'exit' });
  }, 60_000);

  it('runs an approval held open by callers in two processes once: one runs, the other is told it was used', async () => {
    const file = join(tmp.dir, 'approvals.db');
    const first = spawnFixture('holder.ts', [file, '1']);
    const { ids } = await nextMessage<{ type: string; ids: string[] }>(first, 'held');
    // The same call from another process joins the pending approval instead of making a second one.
    const second = spawnFixture('holder.ts', [file, '1']);
    expect((await nextMessage<{ type: string; ids: string[] }>(second, 'held')).ids).toEqual(ids);
    const outcomes = [first, second].map((child) =>
      nextMessage<{ type: string; status: string }>(child, 'outcome'),
    );
    const store = new ApprovalStore(file);
    const queue = new ApprovalQueue({ store });
    queue.decide(ids[0] as string, { decision: 'approve', by: 'alice' });
    expect((await Promise.all(outcomes)).map((o) => o.status).sort()).toEqual(['approved', 'consumed']);
    queue.close();
    store.close();
  }, 60_000);

  it('keeps pending approvals across SIGKILL; after restart they are decided or expire, none runs twice', async () => {
    const file = join(tmp.dir, 'approvals.db');
    const holder = spawnFixture('holder.ts', [file, '3']);
    const { ids } = await nextMessage<{ type: string; ids: string[] }>(holder, 'held');
    expect(ids).toHaveLength(3);
    const exited = new Promise((resolve) => holder.once('exit', resolve));
    holder.kill('SIGKILL');
    await exited;

    let clockOffset = 0;
    const store = new ApprovalStore(file);
    const queue = new ApprovalQueue({
      store,
      settings: () => ({
        timeoutMs: 600_000,
        maxHoldMs: 0,
        retryWindowMs: 3_600_000,
        maxPendingPerAgent: 1000,
        approveIn: 'ui',
        grantMaxMs: 86_400_000,
      }),
      now: () => Date.now() + clockOffset,
    });
    const pending = queue.list({ status: 'pending' });
    expect(pending.map((a) => a.id).sort()).toEqual([...ids].sort());
    const byN = new Map(pending.map((a) => [(JSON.parse(a.argsCanonical) as { n: number }).n, a.id]));
    const retry = (n: number) => queue.review(restartCall(n, false));

    queue.decide(byN.get(0) as string, { decision: 'approve', by: 'alice' });
    queue.decide(byN.get(1) as string, { decision: 'deny', by: 'alice' });
    clockOffset = 600_001; // the third one was never decided: past its timeout it expires
    expect(queue.list({ status: 'expired' }).map((a) => a.id)).toEqual([byN.get(2)]);

    expect(await retry(0)).toMatchObject({ kind: 'run', approvalId: byN.get(0) });
    expect(await retry(1)).toMatchObject({ kind: 'deny', cause: 'denied', approvalId: byN.get(1) });
    expect(await retry(2)).toMatchObject({ kind: 'deny', cause: 'expired', approvalId: byN.get(2) });
    // Replays: the approved call does not run again.
    const replay = await retry(0);
    expect(replay.kind).toBe('respond');
    expect(idOf(replay)).not.toBe(byN.get(0));
    queue.close();
    store.close();
  }, 60_000);
});
