// A JSON-RPC id reused while its request is in progress is refused, and nothing runs twice.

import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURE } from '../helpers/peers.js';
import { startHttpProxy, type TestProxy, tempDir } from '../helpers/proxy.js';
import { openSession, post, postOpen } from '../helpers/raw-http.js';
import { waitFor } from '../helpers/wait.js';

const POLICY = `version: 2
default: deny
rules:
  - { id: all, match: "*", decision: allow }
`;

let proxy: TestProxy;
let log: string;

async function received(): Promise<Record<string, unknown>[]> {
  if (!existsSync(log)) return [];
  return (await readFile(log, 'utf8'))
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line))
    .filter((e) => e.method === 'tools/call');
}

beforeAll(async () => {
  log = path.join(await tempDir(), 'fixture.jsonl');
  proxy = await startHttpProxy({
    policy: POLICY,
    command: { name: 'fixture', command: 'node', args: [FIXTURE] },
    env: { ...process.env, FIXTURE_LOG: log },
  });
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
