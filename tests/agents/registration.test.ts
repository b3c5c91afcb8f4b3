// Auto-registration of a stdio agent, the file-vs-registry id clash (start and reload), the agents CLI end to end, and touches kept off the hot path.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterEach, describe, expect, it } from 'vitest';
import { AgentRegistry, SqliteAgentStore, TOUCH_EVERY_MS } from '../../src/agents/index.js';
import { startApp } from '../../src/app.js';
import { builtFile } from '../helpers/built.js';
import { cli } from '../helpers/cli.js';
import { FIXTURE } from '../helpers/peers.js';
import { httpClient } from '../helpers/proxy.js';
import { tempDir } from '../helpers/temp.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function scratch(): string {
  const t = tempDir();
  cleanups.push(t.cleanup);
  return t.dir;
}

const POLICY = (extra = '') => `version: 2
default: deny
servers:
  fixture: { command: node, args: [${JSON.stringify(FIXTURE)}] }
${extra}rules:
  - { id: trusted-echo, match: echo, trust_at_least: medium, decision: allow }
`;

/** A whole key: pcl_ and 43 base64url characters (32 bytes). */
const KEY = /pcl_[A-Za-z0-9_-]{43}/;

type Listed = { id: string; source: string; trust: string; keys: unknown[]; last_seen: string | null };

async function listed(dataDir: string, ...more: string[]): Promise<Listed[]> {
  const out = await cli('agents', 'list', '--json', '--data-dir', dataDir, ...more);
  expect(out.code, out.stderr).toBe(0);
  return JSON.parse(out.stdout) as Listed[];
}

describe('auto-registration', () => {
  it('records a stdio agent first seen at low trust, and its trust is the registry’s from then on', async () => {
    const dir = scratch();
    const policyFile = path.join(dir, 'policy.yml');
    await writeFile(policyFile, POLICY());
    const dataDir = path.join(dir, 'data');
    const connect = async () => {
      const client = new Client({ name: 'desk', version: '1.0.0' });
      await client.connect(
        new StdioClientTransport({
          command: process.execPath,
          args: [
            builtFile('src/cli.ts'),
            '--policy',
            policyFile,
            '--agent',
            'desk-bot',
            '--ui',
            'off',
            '--data-dir',
            dataDir,
          ],
          stderr: 'pipe',
        }),
      );
      return client;
    };
    const client = await connect();
    // Low trust: the echo rule (trust_at_least: medium) cannot allow it, so it is not even listed.
    expect((await client.listTools()).tools.map((t) => t.name)).not.toContain('echo');
    await client.close();
    const [agent] = await listed(dataDir);
    expect(agent).toMatchObject({ id: 'desk-bot', source: 'auto', trust: 'low', keys: [] });
    expect(agent?.last_seen).not.toBeNull();

    const raised = await cli('agents', 'set-trust', 'desk-bot', 'medium', '--data-dir', dataDir);
    expect(raised.code, raised.stderr).toBe(0);
    expect(raised.stdout).toContain('low -> medium');
    const again = await connect();
    const result = await again.callTool({ name: 'echo', arguments: { hi: 1 } });
    expect(result.isError).not.toBe(true);
    await again.close();
  });

  it('registers at the policy’s default_trust', async () => {
    const dir = scratch();
    const policyFile = path.join(dir, 'policy.yml');
    await writeFile(policyFile, POLICY('default_trust: medium\n'));
    const dataDir = path.join(dir, 'data');
    const app = await startApp({
      policyFile,
      ui: 'off',
      dataDir,
      agent: 'anon',
      http: { host: '127.0.0.1', port: 0 },
      log: () => {},
    });
    cleanups.push(() => app.close());
    const client = await httpClient(app.url as string);
    cleanups.push(() => client.close());
    expect((await client.listTools()).tools.map((t) => t.name)).toContain('echo');
    const agents = await listed(dataDir);
    expect(agents.find((a) => a.id === 'anon')).toMatchObject({ source: 'auto', trust: 'medium' });
  });
});

