// A small real MCP server for fault tests: records what it receives, can hang, crash or be cancelled.
// The same server runs as a child process (fixture-server.ts, over stdio) or in the test's process
// (in-process.ts, over InMemoryTransport). Its settings are FIXTURE_* variables of its environment:
// FIXTURE_LOG: JSONL file of received requests.
// FIXTURE_NAME: a label that the extra tools and prompts put in their answers (default "fixture").
// FIXTURE_TOOL_PREFIX: put in front of every built-in tool name, so two fixtures can share only chosen names.
// FIXTURE_EXTRA_TOOLS: comma-separated extra tool names; each answers `<FIXTURE_NAME>:<tool>:<arguments JSON>`.
// FIXTURE_PROMPTS: comma-separated prompt names; turns on the prompts capability.
// FIXTURE_TOOL_SCHEMAS: JSON object of extra tool name to the inputSchema it lists (default { type: object }).
// FIXTURE_TOOL_DESCRIPTIONS: JSON object of extra tool name to the description it lists (default none).
// FIXTURE_RESOURCES: comma-separated resource URIs (FIXTURE_TEMPLATES: URI templates); turns on the
// resources capability (with subscribe) and a `touch` tool that sends resources/updated for `uri`.
// Any URI can be read: the answer is `<FIXTURE_NAME>:<uri>`.
// FIXTURE_RESOURCE_CONTENTS: JSON object of URI to the contents array its read answers (each item gets the uri).
// FIXTURE_LOGGING: turns on the logging capability and a `say` tool that logs `message` while it runs.
// Only as a process (fixture-server.ts): FIXTURE_NOISE, FIXTURE_EXIT_IF_EXISTS.

import { appendFileSync } from 'node:fs';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import {
  CallToolRequestSchema,
  type CallToolResult,
  CreateMessageResultSchema,
  EmptyResultSchema,
  GetPromptRequestSchema,
  ListPromptsRequestSchema,
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  ListToolsRequestSchema,
  ReadResourceRequestSchema,
  SubscribeRequestSchema,
  UnsubscribeRequestSchema,
} from '@modelcontextprotocol/sdk/types.js';

/** What differs between the fixture as a process and in this process. */
export interface FixtureHost {
  env: Record<string, string | undefined>;
  /** Written into every log entry: a new process, or a new in-process instance, has a new one. */
  pid: number;
  /** The `crash` tool: the process exits mid-call (in process: the transport closes). */
  exit(code: number): void;
  /** The `bignoise` tool: a line on stdout that is not JSON-RPC. */
  stdout(text: string): void;
}

type Args = Record<string, unknown> | undefined;
type FixtureTool = { name: string; kind: string; description?: string; inputSchema: { type: 'object' } };

export function fixtureRecorder(host: FixtureHost): (entry: Record<string, unknown>) => void {
  const logFile = host.env.FIXTURE_LOG;
  return (entry) => {
    if (logFile) appendFileSync(logFile, `${JSON.stringify({ pid: host.pid, ...entry })}\n`);
  };
}

