// Every file in policies/ and a copied policy.example.yml, unchanged, through the real proxy in front of its real server.

import { copyFileSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { realpath, rm } from 'node:fs/promises';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, startApp } from '../../src/app.js';
import { DECISION_META_KEY } from '../../src/proxy/index.js';
import { builtFile } from '../helpers/built.js';
import { REPO } from '../helpers/peers.js';
import { httpClient } from '../helpers/proxy.js';
import { tempDir } from '../helpers/temp.js';

type CallResult = Awaited<ReturnType<Client['callTool']>>;

const decisionOf = (result: CallResult): unknown => result._meta?.[DECISION_META_KEY];
const textOf = (result: CallResult): string =>
  (result.content as { type: string; text?: string }[]).map((c) => c.text ?? '').join('\n');

/** A folder for a copied policy, with the repo's node_modules beside it so `npx` finds servers locally (no registry). */
function policyFolder(prefix: string): string {
  const dir = tempDir(prefix).dir;
  symlinkSync(path.join(REPO, 'node_modules'), path.join(dir, 'node_modules'));
  return dir;
}

async function startFrom(
  policyFile: string,
  options: { command?: { name: string; command: string; args: string[] }; env?: NodeJS.ProcessEnv } = {},
): Promise<{ app: App; logs: string[] }> {
  const logs: string[] = [];
  const app = await startApp({
    policyFile,
    http: { host: '127.0.0.1', port: 0 },
    ui: 'off',
    dataDir: path.join(path.dirname(policyFile), 'data'),
    agent: 'anonymous',
    command: options.command,
    env: options.env,
    log: (line) => logs.push(line),
  });
  return { app, logs };
}

it('covers every file in policies/', () => {
  // A new file there needs a run against its server below.
  expect(readdirSync(path.join(REPO, 'policies')).sort()).toEqual([
    'aegismcp-v1.yml',
    'aegismcp-v2.yml',
    'filesystem.yml',
  ]);
});

describe('policies/filesystem.yml as shipped, run on its own (it starts server-filesystem on $HOME/projects)', () => {
  const ENV_MARKER = 'ENV-MARKER-0d6c2f4a-never-returned';
  let app: App;
  let logs: string[];
  let client: Client;
  let home: string;

  beforeAll(async () => {
    const dir = policyFolder('portcullis-shipped-fs-');
    copyFileSync(path.join(REPO, 'policies', 'filesystem.yml'), path.join(dir, 'filesystem.yml'));
    home = await realpath(tempDir('portcullis-home-').dir);
    mkdirSync(path.join(home, 'projects', 'app'), { recursive: true });
    writeFileSync(path.join(home, 'projects', 'app', 'README.md'), 'readme: ordinary project text');
    writeFileSync(path.join(home, 'projects', 'app', '.env'), ENV_MARKER);
    writeFileSync(path.join(home, 'outside.txt'), 'outside the projects folder');
    ({ app, logs } = await startFrom(path.join(dir, 'filesystem.yml'), {
      env: { ...process.env, HOME: home },
    }));
    client = await httpClient(app.url as string);
  }, 60_000);

  afterAll(async () => {
    await client?.close();
    await app?.close();
  });

  it('lists the server’s own tool names, unprefixed: one upstream', async () => {
    const names = (await client.listTools()).tools.map((t) => t.name);
    expect(names).toContain('read_text_file');
    expect(names).toContain('write_file');
    expect(names.some((n) => n.includes('__'))).toBe(false);
    expect(logs.join('\n')).not.toMatch(/is down|not started|both apply/);
  });

  it('reads a project file, denies a secret, holds a change, and denies an unknown tool', async () => {
    const readme = await client.callTool({
      name: 'read_text_file',
      arguments: { path: path.join(home, 'projects', 'app', 'README.md') },
    });
    expect(readme.isError).toBeFalsy();
    expect(textOf(readme)).toContain('readme: ordinary project text');

    const secret = await client.callTool({
      name: 'read_text_file',
      arguments: { path: path.join(home, 'projects', 'app', '.env') },
    });
    expect(secret.isError).toBe(true);
    expect(decisionOf(secret)).toMatchObject({ decision: 'deny', rule: 'no-secrets' });
    expect(JSON.stringify(secret)).not.toContain(ENV_MARKER);

    const write = await client.callTool({
      name: 'write_file',
      arguments: { path: path.join(home, 'projects', 'app', 'notes.md'), content: 'hi' },
    });
    expect(decisionOf(write)).toMatchObject({ decision: 'review', rule: 'changes' });

    const tree = await client.callTool({
      name: 'directory_tree',
      arguments: { path: path.join(home, 'projects', 'app') },
    });
    expect(decisionOf(tree)).toMatchObject({ decision: 'review', rule: 'recursive-listings' });

    const unknown = await client.callTool({ name: 'delete_everything', arguments: {} });
    expect(unknown.isError).toBe(true);
    expect(decisionOf(unknown)).toMatchObject({ decision: 'deny' });
  });

  it('contains calls in the expanded $HOME/projects: a path outside is denied before any rule', async () => {
    for (const outside of [
      path.join(home, 'outside.txt'),
      `${home}/projects/../outside.txt`,
      '/etc/hostname',
    ]) {
      const result = await client.callTool({ name: 'read_text_file', arguments: { path: outside } });
      expect(result.isError).toBe(true);
      expect(decisionOf(result)).toMatchObject({ decision: 'deny', rule: null });
      expect(textOf(result)).toMatch(/containment: argument path /);
      expect(textOf(result)).not.toContain('outside the projects folder');
    }
  });
});

