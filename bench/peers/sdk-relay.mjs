// Bench path: a bare SDK relay (stdio Server in front, stdio Client behind), what any SDK-based proxy pays.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import {
  CallToolRequestSchema,
  CallToolResultSchema,
  ListToolsRequestSchema,
  ListToolsResultSchema,
} from '@modelcontextprotocol/sdk/types.js';

const [command, ...args] = process.argv.slice(2);
const upstream = new Client({ name: 'bench-sdk-relay', version: '1.0.0' });
await upstream.connect(new StdioClientTransport({ command, args, stderr: 'inherit' }));
const server = new Server({ name: 'bench-sdk-relay', version: '1.0.0' }, { capabilities: { tools: {} } });
server.setRequestHandler(ListToolsRequestSchema, (request) =>
  upstream.request({ method: 'tools/list', params: request.params }, ListToolsResultSchema),
);
server.setRequestHandler(CallToolRequestSchema, (request) =>
  upstream.request({ method: 'tools/call', params: request.params }, CallToolResultSchema),
);
server.onclose = () => void upstream.close().then(() => process.exit(0));
await server.connect(new StdioServerTransport());