describe('a registry agent and a file agent with the same id', () => {
  it('refuses to start, refuses a reload that declares it, and refuses agents add of a file id', async () => {
    const dir = scratch();
    const dataDir = path.join(dir, 'data');
    const added = await cli('agents', 'add', 'bot', '--data-dir', dataDir);
    expect(added.code, added.stderr).toBe(0);
    const policyFile = path.join(dir, 'policy.yml');
    await writeFile(policyFile, POLICY('agents:\n  - { id: bot, trust: admin }\n'));
    const options = {
      policyFile,
      ui: 'off' as const,
      dataDir,
      agent: 'anon',
      http: { host: '127.0.0.1', port: 0 },
      log: () => {},
    };
    await expect(startApp(options)).rejects.toThrow(
      /agent bot is declared in the policy's agents: and also in the agent registry/,
    );

    await writeFile(policyFile, POLICY('agents:\n  - { id: other, trust: admin }\n'));
    const logs: string[] = [];
    const app = await startApp({ ...options, log: (line) => logs.push(line) });
    cleanups.push(() => app.close());
    const before = app.policy.current.sha256;
    await writeFile(policyFile, POLICY('agents:\n  - { id: bot, trust: admin }\n'));
    await app.policy.reload();
    expect(app.policy.current.sha256).toBe(before);
    expect(logs.join('\n')).toMatch(/policy reload refused[\s\S]*agent bot is declared/);

    // The CLI, given the policy, refuses the file's id (and without it would not know it).
    const other = path.join(dir, 'other.yml');
    await writeFile(other, POLICY('agents:\n  - { id: other, trust: admin }\n'));
    const clash = await cli('agents', 'add', 'other', '--data-dir', dataDir, '--policy', other);
    expect(clash.code).toBe(2);
    expect(clash.stderr).toContain('declared in the policy file');
    const readOnly = await cli(
      'agents',
      'set-trust',
      'other',
      'low',
      '--data-dir',
      dataDir,
      '--policy',
      other,
    );
    expect(readOnly.code).toBe(2);
    expect(readOnly.stderr).toContain('read-only');
  });
});

describe('serving on an address other hosts can reach', () => {
  it('counts registry keys: refused with none, served with one, and keyless clients still refused', async () => {
    const dir = scratch();
    const policyFile = path.join(dir, 'policy.yml');
    await writeFile(policyFile, POLICY());
    const dataDir = path.join(dir, 'data');
    const options = {
      policyFile,
      ui: 'off' as const,
      dataDir,
      agent: 'anon',
      http: { host: '0.0.0.0', port: 0 },
      log: () => {},
    };
    await expect(startApp(options)).rejects.toThrow(/refusing to serve MCP anonymously/);
    const added = await cli('agents', 'add', 'remote-bot', '--trust', 'medium', '--data-dir', dataDir);
    const key = KEY.exec(added.stdout)?.[0] as string;
    const app = await startApp(options);
    cleanups.push(() => app.close());
    const url = (app.url as string).replace('0.0.0.0', '127.0.0.1');
    await expect(httpClient(url)).rejects.toThrow(/401|Unauthorized/);
    const client = await httpClient(url, { headers: { authorization: `Bearer ${key}` } });
    cleanups.push(() => client.close());
    expect((await client.listTools()).tools.map((t) => t.name)).toContain('echo');
  });
});

