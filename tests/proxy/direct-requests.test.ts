// Requests the proxy sends an upstream without the SDK client's request path: matched by id, cancelled, timed out, failed on close.

import process from 'node:process';
import { afterEach, describe, expect, it } from 'vitest';
import { UpstreamConnection } from '../../src/proxy/index.js';
import { waitFor } from '../helpers/wait.js';

/**
 * A real child on stdio that records every message it reads (as a `got` line on stderr) and answers
 * tools/call by name: `echo` with unknown fields, `array` with a result that is not an object,
 * `fail` with an error carrying data (code -32042 without elicitations), `hold` not at all until `release` (then both, newest first),
 * `progress` with one progress notification before its answer.
 */
const SCRIPT = `
const rl = require('node:readline').createInterface({ input: process.stdin });
const send = (m) => process.stdout.write(JSON.stringify(m) + '\\n');
const held = [];
rl.on('line', (line) => {
  const m = JSON.parse(line);
  process.stderr.write('got ' + line + '\\n');
  if (m.method === 'initialize') return send({ jsonrpc: '2.0', id: m.id, result: { protocolVersion: m.params.protocolVersion, capabilities: { tools: {} }, serverInfo: { name: 'scripted', version: '1' } } });
  if (m.method === 'ping') return send({ jsonrpc: '2.0', id: m.id, result: {} });
  if (m.method !== 'tools/call') return;
  const name = m.params.name;
  if (name === 'echo') return send({ jsonrpc: '2.0', id: m.id, result: { content: [{ type: 'text', text: m.params.arguments.text }], extra: { kept: true }, _meta: { note: 1 } } });
  if (name === 'array') return send({ jsonrpc: '2.0', id: m.id, result: [1, 2] });
  if (name === 'fail') return send({ jsonrpc: '2.0', id: m.id, error: { code: -32042, message: 'no such thing', data: { why: 'test' } } });
  if (name === 'hold') return held.push(m.id);
  if (name === 'release') { for (const id of held.reverse()) send({ jsonrpc: '2.0', id, result: { content: [{ type: 'text', text: 'released ' + id }] } }); held.length = 0; return send({ jsonrpc: '2.0', id: m.id, result: {} }); }
  if (name === 'progress') { send({ jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: m.params._meta.progressToken, progress: 1 } }); return send({ jsonrpc: '2.0', id: m.id, result: { content: [] } }); }
});
`;

interface Recorded {
  id?: unknown;
  method?: string;
  params?: { requestId?: unknown; reason?: string; name?: string; _meta?: { progressToken?: unknown } };
}

const open: UpstreamConnection[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((u) => u.close()));
});

async function scripted(): Promise<{ upstream: UpstreamConnection; got: Recorded[]; logs: string[] }> {
  const got: Recorded[] = [];
  const logs: string[] = [];
  const upstream = new UpstreamConnection(
    {
      kind: 'stdio',
      name: 'scripted',
      command: process.execPath,
      args: ['-e', SCRIPT],
      env: {},
      cwd: process.cwd(),
    },
    { clientInfo: { name: 't', version: '1' }, capabilities: {} },
    {
      notification: () => {},
      request: async () => ({}),
      reconnected: () => {},
      log: (line) => {
        if (line.startsWith('[scripted] got ')) got.push(JSON.parse(line.slice(15)) as Recorded);
        else logs.push(line);
      },
    },
  );
  open.push(upstream);
  expect(await upstream.start()).toBe(true);
  return { upstream, got, logs };
}

const call = (name: string, text = '') => ({ name, arguments: { text } });

