// Bench paths: how to start, connect to and stop each way of reaching the same stdio echo server.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { descendants as descendantsOf } from './stats.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const PEERS = path.join(REPO, 'bench', 'peers');
const NODE = process.execPath;
/** The one upstream every path reaches. */
const ECHO = [NODE, path.join(PEERS, 'echo-server.mjs')];

/** Portcullis as shipped (dist, after `npm run build`), or from source through tsx when not built. */
function portcullis(repo = REPO): string[] {
  const built = path.join(repo, 'dist', 'src', 'cli.js');
  if (repo !== REPO && !existsSync(built)) throw new Error(`BENCH_BASELINE: ${built} is not built`);
  return existsSync(built) ? [built] : ['--import', 'tsx', path.join(repo, 'src', 'cli.ts')];
}

/**
 * BENCH_BASELINE=DIR: another checkout of Portcullis (built), run as two more paths in the same
 * interleaved rounds, so a change is measured against what it replaces under the same noise.
 */
const BASELINE = process.env.BENCH_BASELINE ? path.resolve(process.env.BENCH_BASELINE) : undefined;

export interface PathContext {
  dir: string;
  policyFile: string;
  /** `node --cpu-prof` output directory for the Portcullis processes (BENCH_PROF), or undefined. */
  profDir?: string;
}

export interface Running {
  /** A new MCP session (a new process for stdio paths). */
  connect(): Promise<Client>;
  /** The pid of the path's own process (the proxy), undefined for the direct path. */
  proxyPid(): number | undefined;
  /** The pids of the echo servers behind it. */
  upstreamPids(): number[];
  close(): Promise<void>;
}

export interface PathSpec {
  name: string;
  kind: 'stdio' | 'http';
  start(ctx: PathContext): Promise<Running>;
}

