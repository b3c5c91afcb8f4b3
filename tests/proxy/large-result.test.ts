// An oversized message from a stdio upstream fails that one call (or is dropped); the connection and the other calls live on.

import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LineReader, type OversizedLine } from '../../src/proxy/line-reader.js';
import { StdioUpstreamTransport } from '../../src/proxy/stdio-upstream.js';
import { fixtureLog, resultText } from '../helpers/fixture-log.js';
import { type FixtureProxy, httpClient, startFixtureProxy } from '../helpers/proxy.js';
import { waitFor } from '../helpers/wait.js';

const MiB = 1024 * 1024;
const pattern = (bytes: number) => '0123456789abcdef'.repeat(Math.ceil(bytes / 16)).slice(0, bytes);

describe('a stdio upstream that answers with more than the limit', () => {
  let proxy: FixtureProxy;
  let client: Client;
  let log: string;

  beforeAll(async () => {
    proxy = await startFixtureProxy({
      policy: 'version: 2\ndefault: deny\nrules:\n  - { id: all, match: "*", decision: allow }\n',
    });
    log = proxy.fixtureLog;
    client = await httpClient(proxy.url);
  });

  afterAll(async () => {
    await client?.close();
    await proxy?.close();
  });

  const started = async () => (await fixtureLog(log)).filter((e) => e.event === 'started').map((e) => e.pid);

  it('fails only that call with a clear error while a concurrent call on the same upstream completes', async () => {
    const held = client.callTool({ name: 'hold', arguments: { key: 'k1' } });
    await waitFor(
      async () => (await fixtureLog(log)).some((e) => e.name === 'hold'),
      'the held call to arrive',
    );
    await expect(client.callTool({ name: 'big', arguments: { bytes: 12 * MiB } })).rejects.toMatchObject({
      code: -32603,
      message: expect.stringContaining("upstream result is larger than the proxy's limit of 10 MiB"),
    });
    const release = await client.callTool({ name: 'release', arguments: { key: 'k1' } });
    expect(resultText(release)).toBe('released');
    expect(resultText(await held)).toBe('released');
    // Same child, never restarted, and the log says what happened.
    expect(await started()).toHaveLength(1);
    expect(proxy.logs.some((l) => l.includes('disconnected'))).toBe(false);
    expect(proxy.logs.some((l) => l.includes("larger than the proxy's limit"))).toBe(true);
  });

  it('returns a 9 MiB result whole', async () => {
    const result = await client.callTool({ name: 'big', arguments: { bytes: 9 * MiB } });
    const text = resultText(result);
    expect(text.length).toBe(9 * MiB);
    expect(text === pattern(9 * MiB)).toBe(true);
  });

  it('drops an oversized line that names no request and keeps serving', async () => {
    const result = await client.callTool({ name: 'bignoise', arguments: { bytes: 11 * MiB } });
    expect(resultText(result)).toBe('done');
    expect(proxy.logs.some((l) => l.includes('dropped a line without a request id'))).toBe(true);
    const echo = await client.callTool({ name: 'echo', arguments: { still: 'up' } });
    expect(echo.content).toEqual([{ type: 'text', text: '{"still":"up"}' }]);
    expect(await started()).toHaveLength(1);
  });
});

describe('the stdio upstream transport', () => {
  it('answers an oversized request from the child with an error for that id and keeps reading', async () => {
    // A child that sends one too-large request, then reports whatever it is sent back as a notification.
    const script = `
      process.stdout.write(JSON.stringify({ jsonrpc: '2.0', id: 'big-1', method: 'sampling/createMessage', params: { text: 'x'.repeat(5000) } }) + '\\n');
      let buffered = '';
      process.stdin.on('data', (chunk) => {
        buffered += chunk;
        const end = buffered.indexOf('\\n');
        if (end === -1) return;
        process.stdout.write(JSON.stringify({ jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data: JSON.parse(buffered.slice(0, end)) } }) + '\\n');
      });`;
    const transport = new StdioUpstreamTransport({
      command: process.execPath,
      args: ['-e', script],
      maxLineBytes: 1000,
    });
    const sent = JSON.stringify({
      jsonrpc: '2.0',
      id: 'big-1',
      method: 'sampling/createMessage',
      params: { text: 'x'.repeat(5000) },
    }).length;
    const messages: JSONRPCMessage[] = [];
    const errors: Error[] = [];
    transport.onmessage = (message) => messages.push(message);
    transport.onerror = (error) => errors.push(error);
    try {
      await transport.start();
      await waitFor(() => messages.length > 0, 'the child to report our answer');
      expect(messages).toEqual([
        {
          jsonrpc: '2.0',
          method: 'notifications/message',
          params: {
            level: 'info',
            data: {
              jsonrpc: '2.0',
              id: 'big-1',
              error: {
                code: -32600,
                message: `request is larger than the proxy's limit of 1000 bytes (${sent} bytes)`,
                data: { limit_bytes: 1000, bytes: sent },
              },
            },
          },
        },
      ]);
      expect(errors.map((e) => (e as { code?: string }).code)).toEqual(['E_MESSAGE_TOO_LARGE']);
    } finally {
      await transport.close();
    }
  });
});

