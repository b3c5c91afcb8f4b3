// Stdio upstreams are started once per agent and shared by its sessions; per_session and shared choose otherwise; idle ones stop.

import { createHash } from 'node:crypto';
import path from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  CreateMessageRequestSchema,
  LoggingMessageNotificationSchema,
  ResourceUpdatedNotificationSchema,
  ToolListChangedNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it } from 'vitest';
import { fixtureLog, resultText } from '../helpers/fixture-log.js';
import { FIXTURE } from '../helpers/peers.js';
import { httpClient, startHttpProxy, type TestProxy } from '../helpers/proxy.js';
import { tempDir } from '../helpers/temp.js';
import { waitFor } from '../helpers/wait.js';

const sha = (key: string) => createHash('sha256').update(key).digest('hex');
const as = (agent: string) => ({ headers: { Authorization: `Bearer ${agent}-key` } });

let proxy: TestProxy | undefined;
const clients: Client[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close().catch(() => {})));
  await proxy?.close();
  proxy = undefined;
});

/**
 * A proxy with one stdio fixture upstream `fx` (its `servers:` entry gets `extra`, its environment
 * `env` besides FIXTURE_LOG) and agents alpha and beta.
 */
async function start(extra: string, top = '', env: Record<string, string> = {}): Promise<{ log: string }> {
  const log = path.join(tempDir('portcullis-shared-').dir, 'fixture.jsonl');
  proxy = await startHttpProxy({
    policy: `version: 2
servers:
  fx:
    command: node
    args: [${JSON.stringify(FIXTURE)}]
    env: ${JSON.stringify({ FIXTURE_LOG: log, ...env })}
${extra
  .split('\n')
  .filter(Boolean)
  .map((line) => `    ${line}`)
  .join('\n')}
${top}
agents:
  - { id: alpha, key_sha256: "${sha('alpha-key')}", trust: low }
  - { id: beta, key_sha256: "${sha('beta-key')}", trust: low }
rules:
  - { id: all, match: "*", decision: allow }
`,
  });
  return { log };
}

async function connect(agent: string, capabilities = {}): Promise<Client> {
  const client = await httpClient((proxy as TestProxy).url, { ...as(agent), capabilities });
  clients.push(client);
  return client;
}

/** The pid of the fixture child that answered: the echo is recorded with it, the last entry. */
async function pidOf(client: Client, log: string): Promise<number> {
  const marker = Math.random().toString(36).slice(2);
  await client.callTool({ name: 'echo', arguments: { marker } });
  const entry = (await fixtureLog(log)).find((e) => e.method === 'tools/call' && e.args?.marker === marker);
  if (!entry) throw new Error('the echo was not recorded');
  return entry.pid;
}

async function startedPids(log: string): Promise<Set<number>> {
  return new Set((await fixtureLog(log)).filter((e) => e.event === 'started').map((e) => e.pid));
}

