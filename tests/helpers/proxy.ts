// Starts the real proxy in this process over HTTP (port 0) with a policy written to a temp directory.

import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { ClientCapabilities } from '@modelcontextprotocol/sdk/types.js';
import { afterEach } from 'vitest';
import { type App, startApp } from '../../src/app.js';
import type { RoutingTimings, UpstreamTransportFactory } from '../../src/proxy/index.js';
import { inProcessFixtures } from './in-process.js';
import { FIXTURE } from './peers.js';
import { tempDir } from './temp.js';

export interface TestProxy {
  app: App;
  url: string;
  dir: string;
  policyFile: string;
  dataDir: string;
  logs: string[];
  close(): Promise<void>;
}

export async function startHttpProxy(options: {
  policy: string;
  command?: { name: string; command: string; args: string[] };
  agent?: string;
  /** The approvals UI: off unless a test needs it (0 = a free port). */
  ui?: number | 'off';
  env?: NodeJS.ProcessEnv;
  /** Shorter waits for down upstreams and re-listings, for tests that would otherwise wait seconds. */
  routing?: Partial<RoutingTimings>;
  /** In-process upstreams (inProcessFixtures()) where a child process is not what the test is about. */
  upstreamTransport?: UpstreamTransportFactory;
  /** The app's injected clock (sensitive data flow ages). */
  now?: () => number;
}): Promise<TestProxy> {
  const dir = tempDir().dir;
  const policyFile = path.join(dir, 'policy.yml');
  await writeFile(policyFile, options.policy);
  const dataDir = path.join(dir, 'data');
  const logs: string[] = [];
  const app = await startApp({
    policyFile,
    http: { host: '127.0.0.1', port: 0 },
    ui: options.ui ?? 'off',
    dataDir,
    agent: options.agent ?? 'anonymous',
    command: options.command,
    env: options.env,
    routing: options.routing,
    upstreamTransport: options.upstreamTransport,
    now: options.now,
    log: (line) => logs.push(line),
  });
  return {
    app,
    url: app.url as string,
    dir,
    policyFile,
    dataDir,
    logs,
    async close() {
      try {
        await app.close();
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  };
}

/** A real SDK client connected over Streamable HTTP. */
export async function httpClient(
  url: string,
  options: { capabilities?: ClientCapabilities; headers?: Record<string, string> } = {},
): Promise<Client> {
  const client = new Client(
    { name: 'test-client', version: '1.0.0' },
    { capabilities: options.capabilities ?? {} },
  );
  await client.connect(
    new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: options.headers ?? {} } }),
  );
  return client;
}

export type FixtureProxy = TestProxy & { fixtureLog: string };

/**
 * The proxy in front of the recording fixture upstream; `fixtureLog` is where it writes what it
 * received. The fixture runs as a child process unless `upstream: 'in-process'`: for tests about
 * what the proxy does, not about the upstream's process (its exit, its stdout, its pid).
 */
export async function startFixtureProxy(options: {
  policy: string;
  upstream?: 'process' | 'in-process';
  ui?: number | 'off';
  env?: NodeJS.ProcessEnv;
}): Promise<FixtureProxy> {
  const logDir = tempDir('portcullis-fixture-').dir;
  const fixtureLog = path.join(logDir, 'fixture.jsonl');
  const proxy = await startHttpProxy({
    policy: options.policy,
    command: { name: 'fixture', command: 'node', args: [FIXTURE] },
    ui: options.ui,
    env: { ...process.env, ...options.env, FIXTURE_LOG: fixtureLog },
    ...(options.upstream === 'in-process' && { upstreamTransport: inProcessFixtures() }),
  }).catch(async (error: unknown) => {
    await rm(logDir, { recursive: true, force: true });
    throw error;
  });
  return {
    ...proxy,
    fixtureLog,
    async close() {
      try {
        await proxy.close();
      } finally {
        await rm(logDir, { recursive: true, force: true });
      }
    },
  };
}

/**
 * Fixture proxies with an HTTP client each, for the tests of one file: `start` opens one, and every
 * one opened is closed after each test (call this at the top level of the file or in a describe).
 */
export function fixtureProxyPerTest(): (
  options: Parameters<typeof startFixtureProxy>[0],
) => Promise<{ proxy: FixtureProxy; client: Client }> {
  const open: { proxy: FixtureProxy; client?: Client }[] = [];
  afterEach(async () => {
    for (const { proxy, client } of open.splice(0).reverse()) {
      await client?.close();
      await proxy.close();
    }
  });
  return async (options) => {
    const entry: { proxy: FixtureProxy; client?: Client } = { proxy: await startFixtureProxy(options) };
    open.push(entry);
    entry.client = await httpClient(entry.proxy.url);
    return { proxy: entry.proxy, client: entry.client };
  };
}
