// Demo client: connects to a running Portcullis over HTTP, lists tools, makes a few calls and shows each decision.

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { type CallToolResult, CallToolResultSchema } from '@modelcontextprotocol/sdk/types.js';
import { DECISION_META_KEY } from '../proxy/index.js';
import { answerInClient, askInClientDemo } from './ask.js';
import { grantDemo } from './grant.js';

const url =
  process.env.PORTCULLIS_URL ??
  process.argv.slice(2).find((a) => !a.startsWith('--')) ??
  'http://127.0.0.1:3000/mcp';
// The keys of the `support-bot` and `rogue-bot` agents in policy.example.yml (their SHA-256 is in the file, not the keys).
const key = process.env.PORTCULLIS_KEY ?? 'demo-support-key';
const rogueKey = process.env.PORTCULLIS_ROGUE_KEY ?? 'demo-rogue-key';
// The proxy's data dir (npm start uses .portcullis): the standing-grant step reads its admin token there.
const dataDir = process.env.PORTCULLIS_DATA_DIR ?? '.portcullis';
// `--no-wait`: do not hold the over-the-cap refund open; show the approval id a client that cannot wait gets.
const wait = !process.argv.includes('--no-wait');
/** The call the policy sends to a person: over the $150 refund cap. */
const reviewed = {
  title: 'Refund $900.00 (over the $150 cap: a person decides)',
  name: 'refunds.refund',
  args: { charge_id: 'ch_3PzA1m', amount_cents: 90000, op: 'refund' },
};

const calls: { title: string; name: string; args: Record<string, unknown> }[] = [
  { title: 'List recent refunds', name: 'refunds.list', args: { limit: 2 } },
  {
    title: 'Refund $120.00',
    name: 'refunds.refund',
    args: { charge_id: 'ch_3Pz9kL', amount_cents: 12000, op: 'refund' },
  },
  {
    title: 'Refund with the amount as a string',
    name: 'refunds.refund',
    args: { charge_id: 'ch_3PzA1m', amount_cents: '20000', op: 'refund' },
  },
  {
    title: 'Create a $49.00 payment link',
    name: 'payment_links.create',
    args: { amount_cents: 4900, description: 'Pro plan' },
  },
  {
    title: 'Refund $150.00 (the refunds-per-day budget: $270 of $300 used after it)',
    name: 'refunds.refund',
    args: { charge_id: 'ch_3PzB7q', amount_cents: 15000, op: 'refund' },
  },
  {
    title: 'Refund $100.00 (under the cap, but past the $300 daily budget: a person decides)',
    name: 'refunds.refund',
    args: { charge_id: 'ch_3PzC2w', amount_cents: 10000, op: 'refund' },
  },
  // refund-history-rate allows 3 listings a minute: the first call above was one.
  { title: 'List refunds again (2nd this minute)', name: 'refunds.list', args: { limit: 1 } },
  { title: 'List refunds again (3rd this minute)', name: 'refunds.list', args: { limit: 1 } },
  {
    title: 'List refunds again (4th this minute: over the rate limit)',
    name: 'refunds.list',
    args: { limit: 1 },
  },
];

/** What rogue-bot tries: the export three times (each a high-severity incident), then anything at all. */
const rogueCalls: { title: string; name: string; args: Record<string, unknown> }[] = [
  { title: 'Export every user (hidden from the list, called anyway)', name: 'users.export', args: {} },
  { title: 'Export every user (2nd try)', name: 'users.export', args: {} },
  {
    title: 'Export every user (3rd try: the third incident suspends the agent)',
    name: 'users.export',
    args: {},
  },
  {
    title: 'List recent refunds (allowed by the policy, but the agent is suspended)',
    name: 'refunds.list',
    args: { limit: 1 },
  },
];

function summary(result: CallToolResult, max = 100): string {
  const block = result.content.find((c) => c.type === 'text');
  const line = block && block.type === 'text' ? block.text.replace(/\s+/g, ' ') : '';
  return line.length > max ? `${line.slice(0, max - 3)}...` : line;
}

