// The real CLI in stdio mode (`portcullis --policy P -- COMMAND`), spawned as a child process like a desktop client does.

import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtFile } from '../helpers/built.js';
import { EVERYTHING, FIXTURE } from '../helpers/peers.js';
import { tempDir } from '../helpers/temp.js';
import { waitFor } from '../helpers/wait.js';

/** The CLI as a desktop client starts it: a process of its own, here on plain node. */
const CLI = builtFile('src/cli.ts');
let dir: string;
let policy: string;

beforeAll(async () => {
  dir = tempDir().dir;
  policy = path.join(dir, 'policy.yml');
  await writeFile(
    policy,
    `version: 2
default: deny
rules:
  - { id: bot-echo, match: echo, agent: support-bot, decision: allow }
  - { id: sums, match: get-sum, decision: allow }
`,
  );
});

describe('stdio downstream through the CLI', () => {
  let client: Client;
  const stderr: string[] = [];

  beforeAll(async () => {
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [
        CLI,
        '--policy',
        policy,
        '--agent',
        'support-bot',
        '--ui',
        'off',
        '--data-dir',
        path.join(dir, 'data'),
        '--',
        EVERYTHING,
        'stdio',
      ],
      stderr: 'pipe',
      env: process.env as Record<string, string>,
    });
    transport.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk.toString()));
    client = new Client({ name: 'stdio-test', version: '1' });
    await client.connect(transport);
  }, 30_000);

  afterAll(async () => {
    await client?.close();
  });

  it('serves MCP on stdout only, with the upstream names unchanged and --agent as the identity', async () => {
    const names = (await client.listTools()).tools.map((t) => t.name);
    expect(names).toEqual(expect.arrayContaining(['echo', 'get-sum']));
    const echo = await client.callTool({ name: 'echo', arguments: { message: 'over stdio' } });
    expect(echo.content).toEqual([{ type: 'text', text: 'Echo: over stdio' }]);
    const records = (await readFile(path.join(dir, 'data', 'audit', 'audit-000001.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    // `-- .../mcp-server-everything stdio` is named after the program.
    expect(records.find((r) => r.event === 'upstream')).toMatchObject({
      action: 'started',
      server: 'mcp-server-everything',
    });
    expect(records.find((r) => r.event === 'decision')).toMatchObject({
      agent: 'support-bot',
      server: 'mcp-server-everything',
      rule: 'bot-echo',
    });
    expect(stderr.join('')).toContain('portcullis: policy');
  });
});

describe('malformed input on stdin', () => {
  let child: ChildProcessWithoutNullStreams;
  const lines: Record<string, unknown>[] = [];

  beforeAll(() => {
    child = spawn(
      process.execPath,
      [CLI, '--policy', policy, '--ui', 'off', '--data-dir', path.join(dir, 'data2'), '--', 'node', FIXTURE],
      {
        stdio: ['pipe', 'pipe', 'pipe'],
      },
    );
    createInterface({ input: child.stdout }).on('line', (line) => lines.push(JSON.parse(line)));
  });

  afterAll(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  });

  it('answers a line that is not JSON with a parse error and keeps serving', async () => {
    child.stdin.write('{this is not json\n');
    await waitFor(
      () => lines.find((l) => (l.error as { code?: number } | undefined)?.code === -32700),
      'a parse error',
      20_000,
    );
    child.stdin.write(
      `${JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } })}\n`,
    );
    const init = await waitFor(() => lines.find((l) => l.id === 1), 'the initialize result', 20_000);
    expect(init).toMatchObject({ result: { serverInfo: { name: 'fixture' } } });
  });

  it('exits when the client closes stdin', async () => {
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.stdin.end();
    expect(await exited).toBe(0);
  });
});

describe('stdout in stdio mode', () => {
  it('carries only MCP messages: the upstream child noise and the UI sign-in line go to stderr', async () => {
    const child = spawn(
      process.execPath,
      [CLI, '--policy', policy, '--ui', '0', '--data-dir', path.join(dir, 'data3'), '--', 'node', FIXTURE],
      { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, FIXTURE_NOISE: '1' } },
    );
    const stdout: string[] = [];
    let stderr = '';
    createInterface({ input: child.stdout }).on('line', (line) => stdout.push(line));
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const send = (message: Record<string, unknown>) =>
      child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', ...message })}\n`);
    const answer = (id: number) =>
      waitFor(() => stdout.find((line) => line.includes(`"id":${id}`)), `the answer to ${id}`, 20_000);
    try {
      send({
        id: 1,
        method: 'initialize',
        params: {
          protocolVersion: '2025-11-25',
          capabilities: {},
          clientInfo: { name: 'raw', version: '1' },
        },
      });
      await answer(1);
      send({ method: 'notifications/initialized' });
      send({ id: 2, method: 'tools/list' });
      await answer(2);
      send({ id: 3, method: 'tools/call', params: { name: 'get-sum', arguments: { a: 1, b: 2 } } });
      await answer(3);
      await waitFor(
        () => stderr.includes('sign in at') && stderr.includes('fixture noise on stderr'),
        'the sign-in line and the child stderr on stderr',
        20_000,
      );
      await waitFor(
        () => /upstream fixture-server: .*JSON/.test(stderr),
        'the stdout noise of the child reported on stderr',
      );
      child.stdin.end();
      expect(await exited).toBe(0);
      expect(stdout.length).toBeGreaterThanOrEqual(3);
      for (const line of stdout) expect(JSON.parse(line), line).toMatchObject({ jsonrpc: '2.0' });
      expect(stdout.join('\n')).not.toMatch(/noise|sign in|portcullis:/);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    }
  }, 40_000);
});
