// Demo client, asking in the client: it declares elicitation, shows the question Portcullis asks, and answers approve.
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { type CallToolResult, ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import type { DemoCall } from './grant.js';

/** What the demo's "person at the client" is asked and answers; printed when the call's result comes back. */
const asked: string[] = [];

/** Answers every question with approve, as a person clicking Approve in their MCP client would. */
export function answerInClient(client: Client): void {
  client.setRequestHandler(ElicitRequestSchema, async (request) => {
    const message = String((request.params as { message?: unknown }).message ?? '');
    asked.push(message);
    return { action: 'accept', content: { decision: 'approve', note: 'confirmed in the demo client' } };
  });
}

const largeLink: DemoCall = {
  title: 'Create a $900.00 payment link (over the $250 cap: asked here, in the client, not in the browser)',
  name: 'payment_links.create',
  args: { amount_cents: 90000, description: 'Annual plan' },
};

export async function askInClientDemo(
  client: Client,
  show: (call: DemoCall, result: CallToolResult) => void,
): Promise<void> {
  asked.length = 0;
  const result = (await client.callTool({
    name: largeLink.name,
    arguments: largeLink.args,
  })) as CallToolResult;
  for (const message of asked) {
    console.log('ASKED  Portcullis asked the person at this client (MCP elicitation):');
    for (const line of message.split('\n').slice(0, 12)) console.log(`       | ${line}`);
    console.log('       The demo answered: approve\n');
  }
  show(largeLink, result);
}
