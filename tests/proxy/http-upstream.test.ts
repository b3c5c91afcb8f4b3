// An HTTP upstream that goes away: its drop shows only as transport errors, yet calls must fail at once.

import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import { CallToolResultSchema } from '@modelcontextprotocol/sdk/types.js';
import type { IBackoff } from 'cockatiel';
import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { UpstreamConnection } from '../../src/proxy/index.js';
import { EVERYTHING } from '../helpers/peers.js';
import { startEverythingHttp } from '../helpers/ports.js';
import { httpClient, startHttpProxy } from '../helpers/proxy.js';
import { waitFor } from '../helpers/wait.js';

describe('an HTTP upstream that goes away', () => {
  it('fails the call in flight with -32000 at once, not at the client timeout', async () => {
    const remote = await startEverythingHttp(EVERYTHING);
    const proxy = await startHttpProxy({
      policy: `version: 2\nservers:\n  remote: { url: "${remote.url}" }\nrules:\n  - { id: all, match: "*", decision: allow }\n`,
      // The call after the drop waits for the upstream to come back; it never does here.
      routing: { upstreamWaitMs: 300 },
    });
    const client = await httpClient(proxy.url);
    try {
      let running: () => void = () => {};
      const progressed = new Promise<void>((resolve) => {
        running = resolve;
      });
      const call = client
        .callTool(
          { name: 'trigger-long-running-operation', arguments: { duration: 30, steps: 300 } },
          CallToolResultSchema,
          { timeout: 20_000, onprogress: () => running() },
        )
        // Settled into a value now: it fails while the test is still stopping the upstream.
        .then(
          () => 'answered',
          (error: unknown) => error,
        );
      // Progress (every 100 ms) proves the call is running upstream before the upstream goes.
      await progressed;
      await remote.stop();
      expect(await call).toMatchObject({
        code: -32000,
        message: expect.stringContaining('disconnected'),
      });
      await expect(client.callTool({ name: 'echo', arguments: { message: 'x' } })).rejects.toMatchObject({
        code: -32000,
      });
    } finally {
      await client.close();
      await proxy.close();
      await remote.stop();
    }
  }, 40_000);

  it('never rejects a notification it cannot send, and treats an upstream that cannot answer a ping as dropped', async () => {
    const flaky = await flakyUpstream(false);
    const { url } = flaky;
    const logs: string[] = [];
    const upstream = new UpstreamConnection(
      { kind: 'http', name: 'flaky', url, headers: {} },
      { clientInfo: { name: 't', version: '1' }, capabilities: {} },
      {
        notification: () => {},
        request: async () => ({}),
        reconnected: () => {},
        log: (line) => logs.push(line),
      },
    );
    try {
      expect(await upstream.start()).toBe(true);
      flaky.broken = true;
      await expect(upstream.notify('notifications/roots/list_changed')).resolves.toBeUndefined();
      expect(logs.join('\n')).toContain('cannot send notifications/roots/list_changed');
      await waitFor(() => upstream.state === 'down', 'the failed probe to count as a drop');
    } finally {
      await upstream.close();
      await flaky.close();
    }
  });
});

describe('restarting an upstream', () => {
  it.each([
    { healthyAfterMs: 0, after: 'starts the waits over' },
    { healthyAfterMs: 600_000, after: 'goes on with the waits' },
  ])(
    'takes its waits from the restart policy; a drop after healthyAfterMs $healthyAfterMs $after',
    async ({ healthyAfterMs }) => {
      // Each wait handed out, by its position in the sequence (1 = the first wait after a start over).
      const waits: number[] = [];
      const step = (n: number): IBackoff<unknown> => ({
        duration: 5,
        next: () => {
          waits.push(n + 1);
          return step(n + 1);
        },
      });
      const backoff = {
        next: () => {
          waits.push(1);
          return step(1);
        },
      };
      const flaky = await flakyUpstream(true);
      const { url } = flaky;
      const upstream = new UpstreamConnection(
        { kind: 'http', name: 'flaky', url, headers: {} },
        { clientInfo: { name: 't', version: '1' }, capabilities: {} },
        { notification: () => {}, request: async () => ({}), reconnected: () => {}, log: () => {} },
        { restart: { backoff, healthyAfterMs } },
      );
      try {
        expect(await upstream.start()).toBe(false);
        await waitFor(() => waits.length >= 3, 'three refused attempts');
        flaky.broken = false;
        await waitFor(() => upstream.state === 'up', 'the upstream to come up');
        // Refusals never start the waits over: one sequence until the connection was up.
        const upAt = waits.length;
        expect(waits).toEqual(Array.from({ length: upAt }, (_, i) => i + 1));
        flaky.broken = true;
        await upstream.notify('notifications/roots/list_changed');
        await waitFor(() => waits.length >= upAt + 2, 'two waits after the drop');
        expect(waits.slice(upAt, upAt + 2)).toEqual(healthyAfterMs === 0 ? [1, 2] : [upAt + 1, upAt + 2]);
      } finally {
        await upstream.close();
        await flaky.close();
      }
    },
  );
});

/** A real SDK server over Streamable HTTP on a free port that answers 502 while `broken` is set. */
async function flakyUpstream(
  broken: boolean,
): Promise<{ url: string; broken: boolean; close(): Promise<void> }> {
  const server = new Server({ name: 'flaky', version: '1' }, { capabilities: { tools: {} } });
  const transport = new WebStandardStreamableHTTPServerTransport({
    sessionIdGenerator: () => crypto.randomUUID(),
  });
  await server.connect(transport);
  const app = new Hono();
  let listener: ReturnType<typeof serve> | undefined;
  const url = await new Promise<string>((resolve) => {
    listener = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, (info: AddressInfo) =>
      resolve(`http://127.0.0.1:${info.port}/mcp`),
    );
  });
  const flaky = {
    url,
    broken,
    close: () =>
      new Promise<void>((resolve) => {
        listener?.close(() => resolve());
        if (listener && 'closeAllConnections' in listener) listener.closeAllConnections();
      }),
  };
  app.all('/mcp', (c) =>
    flaky.broken ? new Response('down', { status: 502 }) : transport.handleRequest(c.req.raw),
  );
  return flaky;
}
