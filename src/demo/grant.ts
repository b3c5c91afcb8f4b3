// Demo client, standing grants: one e-mail a person approves "and allows like this for an hour", its repeat that runs without asking, and one outside the grant.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { DECISION_META_KEY } from '../proxy/index.js';

export interface DemoCall {
  title: string;
  name: string;
  args: Record<string, unknown>;
}

export interface GrantDemoOptions {
  /** The data dir of the running proxy: its `ui-token` signs the demo's reviewer in to the admin API. */
  dataDir: string;
  show(call: DemoCall, result: CallToolResult): void;
}

const first: DemoCall = {
  title: 'E-mail Ada about her refund (e-mails are reviewed: a person decides)',
  name: 'customers.email',
  args: {
    customer_id: 'cus_001',
    subject: 'Your refund',
    body: 'Hi Ada,\n\nyour refund of $120.00 is on its way.\n\nThe support team',
  },
};
const repeat: DemoCall = {
  title: 'E-mail Ada again, another text (covered by the grant: runs without asking)',
  name: 'customers.email',
  args: { customer_id: 'cus_001', subject: 'Refund sent', body: 'Hi Ada,\n\nthe refund has been sent.' },
};
const outside: DemoCall = {
  title: 'E-mail Grace (another customer: outside the grant, a person decides)',
  name: 'customers.email',
  args: { customer_id: 'cus_002', subject: 'Hello', body: 'Hi Grace,\n\njust checking in.' },
};

function approvalIdOf(result: CallToolResult): string | undefined {
  const meta = result._meta?.[DECISION_META_KEY] as { approval_id?: string } | undefined;
  return meta?.approval_id;
}

/** The UI's address, from the pending text ("awaiting approval ap_… at http://…/approvals/ap_…"). */
function uiOf(result: CallToolResult): string | undefined {
  const block = result.content.find((c) => c.type === 'text');
  const match = block?.type === 'text' ? /(https?:\/\/[^\s]+)\/approvals\/ap_/.exec(block.text) : null;
  return match?.[1];
}

async function call(client: Client, demo: DemoCall): Promise<CallToolResult> {
  return (await client.callTool({ name: demo.name, arguments: demo.args })) as CallToolResult;
}

/**
 * The grant is made through the admin API with the data dir's admin token, standing in for the person
 * who would press "Approve, and allow calls like this for 1 hour" on the approval's page.
 */
export async function grantDemo(client: Client, options: GrantDemoOptions): Promise<void> {
  const pending = await call(client, first);
  options.show(first, pending);
  const id = approvalIdOf(pending);
  const ui = uiOf(pending);
  if (!id || !ui) {
    console.log('       (no approvals UI to make the grant in: skipping the standing grant)\n');
    return;
  }
  let token: string;
  try {
    token = (await readFile(join(options.dataDir, 'ui-token'), 'utf8')).trim();
  } catch {
    console.log(`       (no admin token in ${options.dataDir}: skipping the standing grant)\n`);
    return;
  }
  const response = await fetch(`${ui}/api/approvals/${id}/grant`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      duration_ms: 3_600_000,
      args: { customer_id: 'eq', subject: 'any', body: 'any' },
    }),
  });
  const answer = (await response.json()) as { grant?: { id: string; summary?: string }; error?: string };
  if (!response.ok || !answer.grant) {
    console.log(`       the grant was refused: ${answer.error ?? response.status}\n`);
    process.exitCode = 1;
    return;
  }
  console.log(`GRANT  A reviewer approved ${id} and allowed calls like it for 1 hour (${answer.grant.id}):`);
  console.log('       customers.email for support-bot, customer_id exactly "cus_001", any subject, any body');
  console.log(
    `       (on the approval's page: ${ui}/approvals/${id}; listed and revocable on ${ui}/grants)\n`,
  );
  options.show(repeat, await call(client, repeat));
  options.show(outside, await call(client, outside));
}
