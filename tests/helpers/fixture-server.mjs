// A small real MCP server (stdio) for fault tests: records what it receives, can hang, crash or be cancelled.
// Plain JavaScript so it starts in ~100 ms without tsx. FIXTURE_LOG: JSONL file of received requests.
// FIXTURE_NOISE: writes a line that is not JSON-RPC to stdout and one to stderr before serving.

import { appendFileSync } from 'node:fs';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import {
  CallToolRequestSchema,
  CreateMessageResultSchema,
  EmptyResultSchema,
  ListToolsRequestSchema,
} from '@modelcontextprotocol/sdk/types.js';

const logFile = process.env.FIXTURE_LOG;
const record = (entry) => {
  if (logFile) appendFileSync(logFile, `${JSON.stringify({ pid: process.pid, ...entry })}\n`);
};

const server = new Server(
  { name: 'fixture', version: '1.0.0' },
  { capabilities: { tools: { listChanged: true } } },
);
const tools = [
  { name: 'echo', inputSchema: { type: 'object' } },
  { name: 'hang', description: 'Waits until cancelled.', inputSchema: { type: 'object' } },
  { name: 'crash', description: 'Exits the process mid-call.', inputSchema: { type: 'object' } },
  { name: 'env', description: 'Returns selected environment variables.', inputSchema: { type: 'object' } },
  {
    name: 'ask',
    description: 'Asks the client to sample, and cancels that request at its first progress.',
    inputSchema: { type: 'object' },
  },
];
server.setRequestHandler(ListToolsRequestSchema, async () => {
  record({ method: 'tools/list' });
  return { tools };
});
server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
  const { name, arguments: args } = request.params;
  record({ method: 'tools/call', name, args });
  switch (name) {
    case 'echo':
      return { content: [{ type: 'text', text: JSON.stringify(args ?? {}) }], extraField: 'kept' };
    case 'hang':
      return new Promise((resolve) => {
        extra.signal.addEventListener('abort', () => {
          record({ event: 'cancelled', name });
          resolve({ content: [] });
        });
      });
    case 'crash':
      record({ event: 'crashing' });
      process.exit(3);
      break;
    case 'env': {
      const keys = Array.isArray(args?.keys) ? args.keys : [];
      return {
        content: [
          {
            type: 'text',
            text: JSON.stringify(Object.fromEntries(keys.map((k) => [k, process.env[k] ?? null]))),
          },
        ],
      };
    }
    case 'ask': {
      const controller = new AbortController();
      let progressed = false;
      // Uses up request id 0: the SDK ignores a cancellation of id 0 (a falsy check), which would hide ours.
      await extra.sendRequest({ method: 'ping' }, EmptyResultSchema).catch(() => {});
      try {
        await extra.sendRequest(
          {
            method: 'sampling/createMessage',
            params: { messages: [{ role: 'user', content: { type: 'text', text: 'hi' } }], maxTokens: 5 },
          },
          CreateMessageResultSchema,
          {
            signal: controller.signal,
            onprogress: (progress) => {
              progressed = true;
              record({ event: 'sampling-progress', progress: progress.progress });
              controller.abort('the fixture cancels');
            },
          },
        );
        return { content: [{ type: 'text', text: 'answered' }] };
      } catch {
        return { content: [{ type: 'text', text: progressed ? 'progress seen, then cancelled' : 'failed' }] };
      }
    }
    default:
      throw new Error(`unknown tool ${name}`);
  }
});
record({ event: 'started' });
if (process.env.FIXTURE_NOISE) {
  process.stdout.write('fixture noise on stdout\n');
  process.stderr.write('fixture noise on stderr\n');
}
await server.connect(new StdioServerTransport());