export function fixtureServer(host: FixtureHost): Server {
  const { env } = host;
  const record = fixtureRecorder(host);
  const label = env.FIXTURE_NAME ?? 'fixture';
  const prefix = env.FIXTURE_TOOL_PREFIX ?? '';
  const listOf = (value: string | undefined) => (value ?? '').split(',').filter(Boolean);
  const prompts = listOf(env.FIXTURE_PROMPTS);
  const extraSchemas = JSON.parse(env.FIXTURE_TOOL_SCHEMAS ?? '{}') as Record<
    string,
    { type: 'object'; [key: string]: unknown }
  >;
  const descriptions = JSON.parse(env.FIXTURE_TOOL_DESCRIPTIONS ?? '{}') as Record<string, string>;
  const resources = listOf(env.FIXTURE_RESOURCES);
  const templates = listOf(env.FIXTURE_TEMPLATES);
  const hasResources = resources.length > 0 || templates.length > 0;
  const contents = JSON.parse(env.FIXTURE_RESOURCE_CONTENTS ?? '{}') as Record<
    string,
    Record<string, unknown>[]
  >;

  const server = new Server(
    { name: 'fixture', version: '1.0.0' },
    {
      capabilities: {
        tools: { listChanged: true },
        ...(prompts.length > 0 && { prompts: {} }),
        ...(hasResources && { resources: { subscribe: true } }),
        ...(env.FIXTURE_LOGGING && { logging: {} }),
      },
    },
  );
  /** What each tool does, by the name it is listed under (`rename` changes the name, not the behaviour). */
  const builtIn: FixtureTool[] = [
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
    {
      name: 'returns',
      kind: 'returns',
      description:
        'Answers with `result` (a whole tool result: content, structuredContent, isError) as given.',
      inputSchema: { type: 'object' },
    },
  ];
  if (hasResources)
    builtIn.push({
      name: 'touch',
      kind: 'touch',
      description: 'Sends notifications/resources/updated for `uri`.',
      inputSchema: { type: 'object' },
    });
  if (env.FIXTURE_LOGGING)
    builtIn.push({
      name: 'say',
      kind: 'say',
      description: 'Logs `message` (notifications/message) while it runs, then answers.',
      inputSchema: { type: 'object' },
    });
  const tools = builtIn
    .map((tool) => ({ ...tool, name: `${prefix}${tool.name}` }))
    .concat(
      listOf(env.FIXTURE_EXTRA_TOOLS).map((name) => ({
        name,
        kind: 'extra',
        ...(descriptions[name] !== undefined && { description: descriptions[name] }),
        inputSchema: extraSchemas[name] ?? { type: 'object' as const },
      })),
    );

  /** The text `big` returns: deterministic, so a test can rebuild it and compare. */
  const pattern = (bytes: number) => '0123456789abcdef'.repeat(Math.ceil(bytes / 16)).slice(0, bytes);
  const held = new Map<string, () => void>();
  const text = (value: string): CallToolResult => ({ content: [{ type: 'text', text: value }] });

  server.setRequestHandler(ListToolsRequestSchema, async () => {
    record({ method: 'tools/list' });
    return { tools: tools.map(({ kind: _kind, ...tool }) => tool) };
  });
  server.setRequestHandler(CallToolRequestSchema, async (request, extra): Promise<CallToolResult> => {
    const { name } = request.params;
    const args: Args = request.params.arguments;
    record({ method: 'tools/call', name, args });
    const tool = tools.find((t) => t.name === name);
    switch (tool?.kind) {
      case 'echo':
        return { content: [{ type: 'text', text: JSON.stringify(args ?? {}) }], extraField: 'kept' };
      case 'extra':
        return text(`${label}:${name}:${JSON.stringify(args ?? {})}`);
      case 'hang':
        return new Promise((resolve) => {
          extra.signal.addEventListener('abort', () => {
            record({ event: 'cancelled', name });
            resolve({ content: [] });
          });
        });
      case 'crash':
        record({ event: 'crashing' });
        host.exit(3);
        // As a process nothing answers; in process the closed transport fails the call first.
        return new Promise(() => {});
      case 'env': {
        const keys = Array.isArray(args?.keys) ? (args.keys as string[]) : [];
        return text(JSON.stringify(Object.fromEntries(keys.map((k) => [k, env[k] ?? null]))));
      }
      case 'rename': {
        const target = tools.find((t) => t.name === args?.from);
        if (!target || typeof args?.to !== 'string')
          throw new Error('rename needs an existing `from` and a `to`');
        target.name = args.to;
        await server.sendToolListChanged();
        return text('renamed');
      }
      case 'big':
        return text(pattern(Number(args?.bytes ?? 0)));
      case 'bignoise':
        host.stdout(`${'x'.repeat(Number(args?.bytes ?? 0))}\n`);
        return text('done');
      case 'hold':
        return new Promise((resolve) => {
          held.set(String(args?.key), () => resolve(text('released')));
        });
      case 'release': {
        const resolve = held.get(String(args?.key));
        held.delete(String(args?.key));
        resolve?.();
        return text(resolve ? 'released' : 'nothing held');
      }
      case 'returns':
        return (args?.result ?? { content: [] }) as CallToolResult;
      case 'touch':
        await server.sendResourceUpdated({ uri: String(args?.uri) });
        return text('touched');
      case 'say':
        await server.sendLoggingMessage({ level: 'info', data: String(args?.message) });
        return text('said');
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
          return text('answered');
        } catch {
          return text(progressed ? 'progress seen, then cancelled' : 'failed');
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
  if (hasResources) {
    server.setRequestHandler(ListResourcesRequestSchema, async () => {
      record({ method: 'resources/list' });
      return { resources: resources.map((uri) => ({ uri, name: uri })) };
    });
    server.setRequestHandler(ListResourceTemplatesRequestSchema, async () => {
      record({ method: 'resources/templates/list' });
      return { resourceTemplates: templates.map((uriTemplate) => ({ uriTemplate, name: uriTemplate })) };
    });
    server.setRequestHandler(ReadResourceRequestSchema, async (request) => {
      const { uri } = request.params;
      record({ method: 'resources/read', uri });
      const own = contents[uri];
      if (own !== undefined) return { contents: own.map((item) => ({ uri, ...item })) };
      return { contents: [{ uri, text: `${label}:${uri}` }] };
    });
    server.setRequestHandler(SubscribeRequestSchema, async (request) => {
      record({ method: 'resources/subscribe', uri: request.params.uri });
      return {};
    });
    server.setRequestHandler(UnsubscribeRequestSchema, async (request) => {
      record({ method: 'resources/unsubscribe', uri: request.params.uri });
      return {};
    });
  }
  record({ event: 'started' });
  return server;
}
