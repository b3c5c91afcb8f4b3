// TLS to an https:// upstream: certificates are checked, and ca_file adds a trust anchor (a real HTTPS server on 127.0.0.1).

import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { serve } from '@hono/node-server';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import { CallToolRequestSchema, ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import type { IBackoff } from 'cockatiel';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UpstreamConnection } from '../../src/proxy/index.js';
import { httpClient, startHttpProxy } from '../helpers/proxy.js';
import { tempDir } from '../helpers/temp.js';

const { dir } = tempDir('portcullis-tls-');

/** A self-signed certificate made now by openssl (node:crypto cannot make X.509), valid for one day. */
function selfSigned(name: string, san: string): { key: string; cert: string } {
  const key = path.join(dir, `${name}.key`);
  const cert = path.join(dir, `${name}.pem`);
  execFileSync('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-days',
    '1',
    '-subj',
    `/CN=${name}`,
    '-addext',
    `subjectAltName=${san}`,
    '-keyout',
    key,
    '-out',
    cert,
  ]);
  return { key: readFileSync(key, 'utf8'), cert: readFileSync(cert, 'utf8') };
}

interface HttpsUpstream {
  url: string;
  /** Every HTTP request that got through the TLS handshake, by method. */
  requests: string[];
  /** The arguments of every tools/call it answered. */
  calls: unknown[];
  close(): Promise<void>;
}

/** A real SDK server over Streamable HTTP behind TLS on 127.0.0.1, stateless (a fresh server per request). */
async function httpsUpstream(tls: { key: string; cert: string }): Promise<HttpsUpstream> {
  const requests: string[] = [];
  const calls: unknown[] = [];
  const app = new Hono();
  app.all('/mcp', async (c) => {
    requests.push(c.req.method);
    const server = new Server({ name: 'tls-upstream', version: '1' }, { capabilities: { tools: {} } });
    server.setRequestHandler(ListToolsRequestSchema, async () => ({
      tools: [{ name: 'secure_echo', inputSchema: { type: 'object' } }],
    }));
    server.setRequestHandler(CallToolRequestSchema, async (request) => {
      calls.push(request.params.arguments);
      return { content: [{ type: 'text', text: 'over tls' }] };
    });
    const transport = new WebStandardStreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    await server.connect(transport);
    return transport.handleRequest(c.req.raw);
  });
  return new Promise((resolve) => {
    const server = serve(
      {
        fetch: app.fetch,
        hostname: '127.0.0.1',
        port: 0,
        createServer,
        serverOptions: { key: tls.key, cert: tls.cert },
      },
      (info: AddressInfo) =>
        resolve({
          url: `https://127.0.0.1:${info.port}/mcp`,
          requests,
          calls,
          close: () =>
            new Promise<void>((done) => {
              server.close(() => done());
              if ('closeAllConnections' in server) server.closeAllConnections();
            }),
        }),
    );
  });
}

let good: { key: string; cert: string };
let upstream: HttpsUpstream;
/** A certificate for the right address that nobody configured: trusting it must not trust the upstream's. */
let stranger: string;

beforeAll(async () => {
  good = selfSigned('upstream', 'IP:127.0.0.1');
  stranger = selfSigned('stranger', 'IP:127.0.0.1').cert;
  upstream = await httpsUpstream(good);
});

afterAll(async () => {
  await upstream?.close();
});

const ONE_MINUTE: IBackoff<unknown> = { duration: 60_000, next: () => ONE_MINUTE };

function connection(ca: string | undefined): UpstreamConnection {
  return new UpstreamConnection(
    { kind: 'http', name: 'secure', url: upstream.url, headers: {}, ca },
    { clientInfo: { name: 't', version: '1' }, capabilities: {} },
    { notification: () => {}, request: async () => ({}), reconnected: () => {}, log: () => {} },
    {
      restart: {
        // One attempt is the point: the retry, a minute away, never comes before close().
        backoff: { next: () => ONE_MINUTE },
        healthyAfterMs: 0,
      },
    },
  );
}

describe('TLS to an https:// upstream', () => {
  it('refuses a certificate nobody trusts: no request gets through the handshake', async () => {
    const before = upstream.requests.length;
    for (const ca of [undefined, stranger]) {
      const up = connection(ca);
      try {
        expect(await up.start()).toBe(false);
        expect(up.unavailableReason).toMatch(/self[- ]signed|certificate|fetch failed/i);
      } finally {
        await up.close();
      }
    }
    expect(upstream.requests.length).toBe(before);
  });

  it('connects with the certificate as ca, and the call and its result go through unchanged', async () => {
    const up = connection(good.cert);
    try {
      expect(await up.start()).toBe(true);
      const result = await up.request('tools/call', { name: 'secure_echo', arguments: { n: 1 } });
      expect(result).toMatchObject({ content: [{ type: 'text', text: 'over tls' }] });
      expect(upstream.calls).toContainEqual({ n: 1 });
    } finally {
      await up.close();
    }
  });

  it('still checks the host name with a ca: a certificate for another name is refused', async () => {
    const other = selfSigned('other-name', 'DNS:upstream.example');
    const wrongName = await httpsUpstream(other);
    const up = new UpstreamConnection(
      { kind: 'http', name: 'secure', url: wrongName.url, headers: {}, ca: other.cert },
      { clientInfo: { name: 't', version: '1' }, capabilities: {} },
      { notification: () => {}, request: async () => ({}), reconnected: () => {}, log: () => {} },
    );
    try {
      expect(await up.start()).toBe(false);
      expect(up.unavailableReason).toMatch(/altnames|IP: 127\.0\.0\.1 is not/i);
      expect(wrongName.requests).toEqual([]);
    } finally {
      await up.close();
      await wrongName.close();
    }
  });

  it('through the proxy: a missing ca_file stops that upstream; once it is there (relative to the policy file) a client call reaches it', async () => {
    const policy = `version: 2\nservers:\n  secure: { url: "${upstream.url}", ca_file: ca.pem }\nrules:\n  - { id: all, match: "*", decision: allow }\n`;
    const proxy = await startHttpProxy({ policy });
    const client = await httpClient(proxy.url);
    try {
      expect(proxy.logs).toContainEqual(
        expect.stringMatching(
          /upstream not started: servers\.secure\.ca_file: cannot read .*ca\.pem \(ENOENT\)/,
        ),
      );
      writeFileSync(path.join(proxy.dir, 'ca.pem'), 'not a certificate\n');
      await writeFile(proxy.policyFile, `${policy}# 1\n`);
      await proxy.app.policy.reload();
      expect(proxy.logs).toContainEqual(expect.stringContaining('servers.secure.ca_file: '));
      expect(proxy.logs).toContainEqual(expect.stringContaining('holds no PEM certificate'));
      // startHttpProxy wrote the policy into a folder of its own: the CA goes beside it.
      writeFileSync(path.join(proxy.dir, 'ca.pem'), good.cert);
      await writeFile(proxy.policyFile, `${policy}# 2\n`);
      await proxy.app.policy.reload();
      const result = await client.callTool({ name: 'secure_echo', arguments: { via: 'proxy' } });
      expect(result.content).toEqual([{ type: 'text', text: 'over tls' }]);
      expect(upstream.calls).toContainEqual({ via: 'proxy' });
    } finally {
      await client.close();
      await proxy.close();
    }
  });
});