describe('the agents CLI', () => {
  it('adds, lists, shows, rotates, revokes a key, sets trust and removes, each audited', async () => {
    const dataDir = path.join(scratch(), 'data');
    const added = await cli(
      'agents',
      'add',
      'ci-bot',
      '--trust',
      'high',
      '--owner',
      'platform',
      '--env',
      'prod',
      '--data-dir',
      dataDir,
    );
    expect(added.code, added.stderr).toBe(0);
    const first = KEY.exec(added.stdout)?.[0] as string;
    expect(first).toHaveLength(4 + 43);
    expect((await cli('agents', 'add', 'ci-bot', '--data-dir', dataDir)).stderr).toContain('exists already');
    expect((await cli('agents', 'add', 'x', '--trust', 'root', '--data-dir', dataDir)).code).toBe(2);

    const list = await cli('agents', 'list', '--data-dir', dataDir);
    expect(list.stdout).toMatch(/ci-bot {2}registry {2}trust high {2}1 key\(s\)/);
    expect(list.stdout).not.toContain(first);

    const rotated = await cli('agents', 'rotate', 'ci-bot', '--data-dir', dataDir);
    const second = KEY.exec(rotated.stdout)?.[0] as string;
    expect(second).not.toBe(first);
    let show = await cli('agents', 'show', 'ci-bot', '--json', '--data-dir', dataDir);
    const keys = (
      JSON.parse(show.stdout) as { keys: { id: string; prefix: string; revoked_at: string | null }[] }
    ).keys;
    expect(keys.filter((k) => k.revoked_at === null)).toHaveLength(2);
    expect(show.stdout).not.toContain(first.slice(12));

    const oldId = keys.find((k) => first.startsWith(k.prefix))?.id as string;
    expect((await cli('agents', 'revoke', 'ci-bot', '--key', oldId, '--data-dir', dataDir)).code).toBe(0);
    expect((await cli('agents', 'revoke', 'ci-bot', '--key', 'key_nope', '--data-dir', dataDir)).code).toBe(
      2,
    );
    show = await cli('agents', 'show', 'ci-bot', '--data-dir', dataDir);
    expect(show.stdout).toMatch(new RegExp(`${oldId} .* revoked `));

    const third = await cli('agents', 'rotate', 'ci-bot', '--revoke-old', '--data-dir', dataDir);
    expect(third.stdout).toContain('The other keys are revoked.');
    expect((await cli('agents', 'set-trust', 'ci-bot', 'low', '--data-dir', dataDir)).stdout).toContain(
      'high -> low',
    );
    expect((await cli('agents', 'revoke', 'ci-bot', '--data-dir', dataDir)).stdout).toContain('removed');
    expect(await listed(dataDir)).toEqual([]);
    expect((await cli('agents', 'show', 'ci-bot', '--data-dir', dataDir)).code).toBe(2);

    const tail = await cli('audit', 'tail', '-n', '50', '--data-dir', dataDir);
    for (const action of ['added', 'key_added', 'key_revoked', 'trust_changed', 'removed'])
      expect(tail.stdout).toContain(action);
    expect(tail.stdout).not.toContain(first.slice(12));
    expect((await cli('audit', 'verify', '--data-dir', dataDir)).code).toBe(0);
  });
});

describe('last use', () => {
  it('writes last_seen and last_used at most every 30 s, not on every call', async () => {
    const file = path.join(scratch(), 'governance.db');
    const store = new SqliteAgentStore(file);
    let writes = 0;
    const counting = Object.assign(Object.create(store) as SqliteAgentStore, {
      touchAgent: (id: string, at: string) => {
        writes++;
        store.touchAgent(id, at);
      },
      touchKey: (id: string, at: string) => {
        writes++;
        store.touchKey(id, at);
      },
    });
    let now = Date.parse('2026-01-01T00:00:00Z');
    const registry = new AgentRegistry({ store: counting, now: () => now });
    cleanups.push(() => registry.close());
    const { key } = await registry.add({ id: 'busy' }, 'test');
    const { sha256Key } = await import('../../src/agents/index.js');
    for (let i = 0; i < 1000; i++) {
      expect(registry.keyAgent(sha256Key(key))).toBe('busy');
      registry.standing('busy');
      now += 10;
    }
    expect(writes).toBe(2);
    now += TOUCH_EVERY_MS;
    registry.keyAgent(sha256Key(key));
    registry.standing('busy');
    expect(writes).toBe(4);
    // What the page shows is the latest use, not the last write.
    expect(registry.get('busy')?.last_seen).toBe(new Date(now).toISOString());
  });
});

describe('the registry as a StandingPart', () => {
  it('answers nothing for file agents (the policy decides) and never stores them; a change that cannot be audited is not made', async () => {
    const store = new SqliteAgentStore(':memory:');
    const failing = { append: () => Promise.reject(new Error('disk full')) };
    const registry = new AgentRegistry({
      store,
      policy: () => ({ agents: [{ id: 'file-bot', trust: 'admin' }], defaultTrust: 'medium' }),
      audit: failing as never,
    });
    cleanups.push(() => registry.close());
    expect(registry.standing('file-bot')).toEqual({});
    expect(store.agents()).toEqual([]);
    expect(registry.get('file-bot')).toMatchObject({ source: 'file', trust: 'admin' });
    // First seen: registered at default_trust even when its audit record fails (it is logged loudly).
    expect(registry.standing('new-bot')).toEqual({ trust: 'medium' });
    await expect(registry.add({ id: 'bot' }, 'test')).rejects.toThrow('disk full');
    await expect(registry.update('new-bot', { trust: 'admin' }, 'test')).rejects.toThrow('disk full');
    expect(store.agents().map((a) => [a.id, a.trust])).toEqual([['new-bot', 'medium']]);
    expect(store.keys()).toEqual([]);
  });
});
