// Talks to the proxy running in the image, as an MCP client would: keyed call allowed, forbidden call denied, no key refused.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

const [url, key] = process.argv.slice(2);
if (!url || !key) {
  console.error('usage: client.mjs URL KEY');
  process.exit(2);
}

function fail(message) {
  console.error(`check-image client: ${message}`);
  process.exit(1);
}

// Keyless: the container listens on 0.0.0.0, so an anonymous client must be turned away.
const anonymous = await fetch(url, {
  method: 'POST',
  headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
  body: JSON.stringify({
    jsonrpc: '2.0',
    id: 1,
    method: 'initialize',
    params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'anon', version: '0' } },
  }),
});
if (anonymous.status !== 401 && anonymous.status !== 403) {
  fail(`a client without a key got HTTP ${anonymous.status}, expected 401/403`);
}

const client = new Client({ name: 'check-image', version: '1.0.0' });
await client.connect(
  new StreamableHTTPClientTransport(new URL(url), {
    requestInit: { headers: { authorization: `Bearer ${key}` } },
  }),
);
const { tools } = await client.listTools();
const names = tools.map((t) => t.name).sort();
if (!names.includes('refunds.refund'))
  fail(`tools/list through the proxy lacks refunds.refund: ${names.join(', ')}`);

const allowed = await client.callTool({
  name: 'refunds.refund',
  arguments: { charge_id: 'ch_image_check', amount_cents: 1200, op: 'refund' },
});
const allowedText = JSON.stringify(allowed.content);
if (allowed.isError || !allowedText.includes('ch_image_check')) {
  fail(`the allowed refund did not reach the upstream: ${allowedText}`);
}

const denied = await client.callTool({ name: 'users.export', arguments: {} }).then(
  (result) => ({ result }),
  (error) => ({ error }),
);
const deniedText = JSON.stringify(denied.result?.content ?? String(denied.error));
if (!(denied.error || denied.result?.isError) || !/forbidden|denied/i.test(deniedText)) {
  fail(`users.export was not denied: ${deniedText}`);
}
await client.close();
console.log(
  `check-image client: anonymous refused (${anonymous.status}), ${names.length} tools listed, refund allowed, export denied`,
);
