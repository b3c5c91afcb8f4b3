// Bench upstream: the smallest SDK stdio server with one `echo` tool, the same behind every path compared.
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { CallToolRequestSchema, ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js';

export const ECHO_TOOL = {
  name: 'echo',
  description: 'Echoes back the input',
  inputSchema: { type: 'object', properties: { message: { type: 'string' } }, required: ['message'] },
};

/** An SDK Server answering tools/list and tools/call echo; the HTTP floor builds one per session too. */
export function echoServer() {
  const server = new Server({ name: 'bench-echo', version: '1.0.0' }, { capabilities: { tools: {} } });
  server.setRequestHandler(ListToolsRequestSchema, async () => ({ tools: [ECHO_TOOL] }));
  server.setRequestHandler(CallToolRequestSchema, async (request) => ({
    content: [{ type: 'text', text: `Echo: ${request.params.arguments?.message ?? ''}` }],
  }));
  return server;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await echoServer().connect(new StdioServerTransport());
}
