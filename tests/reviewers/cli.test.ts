// `portcullis reviewers ...` and a CLI approve of a two-person approval, as a person runs them: the built CLI, spawned.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ApprovalQueue, ApprovalStore } from '../../src/approvals/index.js';
import { builtFile } from '../helpers/built.js';
import { type TempDir, tempDir } from '../helpers/temp.js';

let tmp: TempDir;

beforeEach(() => {
  tmp = tempDir('portcullis-reviewers-cli-');
});

afterEach(() => tmp.cleanup());

function run(args: string[], stdin = ''): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [builtFile('src/cli.ts'), ...args, '--data-dir', tmp.dir], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin);
  });
}

function auditText(): string {
  const dir = join(tmp.dir, 'audit');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.jsonl'))
    .map((f) => readFileSync(join(dir, f), 'utf8'))
    .join('');
}

describe('portcullis reviewers', () => {
  it('adds, lists, re-issues, sets passwords, disables, enables and removes, auditing each without a secret', async () => {
    const added = await run(['reviewers', 'add', 'alice']);
    expect(added.code, added.stderr).toBe(0);
    const token = /^\s+(pcr_\S+)$/m.exec(added.stdout)?.[1] as string;
    expect(token).toMatch(/^pcr_[A-Za-z0-9_-]{43}$/);
    expect(added.stdout).toContain('This token is shown only now');

    const bob = await run(['reviewers', 'add', 'bob', '--password-stdin'], 'bob long password\n');
    expect(bob.code, bob.stderr).toBe(0);
    expect(bob.stdout).not.toContain('pcr_');

    const weak = await run(['reviewers', 'passwd', 'bob'], 'short\n');
    expect(weak.code).toBe(2);
    expect(weak.stderr).toContain('a password needs at least 12 characters');
    expect((await run(['reviewers', 'passwd', 'bob'], 'another long password\n')).code).toBe(0);

    const list = await run(['reviewers', 'list', '--json']);
    const rows = JSON.parse(list.stdout) as Array<{ name: string; credentials: string[]; id: string }>;
    expect(rows.map((r) => [r.name, r.credentials])).toEqual([
      ['alice', ['token']],
      ['bob', ['password']],
    ]);
    expect((await run(['reviewers', 'list'])).stdout).toMatch(
      /^alice {2}rv_[0-9a-f]{16} {2}token {2}created /m,
    );

    const again = await run(['reviewers', 'token', 'alice']);
    expect(again.code).toBe(0);
    expect(again.stdout).not.toContain(token);
    expect((await run(['reviewers', 'disable', 'alice'])).stdout).toContain('reviewer alice disabled');
    expect((await run(['reviewers', 'list'])).stdout).toMatch(/^alice .* disabled \d{4}-/m);
    expect((await run(['reviewers', 'enable', 'alice'])).code).toBe(0);
    expect((await run(['reviewers', 'remove', 'alice'])).stdout).toContain('reviewer alice removed');
    const missing = await run(['reviewers', 'remove', 'alice']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('portcullis: no reviewer alice');
    expect((await run(['reviewers', 'add', 'admin'])).code).toBe(2);

    const audit = auditText();
    const actions = audit
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((r) => r.event === 'reviewer')
      .map((r) => `${r.name}:${r.action}`);
    expect(actions).toEqual([
      'alice:added',
      'alice:token_issued',
      'bob:added',
      'bob:password_set',
      'bob:password_set',
      'alice:token_issued',
      'alice:disabled',
      'alice:enabled',
      'alice:removed',
    ]);
    for (const secret of [token, 'bob long password', 'another long password', 'scrypt$']) {
      expect(audit).not.toContain(secret);
    }
  }, 120_000);

  it('approvals approve of a two-person approval says why it cannot, exits 1, and leaves it pending; deny works', async () => {
    const store = new ApprovalStore(join(tmp.dir, 'approvals.db'));
    const queue = new ApprovalQueue({ store });
    const verdict = await queue.review({
      agent: 'support-bot',
      server: 'crm',
      tool: 'customers.email',
      args: { customer_id: 'c_1' },
      rule: 'two-person',
      reason: 'two people',
      canWait: false,
      approvers: 2,
    });
    const one = await queue.review({
      agent: 'support-bot',
      server: 'crm',
      tool: 'customers.email',
      args: { customer_id: 'c_2' },
      rule: 'one-person',
      reason: 'one person',
      canWait: false,
    });
    queue.close();
    store.close();
    const id = verdict.approvalId as string;
    const list = await run(['approvals', 'list']);
    expect(list.stdout).toContain(
      'needs 2 reviewer accounts: 0 of 2 approvals; approve in the UI, deny here',
    );
    const refused = await run(['approvals', 'approve', id]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`portcullis: approval ${id} needs two reviewer accounts`);
    expect(refused.stderr).toContain('The command line has no reviewer account: approve it in the UI');
    expect(refused.stderr).not.toContain('    at ');
    const approvedOne = await run(['approvals', 'approve', one.approvalId as string]);
    expect(approvedOne.code, approvedOne.stderr).toBe(0);
    const denied = await run(['approvals', 'deny', id]);
    expect(denied.code, denied.stderr).toBe(0);
    expect(denied.stdout).toContain(`${id} denied`);
    const check = new ApprovalStore(join(tmp.dir, 'approvals.db'));
    expect(check.get(id)?.decidedById).toMatch(/^cli:/);
    check.close();
  }, 60_000);
});