function show(call: { title: string; name: string; args: unknown }, result: CallToolResult): void {
  const decision = result._meta?.[DECISION_META_KEY] as
    | { decision: string; rule: string | null; reason: string }
    | undefined;
  const verdict = decision ? decision.decision.toUpperCase() : result.isError ? 'ERROR' : 'ALLOW';
  console.log(`${verdict.padEnd(6)} ${call.title}`);
  console.log(`       ${call.name} ${JSON.stringify(call.args)}`);
  // A denial's text names who denied it (a rule, the policy default, or Portcullis itself: a limit, a suspension).
  if (decision?.decision === 'deny') console.log(`       ${summary(result, 220)}`);
  else if (decision) console.log(`       rule: ${decision.rule ?? '(default)'} - ${decision.reason}`);
  if (decision?.decision !== 'deny')
    console.log(`       ${decision ? 'answer' : 'upstream answered'}: ${summary(result)}`);
  console.log('');
}

/**
 * Sends the over-the-cap refund with a progress token, as Claude Code or VS Code do: Portcullis holds
 * it open, reporting progress, until a person approves or denies it in the web UI.
 */
async function reviewCall(client: Client): Promise<void> {
  if (!wait) {
    show(
      reviewed,
      (await client.callTool({ name: reviewed.name, arguments: reviewed.args })) as CallToolResult,
    );
    return;
  }
  console.log(`REVIEW ${reviewed.title}`);
  console.log(`       ${reviewed.name} ${JSON.stringify(reviewed.args)}`);
  let told = false;
  const result = await client.request(
    { method: 'tools/call', params: { name: reviewed.name, arguments: reviewed.args } },
    CallToolResultSchema,
    {
      onprogress: (progress) => {
        if (told || !progress.message) return;
        told = true;
        console.log(`       ${progress.message}`);
        console.log(
          '       Open the approvals UI (the sign-in link is in the npm start output) and approve or deny it.',
        );
      },
      resetTimeoutOnProgress: true,
      timeout: 60_000,
      maxTotalTimeout: 10 * 60_000,
    },
  );
  console.log('');
  show({ ...reviewed, title: `${reviewed.title}: decided` }, result as CallToolResult);
}

/** A client of the proxy with this agent's key; undefined (and a message) when the proxy is not there. */
async function connect(bearer: string): Promise<Client | undefined> {
  // Declaring elicitation lets Portcullis ask this client's user to approve a call (approve_in: client).
  const client = new Client(
    { name: 'portcullis-demo-client', version: '1.0.0' },
    { capabilities: { elicitation: {} } },
  );
  answerInClient(client);
  try {
    await client.connect(
      new StreamableHTTPClientTransport(new URL(url), {
        requestInit: { headers: { authorization: `Bearer ${bearer}` } },
      }),
    );
    return client;
  } catch (error) {
    console.error(
      `Cannot reach Portcullis at ${url} (${(error as Error).message}). Start it first: npm start`,
    );
    process.exitCode = 1;
    return undefined;
  }
}

async function offered(client: Client): Promise<string> {
  const { tools } = await client.listTools();
  return tools.length === 0 ? '(none)' : tools.map((t) => t.name).join(', ');
}

/** rogue-bot: three high-severity denials suspend it; then even an allowed call is denied, and it is offered nothing. */
async function rogue(): Promise<void> {
  const client = await connect(rogueKey);
  if (!client) return;
  console.log('Connected as agent rogue-bot (trust low)\n');
  console.log(`Tools offered: ${await offered(client)}\n`);
  for (const call of rogueCalls) {
    const result = (await client.callTool({ name: call.name, arguments: call.args })) as CallToolResult;
    show(call, result);
  }
  console.log(`Tools offered to rogue-bot now: ${await offered(client)}`);
  console.log(
    '       A person reinstates it: Reinstate on the Incidents page, or `portcullis incidents reinstate rogue-bot --data-dir .portcullis`\n',
  );
  await client.close();
}

async function main(): Promise<void> {
  const client = await connect(key);
  if (!client) return;
  console.log(`Connected to ${url} as agent support-bot\n`);
  console.log(`Tools offered (policy-denied tools are hidden): ${await offered(client)}\n`);
  for (const call of calls) {
    const result = (await client.callTool({ name: call.name, arguments: call.args })) as CallToolResult;
    show(call, result);
  }
  await askInClientDemo(client, show);
  await grantDemo(client, { dataDir, show });
  await rogue();
  await reviewCall(client);
  await client.close();
}

await main();