describe('policies/aegismcp-v1.yml and aegismcp-v2.yml, read as they are, in front of the demo payments server', () => {
  for (const file of ['aegismcp-v1.yml', 'aegismcp-v2.yml']) {
    it(`${file}: refunds to $150 and payment links to $250 run, more waits, users.export is denied`, async () => {
      const dir = policyFolder('portcullis-shipped-aegis-');
      copyFileSync(path.join(REPO, 'policies', file), path.join(dir, file));
      const { app } = await startFrom(path.join(dir, file), {
        command: { name: 'payments', command: 'node', args: [builtFile('src/demo/payments-server.ts')] },
      });
      const client = await httpClient(app.url as string);
      try {
        const small = await client.callTool({
          name: 'refunds.refund',
          arguments: { charge_id: 'ch_1', amount_cents: 15000, op: 'refund' },
        });
        expect(small.isError).toBeFalsy();
        expect(small.structuredContent).toMatchObject({ amount_cents: 15000 });
        const large = await client.callTool({
          name: 'refunds.refund',
          arguments: { charge_id: 'ch_1', amount_cents: 15001, op: 'refund' },
        });
        expect(decisionOf(large)).toMatchObject({ decision: 'review' });
        const link = await client.callTool({
          name: 'payment_links.create',
          arguments: { amount_cents: 25000, description: 'invoice 7' },
        });
        expect(link.isError).toBeFalsy();
        const bigLink = await client.callTool({
          name: 'payment_links.create',
          arguments: { amount_cents: 25001, description: 'invoice 8' },
        });
        expect(decisionOf(bigLink)).toMatchObject({ decision: 'review' });
        const exported = await client.callTool({ name: 'users.export', arguments: {} });
        expect(exported.isError).toBe(true);
        expect(decisionOf(exported)).toMatchObject({ decision: 'deny' });
        // `refunds.*` allows only the refund op; anything else goes to a person in both versions.
        const listed = await client.callTool({ name: 'refunds.list', arguments: {} });
        expect(decisionOf(listed)).toMatchObject({ decision: 'review' });
      } finally {
        await client.close();
        await app.close();
      }
    }, 30_000);
  }
});

it('a copied policy.example.yml runs its payments server from the policy’s folder, started from another directory', async () => {
  const dir = policyFolder('portcullis-copied-example-');
  copyFileSync(path.join(REPO, 'policy.example.yml'), path.join(dir, 'policy.yml'));
  // The server where the example names it, relative to the policy file: dist/src/demo/payments-server.js.
  mkdirSync(path.join(dir, 'dist', 'src', 'demo'), { recursive: true });
  copyFileSync(
    builtFile('src/demo/payments-server.ts'),
    path.join(dir, 'dist', 'src', 'demo', 'payments-server.js'),
  );
  const elsewhere = tempDir('portcullis-elsewhere-').dir;
  const client = new Client({ name: 'test-client', version: '1.0.0' }, { capabilities: {} });
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [
      builtFile('src/cli.ts'),
      '--policy',
      path.join(dir, 'policy.yml'),
      '--ui',
      'off',
      '--data-dir',
      path.join(dir, 'data'),
    ],
    cwd: elsewhere,
    stderr: 'pipe',
  });
  let stderr = '';
  transport.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  await client.connect(transport);
  try {
    const small = await client.callTool({
      name: 'refunds.refund',
      arguments: { charge_id: 'ch_1', amount_cents: 12000, op: 'refund' },
    });
    expect(small.isError, textOf(small)).toBeFalsy();
    expect(decisionOf(small)).toBeUndefined();
    expect(small.structuredContent).toMatchObject({ amount_cents: 12000 });
    const exported = await client.callTool({ name: 'users.export', arguments: {} });
    expect(decisionOf(exported)).toMatchObject({ decision: 'deny', rule: 'export-forbidden' });
    expect(stderr).not.toMatch(/is down|not listed/);
  } finally {
    await client.close();
    await rm(elsewhere, { recursive: true, force: true });
  }
}, 30_000);
