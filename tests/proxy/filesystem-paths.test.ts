// The shipped policies/filesystem.yml in front of the real server-filesystem: no spelling of a secret gets through.

import { existsSync } from 'node:fs';
import { mkdir, readFile, realpath, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FILESYSTEM } from '../helpers/peers.js';
import { httpClient, startHttpProxy, type TestProxy } from '../helpers/proxy.js';
import { tempDir } from '../helpers/temp.js';
import { repoFile } from '../policy/helpers.js';

const ENV_MARKER = 'ENV-MARKER-6b1f0c3e-never-returned';
const KEY_MARKER = 'KEY-MARKER-93d2a7c4-never-returned';
const NESTED_MARKER = 'NESTED-ENV-MARKER-5e0a2b91-never-returned';
const README = 'readme: ordinary project text';

let proxy: TestProxy;
let client: Client;
let root: string;

/** The shipped policy with only its `servers:` block removed: the test's server-filesystem replaces it. */
function shippedPolicyWithoutServers(): string {
  const text = repoFile('policies/filesystem.yml');
  const without = text.replace(/^servers:\n(?: {2}.*\n)+/m, '');
  if (without === text || /^servers:/m.test(without)) throw new Error('servers: block not found');
  return without;
}

beforeAll(async () => {
  root = await realpath(tempDir('portcullis-fs-paths-').dir);
  await mkdir(path.join(root, '.ssh'));
  await mkdir(path.join(root, 'app'));
  await writeFile(path.join(root, '.env'), ENV_MARKER);
  await writeFile(path.join(root, '.ssh', 'id_rsa'), KEY_MARKER);
  await writeFile(path.join(root, 'app', '.env'), NESTED_MARKER);
  await writeFile(path.join(root, 'app', 'README.md'), README);
  proxy = await startHttpProxy({
    policy: shippedPolicyWithoutServers(),
    command: { name: 'files', command: FILESYSTEM, args: [root] },
  });
  client = await httpClient(proxy.url);
}, 60_000);

afterAll(async () => {
  await client?.close();
  await proxy?.close();
});

/** Spellings of the secret files that server-filesystem (or another server, or platform) reads as them. */
function fileSpellings(): string[] {
  const r = root;
  const rel = r.slice(1); // the root without its leading /
  return [
    `${r}/.env`,
    `${r}/./.env`,
    `${r}/.env/`,
    `${r}/.env/.`,
    `${r}//.env`,
    `/.${r}/.env`,
    `/./${rel}/.env`,
    `${r}/.ENV`,
    `${r}/.Env/`,
    `${r}/app/../.env`,
    `${r}/app/.env`,
    `${r}/app//./.env`,
    '.env',
    './.env',
    'app/.env',
    'app/./.env',
    `${r}/app\\..\\.env`,
    `file://${r}/.env`,
    `${r}/%2eenv`,
    `${r}/app/%2e%2e/.env`,
    `${r}/.env.`,
    `${r}/.env `,
    ` ${r}/.env`,
    `"${r}/.env"`,
    `'${r}/.env'`,
    `${r}/\u200b.env`,
    `${r}/\uff0eenv`,
    `${r}/.env\u0000`,
    `//${rel}/.env`,
    `${r}/.ssh/id_rsa`,
    `${r}//.ssh//id_rsa`,
    `${r}/.ssh/./id_rsa`,
    `${r}/.SSH/ID_RSA`,
    `${r}/.ssh/id_rsa/`,
    '.ssh/id_rsa',
    `${r}/app/../.ssh/id_rsa`,
  ];
}

/** Spellings of the secret directory. */
function dirSpellings(): string[] {
  const r = root;
  return [
    `${r}/.ssh`,
    `${r}/.ssh/`,
    `${r}/.ssh/.`,
    `${r}//.ssh`,
    `${r}/./.ssh/`,
    `${r}/.Ssh`,
    '.ssh',
    './.ssh/',
    `${r}/app/../.ssh`,
    `${r}/app/..\\..\\.ssh`,
  ];
}

function text(result: unknown): string {
  return JSON.stringify(result);
}

function expectNoSecret(result: unknown, what: string): void {
  const body = text(result);
  for (const marker of [ENV_MARKER, KEY_MARKER, NESTED_MARKER]) expect(body, what).not.toContain(marker);
  // A listing of .ssh would name id_rsa; a denial never does (it names the rule, not the arguments).
  expect(body, what).not.toContain('id_rsa');
}

/** Denied by the policy, so the upstream never saw it. */
function expectDenied(result: Record<string, unknown>, what: string): void {
  const meta = (
    result._meta as Record<string, { decision?: string; rule?: string | null; reason?: string }> | undefined
  )?.['portcullis/decision'];
  expect(meta?.decision, `${what}: ${text(result)}`).toBe('deny');
  // The server's directory is its root: a spelling that is no normal absolute path inside it is
  // refused by containment before any rule; every other one must meet the policy's no-secrets rules.
  if (meta?.rule === null) expect(meta.reason, what).toMatch(/^containment: argument /);
  else expect(meta?.rule, what).toMatch(/^no-secrets/);
  expect(result.isError, what).toBe(true);
}

