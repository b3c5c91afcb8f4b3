// npm run check:install: packs Portcullis, installs the tarball into an empty global prefix, and runs it from there as a user would.
//
// Not part of `npm test`: the install fetches every dependency from the registry and may compile
// better-sqlite3, which takes minutes. .ci/run runs it after the suite. Every step that fails stops
// the script with a non-zero exit and the step's name; nothing here reads the clone's dist/ or
// node_modules for the installed program (only this script's own MCP client comes from the clone).

import { type SpawnSyncReturns, spawn, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { name: string; version: string };
/**
 * What a user allows to run at install, as the README's install command says: better-sqlite3 builds
 * its native module. The tarball itself is named by its absolute path, the only identity npm 11
 * matches for a file (its name does not match, whatever npm's own warning suggests): npm lists the
 * `prepare` of every non-registry package, though it never runs it for a tarball.
 */
function allowScripts(tarball: string): string {
  return `better-sqlite3,${tarball}`;
}
const started = Date.now();
const work = mkdtempSync(join(tmpdir(), 'portcullis-install-'));
const keep = process.env.KEEP_INSTALL === '1';

class CheckFailed extends Error {
  readonly code = 'CHECK_INSTALL_FAILED';
}

function step(name: string): void {
  console.log(`\n== ${name} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
}

function fail(message: string): never {
  throw new CheckFailed(message);
}

function show(result: SpawnSyncReturns<string>): string {
  return `${result.stdout ?? ''}${result.stderr ?? ''}`;
}

/**
 * Runs a command to the end; any exit but 0 fails the check with its output. The bound is generous:
 * compiling better-sqlite3 took 12 minutes on a loaded 2-core machine.
 */
function run(command: string, args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv }): string {
  const result = spawnSync(command, args, { ...options, encoding: 'utf8', timeout: 30 * 60_000 });
  const output = show(result);
  if (result.error !== undefined) fail(`${command} ${args.join(' ')}: ${result.error.message}`);
  if (result.status !== 0) fail(`${command} ${args.join(' ')} exited ${result.status}:\n${output}`);
  return output;
}

function textOf(result: CallToolResult): string {
  return result.content.map((part) => (part.type === 'text' ? part.text : `[${part.type}]`)).join(' ');
}

/** The demo's allowed and denied calls through any connected client: the decisions policy.example.yml promises. */
async function proxiedCalls(client: Client, how: string): Promise<void> {
  const { tools } = await client.listTools();
  const names = tools.map((tool) => tool.name).sort();
  console.log(`${how}: tools ${names.join(', ')}`);
  if (!names.includes('refunds.list')) fail(`${how}: refunds.list is not listed`);
  if (names.includes('users.export')) fail(`${how}: users.export is listed; the policy hides it`);
  const allowed = (await client.callTool({
    name: 'refunds.list',
    arguments: { limit: 1 },
  })) as CallToolResult;
  console.log(`${how}: refunds.list -> ${textOf(allowed).replace(/\s+/g, ' ').slice(0, 100)}`);
  if (allowed.isError === true) fail(`${how}: refunds.list was refused: ${textOf(allowed)}`);
  const denied = (await client.callTool({ name: 'users.export', arguments: {} })) as CallToolResult;
  console.log(`${how}: users.export -> ${textOf(denied).slice(0, 100)}`);
  if (denied.isError !== true || !/denied/i.test(textOf(denied))) {
    fail(`${how}: users.export was not denied: ${textOf(denied)}`);
  }
}

/** Waits for a line on a child's stderr that matches, or fails after a timeout. */
function waitForLine(
  child: ReturnType<typeof spawn>,
  pattern: RegExp,
  seen: string[],
): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    // Lines printed before this call count too: the UI's line comes before the endpoint's.
    const timer = setTimeout(
      () => reject(new CheckFailed(`no line like ${pattern} in:\n${seen.join('')}`)),
      30_000,
    );
    const look = (): void => {
      const match = seen.join('').match(pattern);
      if (match === null) return;
      clearTimeout(timer);
      resolve(match);
    };
    look();
    child.stderr?.on('data', look);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new CheckFailed(`portcullis exited ${code} before printing ${pattern}:\n${seen.join('')}`));
    });
  });
}

async function main(): Promise<void> {
  const userDir = join(work, 'elsewhere');
  mkdirSync(userDir);
  // CHECK_INSTALL_PREFIX=DIR runs the steps after the install against an earlier one (a quicker retry).
  const prefix = process.env.CHECK_INSTALL_PREFIX ?? join(work, 'prefix');
  if (process.env.CHECK_INSTALL_PREFIX === undefined) packAndInstall(prefix, userDir);
  await runInstalled(prefix, userDir);
}

/** npm pack in the clone, then npm install -g of the tarball into an empty prefix, judged by what it printed. */
function packAndInstall(prefix: string, userDir: string): void {
  const packDir = join(work, 'pack');
  for (const dir of [packDir, prefix]) mkdirSync(dir);

  step('npm pack (prepare builds dist/)');
  run('npm', ['pack', '--pack-destination', packDir], { cwd: root });
  const tarballs = readdirSync(packDir).filter((name) => name.endsWith('.tgz'));
  if (tarballs.length !== 1)
    fail(`expected one tarball in ${packDir}, found ${tarballs.join(', ') || 'none'}`);
  const tarball = join(packDir, tarballs[0] as string);
  const listing = run('tar', ['-tzf', tarball], { cwd: work });
  for (const needed of [
    'package/LICENSE',
    'package/CHANGELOG.md',
    'package/README.md',
    'package/dist/src/cli.js',
    'package/dist/src/demo/payments-server.js',
    'package/ui/app.css',
    'package/ui/queue.js',
    'package/schema/policy.schema.json',
    'package/policy.example.yml',
    'package/policies/filesystem.yml',
  ]) {
    if (!listing.split('\n').includes(needed)) fail(`the tarball lacks ${needed}`);
  }
  for (const line of listing.split('\n')) {
    if (/^package\/(src|tests|bench|scripts|node_modules)\//.test(line)) fail(`the tarball ships ${line}`);
  }
  console.log(`${tarball}: ${listing.trim().split('\n').length} files`);

  step(`npm install -g --prefix <empty> --allow-scripts=${allowScripts(tarball)} ${tarballs[0]}`);
  const installed = join(prefix, 'lib', 'node_modules', pkg.name);
  // From an unrelated folder, so no project package.json or .npmrc of the clone is involved.
  const install = run(
    'npm',
    [
      'install',
      '-g',
      '--prefix',
      prefix,
      `--allow-scripts=${allowScripts(tarball)}`,
      '--no-fund',
      '--no-audit',
      tarball,
    ],
    { cwd: userDir },
  );
  console.log(install.trim());
  const noise = install.split('\n').filter((line) => /\b(warn|WARN|deprecated|error)\b/.test(line));
  if (noise.length > 0)
    fail(`the install printed warnings a user would have to decode:\n${noise.join('\n')}`);
  // A user install carries no build or test tool (their install scripts and size are not the user's).
  for (const devOnly of ['esbuild', 'typescript', 'vitest', 'tsx', 'playwright-core']) {
    if (existsSync(join(installed, 'node_modules', devOnly))) fail(`the install pulled in ${devOnly}`);
  }
}

/** The installed command from PATH, outside the clone: help, version, every shipped policy, proxied calls. */
async function runInstalled(prefix: string, userDir: string): Promise<void> {
  const installed = join(prefix, 'lib', 'node_modules', pkg.name);

  // Only the prefix's bin on PATH besides the system's: `portcullis` must come from the install.
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PATH: `${join(prefix, 'bin')}:${process.env.PATH ?? ''}`,
    PORTCULLIS_UI_TOKEN: undefined,
  };
  const which = run('sh', ['-c', 'command -v portcullis'], { cwd: userDir, env }).trim();
  if (which !== join(prefix, 'bin', 'portcullis'))
    fail(`portcullis on PATH is ${which}, not the installed one`);

  step('portcullis --help and --version');
  const help = run('portcullis', ['--help'], { cwd: userDir, env });
  if (!/Usage: portcullis/.test(help)) fail(`--help printed no usage:\n${help}`);
  const version = run('portcullis', ['--version'], { cwd: userDir, env }).trim();
  if (version !== pkg.version) fail(`--version printed ${version}, package.json says ${pkg.version}`);
  console.log(`portcullis ${version} at ${which}`);

  step('portcullis policy validate: every shipped policy');
  const policies = [
    join(installed, 'policy.example.yml'),
    ...readdirSync(join(installed, 'policies')).map((name) => join(installed, 'policies', name)),
  ];
  for (const file of policies)
    console.log(run('portcullis', ['policy', 'validate', file], { cwd: userDir, env }).trim());

  step('a proxied call over stdio: SDK client -> installed portcullis -> the shipped demo server');
  const stdioDataDir = join(work, 'data-stdio');
  const transport = new StdioClientTransport({
    command: 'portcullis',
    args: [
      'run',
      '--policy',
      join(installed, 'policy.example.yml'),
      '--agent',
      'support-bot',
      '--ui',
      'off',
      '--data-dir',
      stdioDataDir,
    ],
    cwd: userDir,
    env: env as Record<string, string>,
    stderr: 'pipe',
  });
  const stdioClient = new Client({ name: 'check-install', version: '1.0.0' });
  await stdioClient.connect(transport);
  try {
    await proxiedCalls(stdioClient, 'stdio');
  } finally {
    await stdioClient.close();
  }
  console.log(run('portcullis', ['audit', 'verify', stdioDataDir], { cwd: userDir, env }).trim());

  step(
    'the shipped policies/filesystem.yml as its header says, in front of the real server-filesystem (npx)',
  );
  await filesystemPolicy(installed, userDir, env);

  step('a proxied call over HTTP with the approvals UI: its assets ship too');
  const httpDataDir = join(work, 'data-http');
  const proxy = spawn(
    'portcullis',
    [
      'run',
      '--policy',
      join(installed, 'policy.example.yml'),
      '--http',
      '0',
      '--ui',
      '0',
      '--data-dir',
      httpDataDir,
    ],
    { cwd: userDir, env, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const seen: string[] = [];
  proxy.stderr.setEncoding('utf8');
  proxy.stderr.on('data', (chunk: string) => seen.push(chunk));
  try {
    const [, endpoint] = await waitForLine(proxy, /MCP endpoint (http:\S+)/, seen);
    const [, uiOrigin] = await waitForLine(proxy, /sign in at (http:\/\/[^/\s]+)\//, seen);
    const httpClient = new Client({ name: 'check-install', version: '1.0.0' });
    await httpClient.connect(
      new StreamableHTTPClientTransport(new URL(endpoint as string), {
        requestInit: { headers: { Authorization: 'Bearer demo-support-key' } },
      }),
    );
    try {
      await proxiedCalls(httpClient, 'http');
    } finally {
      await httpClient.close();
    }
    for (const asset of ['app.css', 'queue.js']) {
      const response = await fetch(`${uiOrigin}/assets/${asset}`);
      const body = await response.text();
      if (response.status !== 200 || body !== readFileSync(join(installed, 'ui', asset), 'utf8')) {
        fail(`${uiOrigin}/assets/${asset}: ${response.status}, not the shipped file`);
      }
      console.log(`${uiOrigin}/assets/${asset}: 200, ${body.length} bytes`);
    }
  } finally {
    proxy.kill('SIGTERM');
  }
}

/**
 * `portcullis run --policy <installed>/policies/filesystem.yml`, nothing else: it starts
 * server-filesystem on ${HOME}/projects itself (npx fetches it from the registry, as for a user).
 * HOME is a fresh folder holding projects/notes.txt and projects/.env; npm keeps the user's config
 * and cache, so the registry settings still apply.
 */
async function filesystemPolicy(installed: string, userDir: string, env: NodeJS.ProcessEnv): Promise<void> {
  const home = join(work, 'home');
  const projects = join(home, 'projects');
  mkdirSync(projects, { recursive: true });
  writeFileSync(join(projects, 'notes.txt'), 'shipped policy works\n');
  writeFileSync(join(projects, '.env'), 'API_KEY=never-returned\n');
  const realHome = homedir();
  const transport = new StdioClientTransport({
    command: 'portcullis',
    args: [
      'run',
      '--policy',
      join(installed, 'policies', 'filesystem.yml'),
      '--ui',
      'off',
      '--data-dir',
      join(work, 'data-fs'),
    ],
    cwd: userDir,
    env: {
      ...(env as Record<string, string>),
      HOME: home,
      npm_config_userconfig: process.env.npm_config_userconfig ?? join(realHome, '.npmrc'),
      npm_config_cache: process.env.npm_config_cache ?? join(realHome, '.npm'),
    },
    stderr: 'pipe',
  });
  const client = new Client({ name: 'check-install', version: '1.0.0' });
  await client.connect(transport);
  try {
    const names = (await client.listTools()).tools.map((tool) => tool.name);
    console.log(`filesystem: ${names.length} tools, e.g. ${names.slice(0, 4).join(', ')}`);
    if (!names.includes('read_text_file') && !names.includes('read_file'))
      fail(`filesystem: no plain read tool listed (${names.join(', ')}): the policy's names do not match`);
    const read = names.includes('read_text_file') ? 'read_text_file' : 'read_file';
    const call = async (name: string, args: Record<string, unknown>) =>
      (await client.callTool({ name, arguments: args })) as CallToolResult;
    const notes = await call(read, { path: join(projects, 'notes.txt') });
    console.log(`filesystem: ${read} notes.txt -> ${textOf(notes).trim()}`);
    if (notes.isError === true || !textOf(notes).includes('shipped policy works'))
      fail(`filesystem: the read was refused: ${textOf(notes)}`);
    const secret = await call(read, { path: join(projects, '.env') });
    console.log(`filesystem: ${read} .env -> ${textOf(secret).slice(0, 100)}`);
    if (secret.isError !== true || textOf(secret).includes('never-returned'))
      fail(`filesystem: .env was not denied: ${textOf(secret)}`);
    const outside = await call(read, { path: join(home, 'elsewhere.txt') });
    console.log(`filesystem: ${read} outside projects -> ${textOf(outside).slice(0, 100)}`);
    if (outside.isError !== true)
      fail(`filesystem: a path outside the roots was not denied: ${textOf(outside)}`);
    const write = await call('write_file', { path: join(projects, 'new.txt'), content: 'x' });
    console.log(`filesystem: write_file -> ${textOf(write).slice(0, 100)}`);
    if (!/waiting for a person/.test(textOf(write)) || existsSync(join(projects, 'new.txt')))
      fail(`filesystem: write_file did not wait for a person: ${textOf(write)}`);
  } finally {
    await client.close();
  }
}

try {
  await main();
  console.log(`\ncheck:install: ok in ${((Date.now() - started) / 1000).toFixed(1)} s`);
} catch (error) {
  console.error(`\ncheck:install: FAILED after ${((Date.now() - started) / 1000).toFixed(1)} s`);
  console.error(error instanceof Error ? error.message : String(error));
  process.exitCode = 1;
} finally {
  if (keep) console.log(`kept ${work}`);
  else rmSync(work, { recursive: true, force: true });
}
