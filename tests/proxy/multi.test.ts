// Several upstreams at once (server-everything over stdio and over HTTP, server-filesystem): naming and routing.

import { existsSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EVERYTHING, FILESYSTEM, REPO } from '../helpers/peers.js';
import { startEverythingHttp } from '../helpers/ports.js';
import { httpClient, startHttpProxy, type TestProxy } from '../helpers/proxy.js';
import { tempDir } from '../helpers/temp.js';

let proxy: TestProxy;
let client: Client;
let remote: Awaited<ReturnType<typeof startEverythingHttp>>;
let files: string;
const packageVersion = JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')).version;

beforeAll(async () => {
  remote = await startEverythingHttp(EVERYTHING);
  files = tempDir('portcullis-fs-').dir;
  await mkdir(path.join(files, 'docs'));
  await writeFile(path.join(files, 'docs', 'hello.txt'), 'hello from the filesystem');
  proxy = await startHttpProxy({
    policy: `version: 2
default: deny
servers:
  local: { command: ${JSON.stringify(EVERYTHING)}, args: [stdio] }
  remote: { url: "${remote.url}" }
  fs: { command: ${JSON.stringify(FILESYSTEM)}, args: [${JSON.stringify(files)}] }
rules:
  - { id: echo, match: echo, decision: allow }
  - { id: remote-sum, match: get-sum, server: remote, decision: allow }
  - { id: reads, match: [read_text_file, list_directory, list_allowed_directories], server: fs, decision: allow }
  - { id: writes-in-docs, match: write_file, server: fs, args: { path: { glob: "**/docs/**" } }, decision: deny, reason: "docs are read-only" }
  - { id: other-writes, match: write_file, server: fs, decision: review }
`,
  });
  client = await httpClient(proxy.url);
}, 60_000);

afterAll(async () => {
  await client?.close();
  await proxy?.close();
  await remote?.stop();
});

describe('several upstreams', () => {
  it('prefixes every tool name with its server and merges the lists', async () => {
    const names = (await client.listTools()).tools.map((t) => t.name);
    expect(names).toEqual(
      expect.arrayContaining(['local__echo', 'remote__echo', 'remote__get-sum', 'fs__read_text_file']),
    );
    expect(names).not.toContain('local__get-sum'); // denied whatever the arguments on that server
    expect(names).not.toContain('echo');
    expect(client.getServerVersion()).toEqual({ name: 'portcullis', version: packageVersion });
  });

  it('routes a name both upstreams list to the one its prefix names', async () => {
    const local = await client.callTool({ name: 'local__echo', arguments: { message: 'to local' } });
    const viaHttp = await client.callTool({ name: 'remote__echo', arguments: { message: 'to remote' } });
    expect(local.content).toEqual([{ type: 'text', text: 'Echo: to local' }]);
    expect(viaHttp.content).toEqual([{ type: 'text', text: 'Echo: to remote' }]);
    const sum = await client.callTool({ name: 'remote__get-sum', arguments: { a: 2, b: 3 } });
    expect(JSON.stringify(sum.content)).toContain('5');
  });

  it('denies names that no upstream listed, unprefixed or with an unknown prefix', async () => {
    for (const name of ['echo', 'nobody__echo', 'local__no_such_tool', 'fs__']) {
      const result = await client.callTool({ name, arguments: {} });
      expect(result.isError, name).toBe(true);
      expect(JSON.stringify(result.content), name).toContain('not listed');
    }
  });

  it('never forwards a denied call: server-filesystem writes no file', async () => {
    const target = path.join(files, 'docs', 'new.txt');
    const result = await client.callTool({
      name: 'fs__write_file',
      arguments: { path: target, content: 'x' },
    });
    expect(result.isError).toBe(true);
    expect(JSON.stringify(result.content)).toContain('docs are read-only');
    const reviewed = await client.callTool({
      name: 'fs__write_file',
      arguments: { path: path.join(files, 'b.txt'), content: 'x' },
    });
    expect(JSON.stringify(reviewed.content)).toMatch(
      /Approval ap_[0-9a-f]+ is waiting for a person \(no approvals UI is served: decide with .*portcullis approvals approve ap_[0-9a-f]+ --data-dir .*\)\. Nothing has run/,
    );
    expect(existsSync(target)).toBe(false);
    expect(existsSync(path.join(files, 'b.txt'))).toBe(false);
    const read = await client.callTool({
      name: 'fs__read_text_file',
      arguments: { path: path.join(files, 'docs', 'hello.txt') },
    });
    expect(JSON.stringify(read.content)).toContain('hello from the filesystem');
  });

  it('prefixes prompt names and routes gets and completions by prefix', async () => {
    const names = (await client.listPrompts()).prompts.map((p) => p.name);
    expect(names).toEqual(expect.arrayContaining(['local__args-prompt', 'remote__args-prompt']));
    const prompt = await client.getPrompt({ name: 'remote__args-prompt', arguments: { city: 'Lyon' } });
    expect(JSON.stringify(prompt.messages)).toContain('Lyon');
    const completion = await client.complete({
      ref: { type: 'ref/prompt', name: 'local__completable-prompt' },
      argument: { name: 'department', value: 'Mar' },
    });
    expect(completion.completion.values).toContain('Marketing');
  });

  it('keeps resource URIs and routes reads to the upstream that listed them', async () => {
    const { resources } = await client.listResources();
    expect(resources.some((r) => r.uri.startsWith('demo://'))).toBe(true);
    const read = await client.readResource({ uri: 'demo://resource/dynamic/text/3' });
    expect(read.contents[0]?.uri).toBe('demo://resource/dynamic/text/3');
    await expect(client.readResource({ uri: 'nowhere://x' })).rejects.toMatchObject({ code: -32002 });
  });
});