describe('LineReader', () => {
  function read(chunks: (string | Buffer)[], maxLineBytes = 64) {
    const lines: string[] = [];
    const oversized: OversizedLine[] = [];
    const reader = new LineReader({
      maxLineBytes,
      onLine: (line) => lines.push(line),
      onOversized: (line) => oversized.push(line),
    });
    for (const chunk of chunks) reader.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
    return { lines, oversized };
  }
  /** Every split of `text` into 1-byte chunks and into two chunks at each position gives the same answer. */
  function everySplit(text: string, maxLineBytes = 64) {
    const bytes = Buffer.from(text);
    const whole = read([bytes], maxLineBytes);
    expect(
      read(
        [...bytes].map((b) => Buffer.from([b])),
        maxLineBytes,
      ),
    ).toEqual(whole);
    for (let i = 1; i < bytes.length; i++) {
      expect(read([bytes.subarray(0, i), bytes.subarray(i)], maxLineBytes)).toEqual(whole);
    }
    return whole;
  }
  const padding = 'p'.repeat(100);

  it('splits lines, strips CR, skips blank lines, and keeps a line of exactly the limit', () => {
    const exact = `{"a":"${'y'.repeat(64 - 8)}"}`;
    expect(exact).toHaveLength(64);
    expect(everySplit(`{"x":1}\r\n\n{"é":"ü"}\n${exact}\n{"tail":`)).toEqual({
      lines: ['{"x":1}', '{"é":"ü"}', exact],
      oversized: [],
    });
  });

  it('finds the id of an oversized response wherever it is written (SDK: last; others: first)', () => {
    const last = `{"result":{"content":[{"type":"text","text":"${padding}"}]},"jsonrpc":"2.0","id":42}`;
    const first = `{"jsonrpc":"2.0","id":"req-\\"7\\"","result":{"text":"${padding}","id":99}}`;
    const error = `{"jsonrpc":"2.0","error":{"code":1,"message":"${padding}"}, "id" : -3 }`;
    // Brackets inside nested strings must not end the payload early.
    const tricky = `{"result":{"a":["}]",{"b":"]}\\\\"},[[1,2],{"c":[]}]],"t":"${padding}"},"id":11}`;
    expect(JSON.parse(tricky).id).toBe(11);
    expect(everySplit(`${last}\n${first}\n${error}\n${tricky}\n{"ok":true}\n`).oversized).toEqual([
      { bytes: Buffer.byteLength(last), id: 42, kind: 'response' },
      { bytes: Buffer.byteLength(first), id: 'req-"7"', kind: 'response' },
      { bytes: Buffer.byteLength(error), id: -3, kind: 'response' },
      { bytes: Buffer.byteLength(tricky), id: 11, kind: 'response' },
    ]);
  });

  it('ignores ids nested in the payload or inside strings, and tells requests and notifications apart', () => {
    const nestedOnly = `{"jsonrpc":"2.0","result":{"id":5,"text":"\\"id\\":6 ${padding}"}}`;
    const request = `{"jsonrpc":"2.0","id":8,"method":"sampling/createMessage","params":{"t":"${padding}"}}`;
    const notification = `{"jsonrpc":"2.0","method":"notifications/message","params":{"data":"${padding}"}}`;
    const escapedKey = `{"\\u0069d":9,"result":"${padding}"}`;
    expect(everySplit(`${nestedOnly}\n${request}\n${notification}\n${escapedKey}\n`).oversized).toEqual([
      { bytes: Buffer.byteLength(nestedOnly), id: undefined, kind: 'unknown' },
      { bytes: Buffer.byteLength(request), id: 8, kind: 'request' },
      { bytes: Buffer.byteLength(notification), id: undefined, kind: 'notification' },
      { bytes: Buffer.byteLength(escapedKey), id: 9, kind: 'response' },
    ]);
  });

  it('trusts no id from a line that is not one well-formed object', () => {
    const cases = [
      `not json at all ${padding}`,
      `{"id":1,"result":"${padding}"`,
      `{"id":1,"result":"${padding}"} trailing`,
      `[{"id":1,"result":"${padding}"}]`,
      `{"id":{"x":1},"result":"${padding}"}`,
      `{"id":1,"id":null,"result":"${padding}"}`,
    ];
    const { oversized } = everySplit(`${cases.join('\n')}\n`);
    expect(oversized.map((o) => o.id)).toEqual(cases.map(() => undefined));
  });

  it('keeps memory bounded: a huge line is never held whole', () => {
    const reader = new LineReader({ maxLineBytes: 1024, onLine: () => {}, onOversized: () => {} });
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    reader.push(Buffer.from('{"result":"'));
    for (let i = 0; i < 64; i++) reader.push(chunk);
    const state = reader as unknown as { pending: Buffer[]; pendingBytes: number };
    expect(state.pending).toEqual([]);
    expect(state.pendingBytes).toBe(0);
  });
});
