// Runs the hidden-content detector over the tool lists of real MCP servers and prints how many it flags (the false-positive check).
//
//   npx tsx scripts/inspect-tools.ts [--servers DIR]
//
// Always: server-everything, server-filesystem and the demo payments server from this repo. With
// --servers DIR: every `mcp-server-*` bin in DIR/node_modules/.bin too (install some first, e.g.
// `npm install --prefix DIR @modelcontextprotocol/server-github @modelcontextprotocol/server-memory`).

import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import { inspectTool } from '../src/inspect/index.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const BIN = path.join(ROOT, 'node_modules', '.bin');

interface Target {
  name: string;
  command: string;
  args: string[];
}

function targets(): Target[] {
  const scratch = mkdtempSync(path.join(tmpdir(), 'portcullis-inspect-'));
  const list: Target[] = [
    { name: 'server-everything', command: path.join(BIN, 'mcp-server-everything'), args: ['stdio'] },
    { name: 'server-filesystem', command: path.join(BIN, 'mcp-server-filesystem'), args: [scratch] },
    {
      name: 'demo payments',
      command: path.join(BIN, 'tsx'),
      args: [path.join(ROOT, 'src/demo/payments-server.ts')],
    },
  ];
  const at = process.argv.indexOf('--servers');
  if (at !== -1) {
    const dir = path.join(process.argv[at + 1] as string, 'node_modules', '.bin');
    for (const bin of readdirSync(dir)
      .filter((b) => b.startsWith('mcp-server-'))
      .sort()) {
      // Servers that need a database or URL get a loopback one they will not reach: listing tools needs none.
      const args = bin.endsWith('postgres')
        ? ['postgresql://127.0.0.1:1/none']
        : bin.endsWith('redis')
          ? ['redis://127.0.0.1:1']
          : [];
      list.push({ name: bin.replace(/^mcp-server-/, 'server-'), command: path.join(dir, bin), args });
    }
  }
  return list;
}

async function listTools(target: Target): Promise<Tool[]> {
  const client = new Client({ name: 'portcullis-inspect', version: '1' });
  const transport = new StdioClientTransport({
    command: target.command,
    args: target.args,
    // Placeholder credentials: some servers refuse to start without one, none is used to list tools.
    env: {
      ...process.env,
      GITHUB_PERSONAL_ACCESS_TOKEN: 'placeholder',
      GITLAB_PERSONAL_ACCESS_TOKEN: 'placeholder',
      BRAVE_API_KEY: 'placeholder',
      SLACK_BOT_TOKEN: 'placeholder',
      SLACK_TEAM_ID: 'placeholder',
      GOOGLE_MAPS_API_KEY: 'placeholder',
      EVERART_API_KEY: 'placeholder',
      AWS_ACCESS_KEY_ID: 'placeholder',
      AWS_SECRET_ACCESS_KEY: 'placeholder',
      AWS_REGION: 'us-east-1',
    } as Record<string, string>,
    stderr: 'ignore',
  });
  const timeout = setTimeout(() => void transport.close(), 15_000);
  try {
    await client.connect(transport);
    const tools: Tool[] = [];
    let cursor: string | undefined;
    do {
      const page = await client.listTools(cursor ? { cursor } : {});
      tools.push(...page.tools);
      cursor = page.nextCursor;
    } while (cursor);
    return tools;
  } finally {
    clearTimeout(timeout);
    await client.close().catch(() => {});
  }
}

let total = 0;
let flagged = 0;
console.log('server                        tools  flagged  findings');
for (const target of targets()) {
  let tools: Tool[];
  try {
    tools = await listTools(target);
  } catch (error) {
    console.log(`${target.name.padEnd(30)} (did not list tools: ${(error as Error).message.split('\n')[0]})`);
    continue;
  }
  const hits = tools
    .map((tool) => ({ tool: tool.name, findings: inspectTool(tool) }))
    .filter((h) => h.findings.length > 0);
  total += tools.length;
  flagged += hits.length;
  console.log(
    `${target.name.padEnd(30)} ${String(tools.length).padStart(5)}  ${String(hits.length).padStart(7)}`,
  );
  for (const hit of hits) {
    for (const f of hit.findings) console.log(`    ${hit.tool}: ${f.kind} at ${f.at || '/'}: ${f.detail}`);
  }
}
console.log(
  `\n${flagged} of ${total} tool definitions flagged (${total ? ((100 * flagged) / total).toFixed(1) : '0'}%).`,
);
