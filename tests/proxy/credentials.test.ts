// Credentials: an HTTP upstream gets its own headers from `servers:` (with ${ENV}), never the client's key.

import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import { CallToolRequestSchema, ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { Hono } from 'hono';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { httpClient, startHttpProxy, type TestProxy } from '../helpers/proxy.js';

const seen: (string | null)[] = [];
let upstream: ReturnType<typeof serve>;
let proxy: TestProxy;
let client: Client;

/** A real SDK server over Streamable HTTP that records the Authorization header of every request. */
async function startRecordingUpstream(): Promise<string> {
  const server = new Server({ name: 'recording', version: '1' }, { capabilities: { tools: {} } });
  server.setRequestHandler(ListToolsRequestSchema, async () => ({
    tools: [{ name: 'whoami', inputSchema: { type: 'object' } }],
  }));
  server.setRequestHandler(CallToolRequestSchema, async () => ({ content: [{ type: 'text', text: 'ok' }] }));
  const transport = new WebStandardStreamableHTTPServerTransport({
    sessionIdGenerator: () => crypto.randomUUID(),
  });
  await server.connect(transport);
  const app = new Hono();
  app.all('/mcp', (c) => {
    seen.push(c.req.header('authorization') ?? null);
    return transport.handleRequest(c.req.raw);
  });
  return new Promise((resolve) => {
    upstream = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, (info: AddressInfo) =>
      resolve(`http://127.0.0.1:${info.port}/mcp`),
    );
  });
}

beforeAll(async () => {
  const url = await startRecordingUpstream();
  proxy = await startHttpProxy({
    policy: `version: 2
default: deny
servers:
  recording: { url: "${url}", headers: { Authorization: "Bearer \${UPSTREAM_TOKEN}" } }
agents:
  - { id: bot, key_sha256: "${createHash('sha256').update('client-key').digest('hex')}", trust: low }
rules:
  - { id: all, match: "*", decision: allow }
`,
    env: { ...process.env, UPSTREAM_TOKEN: 'upstream-secret' },
  });
  client = await httpClient(proxy.url, { headers: { authorization: 'Bearer client-key' } });
});

afterAll(async () => {
  await client?.close();
  await proxy?.close();
  await new Promise((resolve) => {
    upstream?.close(resolve);
    if (upstream && 'closeAllConnections' in upstream) upstream.closeAllConnections();
  });
});

it("sends the upstream its own expanded credentials and never the client's bearer key", async () => {
  const result = await client.callTool({ name: 'whoami', arguments: {} });
  expect(result.content).toEqual([{ type: 'text', text: 'ok' }]);
  expect(seen.length).toBeGreaterThan(0);
  expect(new Set(seen)).toEqual(new Set(['Bearer upstream-secret']));
});