/** Ends the HTTP session (DELETE), as a client that is done does; a bare close leaves it to the idle timeout. */
async function end(client: Client): Promise<void> {
  await (client.transport as StreamableHTTPClientTransport).terminateSession();
  await client.close();
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('upstreams shared per agent (the default for stdio)', () => {
  it('gives the sessions of one agent one child, and another agent its own', async () => {
    const { log } = await start('');
    const alpha = await Promise.all([connect('alpha'), connect('alpha'), connect('alpha')]);
    const beta = await connect('beta');
    const alphaPids = new Set(await Promise.all(alpha.map((c) => pidOf(c, log))));
    const betaPid = await pidOf(beta, log);
    expect(alphaPids.size).toBe(1);
    expect(alphaPids.has(betaPid)).toBe(false);
    expect((await startedPids(log)).size).toBe(2);
  });

  it('per_session starts a child for every session, as before', async () => {
    const { log } = await start('share: per_session');
    const [a, b] = await Promise.all([connect('alpha'), connect('alpha')]);
    expect(await pidOf(a, log)).not.toBe(await pidOf(b, log));
    expect((await startedPids(log)).size).toBe(2);
  });

  it('shared gives every agent the same child', async () => {
    const { log } = await start('share: shared');
    const [a, b] = await Promise.all([connect('alpha'), connect('beta')]);
    expect(await pidOf(a, log)).toBe(await pidOf(b, log));
    expect((await startedPids(log)).size).toBe(1);
  });

  it('keeps clients that declare different capabilities apart (the upstream is initialized once)', async () => {
    const { log } = await start('');
    const plain = await connect('alpha');
    const sampling = await connect('alpha', { sampling: {} });
    expect(await pidOf(plain, log)).not.toBe(await pidOf(sampling, log));
  });

  it("sends a sampling request to the session whose call is in flight, not to the other sharer's client", async () => {
    const { log } = await start('');
    const asked: string[] = [];
    const answering = (who: string) => async () => {
      asked.push(who);
      return { model: 'test', role: 'assistant' as const, content: { type: 'text' as const, text: who } };
    };
    const first = await connect('alpha', { sampling: {} });
    const second = await connect('alpha', { sampling: {} });
    first.setRequestHandler(CreateMessageRequestSchema, answering('first'));
    second.setRequestHandler(CreateMessageRequestSchema, answering('second'));
    expect(await pidOf(first, log)).toBe(await pidOf(second, log));
    // The first session has a call in flight too, started earlier: the request is the later call's.
    const held = first.callTool({ name: 'hold', arguments: { key: 'k' } });
    await waitFor(
      async () => (await fixtureLog(log)).some((e) => e.name === 'hold'),
      'the hold call upstream',
    );
    const answer = await second.callTool({ name: 'ask', arguments: {} });
    expect(resultText(answer)).toBe('answered');
    expect(asked).toEqual(['second']);
    await second.callTool({ name: 'release', arguments: { key: 'k' } });
    expect(resultText(await held)).toBe('released');
    // And the other way round: the first session's own call reaches the first client.
    expect(resultText(await first.callTool({ name: 'ask', arguments: {} }))).toBe('answered');
    expect(asked).toEqual(['second', 'first']);
  });

  it('tells every session sharing the child that its tools changed', async () => {
    const { log } = await start('');
    const sessions = await Promise.all([connect('alpha'), connect('alpha'), connect('alpha')]);
    const told = [0, 0, 0];
    sessions.forEach((client, i) => {
      client.setNotificationHandler(ToolListChangedNotificationSchema, async () => {
        told[i] = (told[i] ?? 0) + 1;
      });
    });
    const pids = new Set(await Promise.all(sessions.map((c) => pidOf(c, log))));
    expect(pids.size).toBe(1);
    await sessions[0]?.callTool({ name: 'rename', arguments: { from: 'echo', to: 'echo2' } });
    await waitFor(() => told.every((n) => n > 0), 'list_changed at every sharer');
    const names = (await sessions[2]?.listTools())?.tools.map((t) => t.name) ?? [];
    expect(names).toContain('echo2');
  });
});

describe('idle upstreams', () => {
  it('stops the child once its sessions are gone for idle_stop, and starts it again for the next session', async () => {
    const { log } = await start('idle_stop: 300ms');
    const first = await connect('alpha');
    const pid = await pidOf(first, log);
    const second = await connect('alpha');
    await end(first);
    // Another session still uses it: it keeps running past the idle time.
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(alive(pid)).toBe(true);
    expect(await pidOf(second, log)).toBe(pid);
    await end(second);
    await waitFor(() => !alive(pid), 'the idle child to stop');
    const again = await connect('alpha');
    const restarted = await pidOf(again, log);
    expect(restarted).not.toBe(pid);
    expect(alive(restarted)).toBe(true);
  });

  it('32 sessions opened and closed leave no child after the idle time, and started at most one', async () => {
    const { log } = await start('idle_stop: 300ms', 'sessions: { max_per_agent: 40 }');
    const sessions = await Promise.all(Array.from({ length: 32 }, () => connect('alpha')));
    const pids = new Set(await Promise.all(sessions.map((c) => pidOf(c, log))));
    expect(pids.size).toBe(1);
    await Promise.all(sessions.map(end));
    const started = await startedPids(log);
    expect(started.size).toBe(1);
    await waitFor(() => [...started].every((p) => !alive(p)), 'every child to stop');
  });

  it('keeps a child for the default idle time (not stopped the moment its last session goes)', async () => {
    const { log } = await start('');
    const only = await connect('alpha');
    const pid = await pidOf(only, log);
    await end(only);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(alive(pid)).toBe(true);
    // A new session of the same agent reuses it: no new start.
    expect(await pidOf(await connect('alpha'), log)).toBe(pid);
    expect((await startedPids(log)).size).toBe(1);
  });
});

describe('logging on a shared upstream', () => {
  it('goes only to the session whose call is running, not to the other sessions sharing the child', async () => {
    const { log } = await start('', '', { FIXTURE_LOGGING: '1' });
    const caller = await connect('alpha');
    const other = await connect('alpha');
    expect(await pidOf(caller, log)).toBe(await pidOf(other, log));
    const heard = { caller: [] as unknown[], other: [] as unknown[] };
    caller.setNotificationHandler(
      LoggingMessageNotificationSchema,
      (n) => void heard.caller.push(n.params.data),
    );
    other.setNotificationHandler(
      LoggingMessageNotificationSchema,
      (n) => void heard.other.push(n.params.data),
    );
    await other.setLoggingLevel('debug');
    expect(resultText(await caller.callTool({ name: 'say', arguments: { message: 'for the caller' } }))).toBe(
      'said',
    );
    await waitFor(() => heard.caller.length > 0, 'the log line at the caller');
    // Give a wrongly fanned-out copy time to arrive at the other session before looking.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(heard).toEqual({ caller: ['for the caller'], other: [] });
  });
});

describe('resource updates on a shared upstream', () => {
  it('reach only the sessions that subscribed, and an unsubscribe stays local while another sharer wants the URI', async () => {
    const { log } = await start('', '', { FIXTURE_RESOURCES: 'note://a,note://b' });
    const first = await connect('alpha');
    const second = await connect('alpha');
    const third = await connect('alpha');
    expect(new Set([await pidOf(first, log), await pidOf(second, log), await pidOf(third, log)]).size).toBe(
      1,
    );
    const heard = new Map<Client, string[]>([first, second, third].map((c) => [c, []]));
    for (const [client, uris] of heard)
      client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => void uris.push(n.params.uri));
    await first.subscribeResource({ uri: 'note://a' });
    await second.subscribeResource({ uri: 'note://a' });
    await third.subscribeResource({ uri: 'note://b' });

    await first.callTool({ name: 'touch', arguments: { uri: 'note://a' } });
    await waitFor(() => (heard.get(second)?.length ?? 0) > 0, 'the update at the second subscriber');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect([heard.get(first), heard.get(second), heard.get(third)]).toEqual([['note://a'], ['note://a'], []]);

    // The second still wants note://a: the first's unsubscribe must not reach the shared upstream.
    await first.unsubscribeResource({ uri: 'note://a' });
    const unsubscribes = async () =>
      (await fixtureLog(log)).filter((e) => e.method === 'resources/unsubscribe').map((e) => e.uri);
    expect(await unsubscribes()).toEqual([]);
    await first.callTool({ name: 'touch', arguments: { uri: 'note://a' } });
    await waitFor(() => (heard.get(second)?.length ?? 0) > 1, 'the second update at the second subscriber');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(heard.get(first)).toEqual(['note://a']);
    // The last one interested lets go: now the upstream hears it.
    await second.unsubscribeResource({ uri: 'note://a' });
    await waitFor(async () => (await unsubscribes()).length === 1, 'the unsubscribe upstream');
    expect(await unsubscribes()).toEqual(['note://a']);
  });
});
