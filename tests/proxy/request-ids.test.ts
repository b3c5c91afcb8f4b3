// A JSON-RPC id reused while its request is in progress is refused, and nothing runs twice.

import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtureLog } from '../helpers/fixture-log.js';
import { type FixtureProxy, startFixtureProxy } from '../helpers/proxy.js';
import { INIT, openSession, post, postOpen } from '../helpers/raw-http.js';
import { runStdioProxy, type StdioProxy } from '../helpers/stdio-proxy.js';
import { tempDir } from '../helpers/temp.js';
import { waitFor } from '../helpers/wait.js';

const POLICY = `version: 2
default: deny
rules:
  - { id: all, match: "*", decision: allow }
`;

let proxy: FixtureProxy;
let log: string;

async function received() {
  return (await fixtureLog(log)).filter((e) => e.method === 'tools/call');
}

beforeAll(async () => {
  proxy = await startFixtureProxy({ policy: POLICY, upstream: 'in-process' });
  log = proxy.fixtureLog;
});
afterAll(async () => {
  await proxy?.close();
});

const call = (id: string | number, name: string, args: Record<string, unknown> = {}) => ({
  jsonrpc: '2.0',
  id,
  method: 'tools/call',
  params: { name, arguments: args },
});

describe('request ids over HTTP', () => {
  it('refuses a request reusing the id of one in progress and runs nothing for it; the id is free once the first ends', async () => {
    const session = await openSession(proxy.url);
    const first = postOpen(proxy.url, session, call(5, 'hang'));
    await waitFor(async () => (await received()).some((e) => e.name === 'hang'), 'the first call upstream');

    const second = await post(proxy.url, session, call(5, 'echo', { second: true }));
    expect(second.status).toBe(400);
    expect(second.messages[0]).toMatchObject({
      id: 5,
      error: { code: -32600, message: expect.stringContaining('already used by a request in progress') },
    });
    // The same id inside one batch, and the other type of id with the same digits, are told apart.
    const batch = await post(proxy.url, session, [call(6, 'echo'), call(6, 'echo')]);
    expect(batch.status).toBe(400);
    const text = await post(proxy.url, session, call('5', 'echo', { text: 'id' }));
    expect(text.messages[0]).toMatchObject({ id: '5', result: { content: [{ text: '{"text":"id"}' }] } });
    expect((await received()).filter((e) => e.name === 'echo')).toHaveLength(1);

    // Cancelling the first frees the id, which then works again.
    await post(proxy.url, session, {
      jsonrpc: '2.0',
      method: 'notifications/cancelled',
      params: { requestId: 5, reason: 'done waiting' },
    });
    await waitFor(async () => {
      const again = await post(proxy.url, session, call(5, 'echo', { again: true }));
      return again.status === 200 && JSON.stringify(again.messages).includes('again');
    }, 'the id to be usable again');
    first.req.destroy();
  });

  it('answers two requests with one id sent one after the other, each once', async () => {
    const session = await openSession(proxy.url);
    const before = (await received()).length;
    for (const round of [1, 2]) {
      const answered = await post(proxy.url, session, call(9, 'echo', { round }));
      expect(answered.messages[0]).toMatchObject({
        id: 9,
        result: { content: [{ text: `{"round":${round}}` }] },
      });
    }
    expect((await received()).length).toBe(before + 2);
  });

  it('keeps the answer of each concurrent request on its own stream', async () => {
    const session = await openSession(proxy.url);
    await post(proxy.url, session, { jsonrpc: '2.0', id: 19, method: 'tools/list' });
    const answers = await Promise.all(
      [20, 21, 22, 23].map((id) => post(proxy.url, session, call(id, 'echo', { id }))),
    );
    for (const [i, answer] of answers.entries()) {
      const id = 20 + i;
      expect(answer.messages).toEqual([expect.objectContaining({ id, result: expect.anything() })]);
      expect(JSON.stringify(answer.messages)).toContain(`{\\"id\\":${id}}`);
    }
  });
});

describe('request ids and lines that are not messages over stdio', () => {
  // The proxy in this process through runProxy's streams: the test is about what crosses the pipe.
  let child: StdioProxy;
  const lines: Record<string, unknown>[] = [];
  let stdioLog: string;

  beforeAll(async () => {
    const dir = tempDir().dir;
    stdioLog = path.join(dir, 'fixture.jsonl');
    await writeFile(path.join(dir, 'policy.yml'), POLICY);
    child = runStdioProxy({ dir, fixtureLog: stdioLog });
    createInterface({ input: child.stdout }).on('line', (line) => lines.push(JSON.parse(line)));
    child.stderr.resume();
    send({ ...INIT });
    await waitFor(() => lines.some((m) => m.id === 0), 'the initialize answer', 20_000);
    send({ jsonrpc: '2.0', method: 'notifications/initialized' });
  });
  afterAll(async () => {
    child?.stdin.end();
    await child?.exited;
  });

  const send = (message: unknown) => child.stdin.write(`${JSON.stringify(message)}\n`);
  const answer = (id: unknown) =>
    waitFor(() => lines.find((m) => m.id === id), `the answer to ${String(id)}`);

  it('refuses a reused id while the first request runs, and runs nothing for it', async () => {
    send(call(5, 'hang'));
    await waitFor(async () => {
      const text = existsSync(stdioLog) ? await readFile(stdioLog, 'utf8') : '';
      return text.includes('"name":"hang"');
    }, 'the first call upstream');
    send(call(5, 'echo', { second: true }));
    expect(await answer(5)).toMatchObject({
      error: { code: -32600, message: expect.stringContaining('in progress') },
    });
    send({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 5 } });
    send(call(6, 'echo', { after: true }));
    expect(await answer(6)).toMatchObject({ result: { content: [{ text: '{"after":true}' }] } });
    const text = await readFile(stdioLog, 'utf8');
    expect(text).not.toContain('"second":true');
  });

  it('answers a batch, a line that is not JSON, a message that is not JSON-RPC and an over-long line, and goes on', async () => {
    const before = lines.length;
    child.stdin.write(`${JSON.stringify([call(10, 'echo'), call(11, 'echo')])}\n`);
    child.stdin.write('{not json\n');
    child.stdin.write(`${JSON.stringify({ jsonrpc: '1.0', id: 12, method: 'tools/list' })}\n`);
    child.stdin.write(`${JSON.stringify(call(13, 'echo', { pad: 'x'.repeat(5 * 1024 * 1024) }))}\n`);
    await waitFor(() => lines.length >= before + 4, 'four error answers');
    const errors = lines.slice(before, before + 4);
    expect(errors).toEqual([
      {
        jsonrpc: '2.0',
        id: null,
        error: { code: -32600, message: 'Invalid Request: batches are not supported' },
      },
      { jsonrpc: '2.0', id: null, error: { code: -32700, message: 'Parse error' } },
      {
        jsonrpc: '2.0',
        id: 12,
        error: { code: -32600, message: 'Invalid Request: not a JSON-RPC 2.0 message' },
      },
      {
        jsonrpc: '2.0',
        id: 13,
        error: { code: -32600, message: `Invalid Request: a message is limited to ${4 * 1024 * 1024} bytes` },
      },
    ]);
    send(call(14, 'echo', { still: 'serving' }));
    expect(await answer(14)).toMatchObject({ result: { content: [{ text: '{"still":"serving"}' }] } });
    expect(await readFile(stdioLog, 'utf8')).not.toMatch(/"id":1[0-3]\b|"pad"/);
  });
});