describe('requests sent to an upstream directly', () => {
  it('comes back untouched, matched by id when answers arrive out of order, with ids shared with the SDK', async () => {
    const { upstream, got } = await scripted();
    const first = upstream.request('tools/call', call('hold'));
    const second = upstream.request('tools/call', call('hold'));
    // A progress request goes through the SDK client: its id comes from the same counter.
    const viaSdk = upstream.request('tools/call', call('progress'), { onprogress: () => {} });
    await viaSdk;
    await waitFor(
      () => got.filter((m) => m.params?.name === 'hold').length === 2,
      'both held calls upstream',
    );
    await upstream.request('tools/call', call('release'));
    const [a, b] = await Promise.all([first, second]);
    const ids = got.filter((m) => m.method === 'tools/call').map((m) => m.id);
    expect(new Set(ids).size).toBe(ids.length);
    const [holdA, holdB] = got.filter((m) => m.params?.name === 'hold').map((m) => m.id);
    expect(a).toEqual({ content: [{ type: 'text', text: `released ${holdA}` }] });
    expect(b).toEqual({ content: [{ type: 'text', text: `released ${holdB}` }] });
    expect(got.find((m) => m.params?.name === 'progress')?.params?._meta?.progressToken).toBeDefined();
    expect(await upstream.request('tools/call', call('echo', 'hi'))).toEqual({
      content: [{ type: 'text', text: 'hi' }],
      extra: { kept: true },
      _meta: { note: 1 },
    });
  });

  it("turns an error answer into the upstream's code, message and data, and a malformed answer into an error at once", async () => {
    const { upstream } = await scripted();
    await expect(upstream.request('tools/call', call('fail'))).rejects.toMatchObject({
      code: -32042,
      message: 'no such thing',
      data: { why: 'test' },
    });
    await expect(upstream.request('tools/call', call('array'))).rejects.toMatchObject({
      code: -32603,
      message: 'the upstream answered with a malformed JSON-RPC response',
    });
    // The connection goes on.
    expect(await upstream.request('tools/call', call('echo', 'after'))).toMatchObject({
      content: [{ text: 'after' }],
    });
  });

  it('sends notifications/cancelled for an aborted request and a timed-out one, and drops their late answers', async () => {
    const { upstream, got } = await scripted();
    const controller = new AbortController();
    const aborted = upstream.request('tools/call', call('hold'), { signal: controller.signal });
    await waitFor(() => got.some((m) => m.params?.name === 'hold'), 'the held call upstream');
    controller.abort('the client went away');
    await expect(aborted).rejects.toBeDefined();
    const timedOut = upstream.request('tools/call', call('hold'), { timeout: 100 });
    await expect(timedOut).rejects.toMatchObject({ code: -32001, message: 'Request timed out' });
    await waitFor(
      () => got.filter((m) => m.method === 'notifications/cancelled').length === 2,
      'two cancellations',
    );
    // The child records in the order it reads, so both holds are in by now.
    const holds = got.filter((m) => m.params?.name === 'hold').map((m) => m.id);
    const cancelled = got.filter((m) => m.method === 'notifications/cancelled').map((m) => m.params);
    expect(cancelled).toEqual([
      { requestId: holds[0], reason: 'the client went away' },
      { requestId: holds[1], reason: expect.stringContaining('Request timed out') },
    ]);
    // Their answers, when they come, belong to nobody; the next call is still matched right.
    await upstream.request('tools/call', call('release'));
    expect(await upstream.request('tools/call', call('echo', 'next'))).toMatchObject({
      content: [{ text: 'next' }],
    });
    // An already aborted signal sends nothing. The child's record of a message (stderr) can come
    // after its answer (stdout), so wait for the records rather than for the answers.
    await waitFor(() => got.some((m) => m.params?.name === 'echo'), 'the echo call recorded');
    const before = got.length;
    await expect(
      upstream.request('tools/call', call('echo', 'aborted'), { signal: AbortSignal.abort('no') }),
    ).rejects.toMatchObject({ message: 'no' });
    await upstream.request('ping', undefined);
    await waitFor(() => got.slice(before).some((m) => m.method === 'ping'), 'the ping recorded');
    expect(got.slice(before).map((m) => m.method)).toEqual(['ping']);
  });

  it('fails every pending request with -32000 when the upstream exits', async () => {
    const { upstream, got } = await scripted();
    const pending = [1, 2, 3].map(() => upstream.request('tools/call', call('hold')));
    await waitFor(() => got.filter((m) => m.params?.name === 'hold').length === 3, 'three held calls');
    const pid = (upstream as unknown as { transport: { pid: number | null } }).transport.pid;
    expect(pid).toBeGreaterThan(0);
    process.kill(pid as number, 'SIGKILL');
    for (const request of pending) {
      await expect(request).rejects.toMatchObject({
        code: -32000,
        message: expect.stringContaining('disconnected before answering'),
      });
    }
  });
});
