// A small fake payments MCP server (stdio) for the demo: refunds, payment links and a user export to forbid.

import { randomBytes } from 'node:crypto';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import {
  CallToolRequestSchema,
  type CallToolResult,
  ListToolsRequestSchema,
} from '@modelcontextprotocol/sdk/types.js';

interface Refund {
  id: string;
  charge_id: string;
  amount_cents: number;
  currency: string;
  status: 'succeeded' | 'pending';
  reason: string;
  created: string;
}

const refunds: Refund[] = [
  {
    id: 're_1Q8f2a',
    charge_id: 'ch_3Pz9kL',
    amount_cents: 4500,
    currency: 'usd',
    status: 'succeeded',
    reason: 'duplicate',
    created: '2026-11-02T10:14:00Z',
  },
  {
    id: 're_1Q8h7c',
    charge_id: 'ch_3PzA1m',
    amount_cents: 12999,
    currency: 'usd',
    status: 'succeeded',
    reason: 'requested_by_customer',
    created: '2026-11-09T16:40:00Z',
  },
  {
    id: 're_1Q9b0d',
    charge_id: 'ch_3PzC7x',
    amount_cents: 2000,
    currency: 'eur',
    status: 'pending',
    reason: 'fraudulent',
    created: '2026-11-18T08:05:00Z',
  },
];

const users = [
  { id: 'cus_001', name: 'Ada Lovelace', email: 'ada@example.com', country: 'GB', lifetime_cents: 182_300 },
  { id: 'cus_002', name: 'Grace Hopper', email: 'grace@example.com', country: 'US', lifetime_cents: 94_150 },
  {
    id: 'cus_003',
    name: 'Margaret Hamilton',
    email: 'margaret@example.com',
    country: 'US',
    lifetime_cents: 310_000,
  },
];

const id = (prefix: string): string => `${prefix}_${randomBytes(5).toString('hex')}`;

const tools = [
  {
    name: 'refunds.refund',
    description: 'Refund (or void) a charge. Amounts are in cents.',
    inputSchema: {
      type: 'object',
      properties: {
        charge_id: { type: 'string', description: 'The charge to refund, e.g. ch_3Pz9kL' },
        amount_cents: { type: 'integer', minimum: 1, description: 'Amount to refund, in cents' },
        op: {
          type: 'string',
          enum: ['refund', 'void'],
          description: 'refund (money back) or void (cancel before capture)',
        },
        reason: { type: 'string', enum: ['duplicate', 'fraudulent', 'requested_by_customer'] },
      },
      required: ['charge_id', 'amount_cents', 'op'],
    },
    annotations: { destructiveHint: true },
  },
  {
    name: 'refunds.list',
    description: 'List recent refunds.',
    inputSchema: { type: 'object', properties: { limit: { type: 'integer', minimum: 1, maximum: 100 } } },
    annotations: { readOnlyHint: true },
  },
  {
    name: 'payment_links.create',
    description: 'Create a payment link a customer can pay with.',
    inputSchema: {
      type: 'object',
      properties: {
        amount_cents: { type: 'integer', minimum: 1 },
        currency: { type: 'string', default: 'usd' },
        description: { type: 'string' },
      },
      required: ['amount_cents', 'description'],
    },
  },
  {
    name: 'customers.email',
    description: 'Send an e-mail to one customer.',
    inputSchema: {
      type: 'object',
      properties: {
        customer_id: { type: 'string', description: 'The customer, e.g. cus_001' },
        subject: { type: 'string' },
        body: { type: 'string', description: 'Plain text; newlines are kept' },
      },
      required: ['customer_id', 'subject', 'body'],
    },
  },
  {
    name: 'users.export',
    description: 'Export every customer with e-mail address and lifetime value (CSV).',
    inputSchema: { type: 'object', properties: { format: { type: 'string', enum: ['csv'] } } },
  },
];

function text(value: unknown, structured?: Record<string, unknown>): CallToolResult {
  return {
    content: [{ type: 'text', text: typeof value === 'string' ? value : JSON.stringify(value, null, 2) }],
    ...(structured && { structuredContent: structured }),
  };
}

function fail(message: string): CallToolResult {
  return { content: [{ type: 'text', text: message }], isError: true };
}

const server = new Server({ name: 'demo-payments', version: '1.0.0' }, { capabilities: { tools: {} } });
server.setRequestHandler(ListToolsRequestSchema, async () => ({ tools }));
server.setRequestHandler(CallToolRequestSchema, async (request) => {
  const args = (request.params.arguments ?? {}) as Record<string, unknown>;
  switch (request.params.name) {
    case 'refunds.refund': {
      const amount = args.amount_cents;
      if (typeof amount !== 'number' || !Number.isInteger(amount) || amount <= 0)
        return fail('amount_cents must be a positive integer');
      if (typeof args.charge_id !== 'string') return fail('charge_id is required');
      const refund: Refund = {
        id: id('re'),
        charge_id: args.charge_id,
        amount_cents: amount,
        currency: 'usd',
        status: args.op === 'void' ? 'pending' : 'succeeded',
        reason: typeof args.reason === 'string' ? args.reason : 'requested_by_customer',
        created: new Date().toISOString(),
      };
      refunds.unshift(refund);
      return text(`Refunded $${(amount / 100).toFixed(2)} on ${refund.charge_id} (${refund.id}).`, {
        ...refund,
      });
    }
    case 'refunds.list': {
      const limit = typeof args.limit === 'number' ? args.limit : 10;
      return text(refunds.slice(0, limit));
    }
    case 'payment_links.create': {
      if (typeof args.amount_cents !== 'number') return fail('amount_cents is required');
      const link = id('plink');
      return text({
        id: link,
        url: `https://pay.example.com/${link}`,
        amount_cents: args.amount_cents,
        currency: args.currency ?? 'usd',
      });
    }
    case 'customers.email': {
      const customer = users.find((u) => u.id === args.customer_id);
      if (!customer) return fail(`no customer ${String(args.customer_id)}`);
      if (typeof args.subject !== 'string' || typeof args.body !== 'string')
        return fail('subject and body are required');
      return text(`Sent "${args.subject}" to ${customer.name} <${customer.email}> (${id('msg')}).`);
    }
    case 'users.export':
      return text(
        ['id,name,email,country,lifetime_cents', ...users.map((u) => Object.values(u).join(','))].join('\n'),
      );
    default:
      return fail(`unknown tool ${request.params.name}`);
  }
});

await server.connect(new StdioServerTransport());
console.error('demo-payments: ready on stdio');