/** Denied by the no-secrets rules themselves: a normal absolute path inside the root. */
function expectRuleDenied(result: Record<string, unknown>, what: string): void {
  expectDenied(result, what);
  const meta = (result._meta as Record<string, { rule?: string | null }>)['portcullis/decision'];
  expect(meta?.rule, what).toMatch(/^no-secrets/);
}

async function call(name: string, args: Record<string, unknown>): Promise<Record<string, unknown>> {
  return (await client.callTool({ name, arguments: args })) as Record<string, unknown>;
}

describe('policies/filesystem.yml in front of server-filesystem', () => {
  it('serves ordinary reads, so the denials below are the policy at work', async () => {
    const read = await call('read_text_file', { path: `${root}/app/README.md` });
    expect(text(read)).toContain(README);
    const many = await call('read_multiple_files', { paths: [`${root}/app/README.md`] });
    expect(text(many)).toContain(README);
    const listing = await call('list_directory', { path: root });
    expect(text(listing)).toContain('[DIR] .ssh'); // the name of the directory, not what is in it
  });

  it('denies the secrets by the rules, not only by containment', async () => {
    for (const spelling of [
      `${root}/.env`,
      `${root}/./.env/`,
      `${root}/.ENV`,
      `${root}/.ssh`,
      `${root}/.SSH/ID_RSA`,
    ]) {
      expectRuleDenied(await call('read_text_file', { path: spelling }), spelling);
      expectRuleDenied(
        await call('read_multiple_files', { paths: [`${root}/app/README.md`, spelling] }),
        spelling,
      );
    }
  });

  it('denies every spelling of a secret file to every tool that takes a path', async () => {
    for (const spelling of fileSpellings()) {
      const calls: [string, Record<string, unknown>][] = [
        ...['read_text_file', 'read_file', 'read_media_file', 'get_file_info'].map(
          (tool) => [tool, { path: spelling }] as [string, Record<string, unknown>],
        ),
        ['read_multiple_files', { paths: [`${root}/app/README.md`, spelling] }],
      ];
      const results = await Promise.all(calls.map(([tool, args]) => call(tool, args)));
      results.forEach((result, i) => {
        const what = `${calls[i]?.[0]} ${JSON.stringify(spelling)}`;
        expectDenied(result, what);
        expectNoSecret(result, what);
      });
    }
  });

  it('denies listing, walking and searching the secret directory however it is spelled', async () => {
    const sshFiles = fileSpellings().filter((s) => s.toLowerCase().includes('.ssh'));
    for (const spelling of [...dirSpellings(), ...sshFiles]) {
      const tools = [
        ['list_directory', {}],
        ['list_directory_with_sizes', {}],
        ['directory_tree', {}],
        ['search_files', { pattern: '**' }],
      ] as const;
      const results = await Promise.all(
        tools.map(([tool, extra]) => call(tool, { path: spelling, ...extra })),
      );
      results.forEach((result, i) => {
        const what = `${tools[i]?.[0]} ${JSON.stringify(spelling)}`;
        expectDenied(result, what);
        expectNoSecret(result, what);
      });
    }
  });

  it('never moves, writes or edits a secret, and a review with no UI runs nothing', async () => {
    const moved = path.join(root, 'app', 'moved.txt');
    for (const spelling of [...fileSpellings(), ...dirSpellings()]) {
      const results = await Promise.all([
        call('move_file', { source: spelling, destination: moved }),
        call('move_file', { source: `${root}/app/README.md`, destination: spelling }),
        call('write_file', { path: spelling, content: 'overwritten' }),
        call('edit_file', { path: spelling, edits: [{ oldText: 'MARKER', newText: 'x' }] }),
        call('create_directory', { path: `${spelling}/new` }),
      ]);
      for (const result of results) {
        expectDenied(result, JSON.stringify(spelling));
        expectNoSecret(result, JSON.stringify(spelling));
      }
    }
    // An ordinary change is a review: with the UI off it is answered "pending" and does not run.
    const pending = await call('write_file', { path: `${root}/app/notes.md`, content: 'hi' });
    expect(text(pending)).toMatch(
      /Approval ap_[0-9a-f]+ is waiting for a person \(no approvals UI is served: decide with .*portcullis approvals approve ap_[0-9a-f]+ --data-dir .*\)\. Nothing has run/,
    );
    const tree = await call('directory_tree', { path: root });
    expect(text(tree)).toMatch(/is waiting for a person/);
    expectNoSecret(tree, 'directory_tree of the root');

    expect(await readFile(path.join(root, '.env'), 'utf8')).toBe(ENV_MARKER);
    expect(await readFile(path.join(root, '.ssh', 'id_rsa'), 'utf8')).toBe(KEY_MARKER);
    expect(await readFile(path.join(root, 'app', '.env'), 'utf8')).toBe(NESTED_MARKER);
    expect(await readFile(path.join(root, 'app', 'README.md'), 'utf8')).toBe(README);
    expect(existsSync(moved)).toBe(false);
    expect(existsSync(path.join(root, 'app', 'notes.md'))).toBe(false);
    expect(existsSync(path.join(root, '.ssh', 'new'))).toBe(false);
  });
});
