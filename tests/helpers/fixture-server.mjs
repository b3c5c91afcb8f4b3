// A small real MCP server (stdio) for fault tests: records what it receives, can hang, crash or be cancelled.
// Plain JavaScript so it starts in ~100 ms without tsx. FIXTURE_LOG: JSONL file of received requests.
// FIXTURE_NOISE: writes a line that is not JSON-RPC to stdout and one to stderr before serving.
// FIXTURE_NAME: a label that the extra tools and prompts put in their answers (default "fixture").
// FIXTURE_TOOL_PREFIX: put in front of every built-in tool name, so two fixtures can share only chosen names.
// FIXTURE_EXTRA_TOOLS: comma-separated extra tool names; each answers `<FIXTURE_NAME>:<tool>:<arguments JSON>`.
// FIXTURE_PROMPTS: comma-separated prompt names; turns on the prompts capability.
// FIXTURE_EXIT_IF_EXISTS: a path; while that file exists the fixture exits at start (an upstream that stays down).

import { appendFileSync, existsSync } from 'node:fs';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import {
  CallToolRequestSchema,
  CreateMessageResultSchema,
  EmptyResultSchema,
  GetPromptRequestSchema,
  ListPromptsRequestSchema,
  ListToolsRequestSchema,
} from '@modelcontextprotocol/sdk/types.js';

const logFile = process.env.FIXTURE_LOG;
const record = (entry) => {
  if (logFile) appendFileSync(logFile, `${JSON.stringify({ pid: process.pid, ...entry })}\n`);
};

const refuseFile = process.env.FIXTURE_EXIT_IF_EXISTS;
if (refuseFile && existsSync(refuseFile)) {
  record({ event: 'refused' });
  process.exit(1);
}

const label = process.env.FIXTURE_NAME ?? 'fixture';
const prefix = process.env.FIXTURE_TOOL_PREFIX ?? '';
const listOf = (value) => (value ?? '').split(',').filter(Boolean);
const prompts = listOf(process.env.FIXTURE_PROMPTS);

const server = new Server(
  { name: 'fixture', version: '1.0.0' },
  { capabilities: { tools: { listChanged: true }, ...(prompts.length > 0 && { prompts: {} }) } },
);
/** What each tool does, by the name it is listed under (`rename` changes the name, not the behaviour). */
const tools = [
  { name: 'echo', kind: 'echo', inputSchema: { type: 'object' } },
  { name: 'hang', kind: 'hang', description: 'Waits until cancelled.', inputSchema: { type: 'object' } },
  {
    name: 'crash',
    kind: 'crash',
    description: 'Exits the process mid-call.',
    inputSchema: { type: 'object' },
  },
  {
    name: 'env',
    kind: 'env',
    description: 'Returns selected environment variables.',
    inputSchema: { type: 'object' },
  },
  {
    name: 'ask',
    kind: 'ask',
    description: 'Asks the client to sample, and cancels that request at its first progress.',
    inputSchema: { type: 'object' },
  },
  {
    name: 'rename',
    kind: 'rename',
    description: 'Renames tool `from` to `to` and sends tools/list_changed.',
    inputSchema: { type: 'object' },
  },
  {
    name: 'big',
    kind: 'big',
    description: 'Returns one text of `bytes` characters (a repeating pattern).',
    inputSchema: { type: 'object' },
  },
  {
    name: 'bignoise',
    kind: 'bignoise',
    description: 'Writes a line of `bytes` characters that is not JSON to stdout, then answers "done".',
    inputSchema: { type: 'object' },
  },
  {
    name: 'hold',
    kind: 'hold',
    description: 'Waits until `release` is called with the same key.',
    inputSchema: { type: 'object' },
  },
  {
    name: 'release',
    kind: 'release',
    description: 'Lets the `hold` call with this key answer.',
    inputSchema: { type: 'object' },
  },
]
  .map((tool) => ({ ...tool, name: `${prefix}${tool.name}` }))
  .concat(
    listOf(process.env.FIXTURE_EXTRA_TOOLS).map((name) => ({
      name,
      kind: 'extra',
      inputSchema: { type: 'object' },
    })),
  );

/** The text `big` returns: deterministic, so a test can rebuild it and compare. */
const pattern = (bytes) => '0123456789abcdef'.repeat(Math.ceil(bytes / 16)).slice(0, bytes);
const held = new Map();

server.setRequestHandler(ListToolsRequestSchema, async () => {
  record({ method: 'tools/list' });
  return { tools: tools.map(({ kind: _kind, ...tool }) => tool) };
});
server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
  const { name, arguments: args } = request.params;
  record({ method: 'tools/call', name, args });
  const tool = tools.find((t) => t.name === name);
  switch (tool?.kind) {
    case 'echo':
      return { content: [{ type: 'text', text: JSON.stringify(args ?? {}) }], extraField: 'kept' };
    case 'extra':
      return { content: [{ type: 'text', text: `${label}:${name}:${JSON.stringify(args ?? {})}` }] };
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
    case 'rename': {
      const target = tools.find((t) => t.name === args?.from);
      if (!target || typeof args?.to !== 'string')
        throw new Error('rename needs an existing `from` and a `to`');
      target.name = args.to;
      await server.sendToolListChanged();
      return { content: [{ type: 'text', text: 'renamed' }] };
    }
    case 'big':
      return { content: [{ type: 'text', text: pattern(Number(args?.bytes ?? 0)) }] };
    case 'bignoise':
      process.stdout.write(`${'x'.repeat(Number(args?.bytes ?? 0))}\n`);
      return { content: [{ type: 'text', text: 'done' }] };
    case 'hold':
      return new Promise((resolve) => {
        held.set(String(args?.key), () => resolve({ content: [{ type: 'text', text: 'released' }] }));
      });
    case 'release': {
      const resolve = held.get(String(args?.key));
      held.delete(String(args?.key));
      resolve?.();
      return { content: [{ type: 'text', text: resolve ? 'released' : 'nothing held' }] };
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
if (prompts.length > 0) {
  server.setRequestHandler(ListPromptsRequestSchema, async () => {
    record({ method: 'prompts/list' });
    return { prompts: prompts.map((name) => ({ name })) };
  });
  server.setRequestHandler(GetPromptRequestSchema, async (request) => {
    const { name } = request.params;
    record({ method: 'prompts/get', name });
    if (!prompts.includes(name)) throw new Error(`unknown prompt ${name}`);
    return { messages: [{ role: 'user', content: { type: 'text', text: `${label}:${name}` } }] };
  });
}
record({ event: 'started' });
if (process.env.FIXTURE_NOISE) {
  process.stdout.write('fixture noise on stdout\n');
  process.stderr.write('fixture noise on stderr\n');
}
await server.connect(new StdioServerTransport());