function profArgs(ctx: PathContext, name: string): string[] {
  return ctx.profDir ? ['--cpu-prof', '--cpu-prof-dir', path.join(ctx.profDir, name)] : [];
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

function stdioPath(name: string, argv: (ctx: PathContext) => string[], direct = false): PathSpec {
  return {
    name,
    kind: 'stdio',
    start: async (ctx) => {
      const transports: StdioClientTransport[] = [];
      const clients: Client[] = [];
      const [command, ...args] = argv(ctx) as [string, ...string[]];
      return {
        connect: async () => {
          const transport = new StdioClientTransport({ command, args, stderr: 'ignore', cwd: ctx.dir });
          const client = new Client({ name: `bench-${name}`, version: '1' });
          await client.connect(transport);
          transports.push(transport);
          clients.push(client);
          return client;
        },
        proxyPid: () => (direct ? undefined : (transports[0]?.pid ?? undefined)),
        upstreamPids: () => {
          const pid = transports[0]?.pid;
          if (pid == null) return [];
          return direct ? [pid] : descendantsOf(pid);
        },
        close: async () => {
          for (const client of clients) await client.close();
        },
      };
    },
  };
}

function httpPath(name: string, argv: (ctx: PathContext, port: number) => string[]): PathSpec {
  return {
    name,
    kind: 'http',
    start: async (ctx) => {
      const port = await freePort();
      const [command, ...args] = argv(ctx, port) as [string, ...string[]];
      const child = spawn(command, args, { cwd: ctx.dir, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr?.on('data', (chunk: Buffer) => {
        if (stderr.length < 4000) stderr += chunk.toString('utf8');
      });
      const url = new URL(`http://127.0.0.1:${port}/mcp`);
      const clients: Client[] = [];
      const connect = async () => {
        const client = new Client({ name: `bench-${name}`, version: '1' });
        await client.connect(new StreamableHTTPClientTransport(url));
        clients.push(client);
        return client;
      };
      await untilConnected(connect, child, () => stderr, name);
      return {
        connect,
        proxyPid: () => child.pid,
        upstreamPids: () => (child.pid === undefined ? [] : descendantsOf(child.pid)),
        close: async () => {
          for (const client of clients) await client.close().catch(() => {});
          await stop(child);
        },
      };
    },
  };
}

/** A server takes a moment to listen: retry the first session until it answers (or the process died). */
async function untilConnected(
  connect: () => Promise<Client>,
  child: ChildProcess,
  stderr: () => string,
  name: string,
): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${name} exited: ${stderr()}`);
    try {
      await connect();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`${name} did not answer: ${String(error)} ${stderr()}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

/** SIGTERM so `--cpu-prof` is written on the way out; SIGKILL after 5 s. */
async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

const portcullisArgs = (ctx: PathContext, data: string) => [
  'run',
  '--policy',
  ctx.policyFile,
  '--ui',
  'off',
  '--data-dir',
  path.join(ctx.dir, data),
  '--agent',
  'bench',
];

function baselinePaths(repo: string): PathSpec[] {
  return [
    stdioPath('baseline stdio', (ctx) => [
      NODE,
      ...profArgs(ctx, 'baseline-stdio'),
      ...portcullis(repo),
      ...portcullisArgs(ctx, 'data-baseline-stdio'),
      '--',
      ...ECHO,
    ]),
    httpPath('baseline HTTP', (ctx, port) => [
      NODE,
      ...profArgs(ctx, 'baseline-http'),
      ...portcullis(repo),
      ...portcullisArgs(ctx, 'data-baseline-http'),
      '--http',
      String(port),
      '--',
      ...ECHO,
    ]),
  ];
}

/** Every path, in the order the table shows them. */
export const PATHS: PathSpec[] = [
  stdioPath('direct stdio', () => ECHO, true),
  stdioPath('raw byte relay', () => [NODE, path.join(PEERS, 'raw-relay.mjs'), ...ECHO]),
  stdioPath('bare SDK relay', () => [NODE, path.join(PEERS, 'sdk-relay.mjs'), ...ECHO]),
  stdioPath('Portcullis stdio', (ctx) => [
    NODE,
    ...profArgs(ctx, 'portcullis-stdio'),
    ...portcullis(),
    ...portcullisArgs(ctx, 'data-stdio'),
    '--',
    ...ECHO,
  ]),
  httpPath('HTTP floor (SDK)', (_ctx, port) => [NODE, path.join(PEERS, 'echo-http.mjs'), String(port)]),
  httpPath('Portcullis HTTP', (ctx, port) => [
    NODE,
    ...profArgs(ctx, 'portcullis-http'),
    ...portcullis(),
    ...portcullisArgs(ctx, 'data-http'),
    '--http',
    String(port),
    '--',
    ...ECHO,
  ]),
  httpPath('supergateway', (_ctx, port) => [
    NODE,
    path.join(REPO, 'node_modules', 'supergateway', 'dist', 'index.js'),
    '--stdio',
    ECHO.map((part) => JSON.stringify(part)).join(' '),
    '--outputTransport',
    'streamableHttp',
    '--stateful',
    '--port',
    String(port),
    '--logLevel',
    'none',
  ]),
  httpPath('mcp-proxy', (_ctx, port) => [
    NODE,
    path.join(REPO, 'node_modules', 'mcp-proxy', 'dist', 'bin', 'mcp-proxy.mjs'),
    '--port',
    String(port),
    '--host',
    '127.0.0.1',
    '--server',
    'stream',
    '--',
    ...ECHO,
  ]),
];

if (BASELINE !== undefined) PATHS.push(...baselinePaths(BASELINE));

/** A measuring stick (bench/peers/audit-relay.mjs): a raw line relay doing only `mode`'s share of a call. */
function floorPath(name: string, mode: 'policy' | 'audit'): PathSpec {
  return stdioPath(name, (ctx) => [NODE, path.join(PEERS, 'audit-relay.mjs'), mode, ctx.policyFile, ...ECHO]);
}

/**
 * Measuring sticks, run only when BENCH_PATHS names them: a raw line relay doing only the policy
 * and result scan, and the same with Portcullis' two audit records per call.
 */
export const FLOOR_PATHS: PathSpec[] = [
  floorPath('floor: policy only', 'policy'),
  floorPath('floor: policy+audit', 'audit'),
];
