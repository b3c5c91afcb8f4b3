// Benchmark: tools/call round trip through the proxy vs. straight to the same kind of upstream, in one run.

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { startApp } from '../src/app.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const EVERYTHING = path.join(REPO, 'node_modules', '.bin', 'mcp-server-everything');
const CALLS = Number(process.env.BENCH_CALLS ?? 1000);
const WARMUP = 100;

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

async function measure(client: Client): Promise<number[]> {
  const call = () => client.callTool({ name: 'echo', arguments: { message: 'bench' } });
  for (let i = 0; i < WARMUP; i++) await call();
  const samples: number[] = [];
  for (let i = 0; i < CALLS; i++) {
    const start = performance.now();
    await call();
    samples.push(performance.now() - start);
  }
  return samples.sort((a, b) => a - b);
}

function line(label: string, samples: number[]): string {
  return `${label.padEnd(34)} median ${quantile(samples, 0.5).toFixed(3)} ms   p99 ${quantile(samples, 0.99).toFixed(3)} ms`;
}

export async function run(): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'portcullis-bench-'));
  const policyFile = path.join(dir, 'policy.yml');
  await writeFile(
    policyFile,
    `version: 2\ndefault: deny\nrules:\n  - { id: echo, match: echo, decision: allow }\n  - { id: sums, match: get-sum, args: { a: { gt: 10 } }, decision: deny }\n`,
  );
  const direct = new Client({ name: 'bench-direct', version: '1' });
  await direct.connect(new StdioClientTransport({ command: EVERYTHING, args: ['stdio'], stderr: 'ignore' }));
  const app = await startApp({
    policyFile,
    http: { host: '127.0.0.1', port: 0 },
    ui: 'off',
    dataDir: path.join(dir, 'data'),
    agent: 'bench',
    command: { name: 'everything', command: EVERYTHING, args: ['stdio'] },
    log: () => {},
  });
  const proxied = new Client({ name: 'bench-proxied', version: '1' });
  await proxied.connect(new StreamableHTTPClientTransport(new URL(app.url as string)));
  // The CLI in stdio mode, as a desktop client runs it.
  const viaStdio = new Client({ name: 'bench-stdio', version: '1' });
  await viaStdio.connect(
    new StdioClientTransport({
      command: path.join(REPO, 'node_modules', '.bin', 'tsx'),
      args: [
        path.join(REPO, 'src', 'cli.ts'),
        '--policy',
        policyFile,
        '--ui',
        'off',
        '--data-dir',
        path.join(dir, 'data2'),
        '--',
        EVERYTHING,
        'stdio',
      ],
      stderr: 'ignore',
    }),
  );
  try {
    const direct1 = await measure(direct);
    const stdio1 = await measure(viaStdio);
    const http1 = await measure(proxied);
    console.log(
      `tools/call echo, ${CALLS} calls each after ${WARMUP} warm-up (server-everything over stdio)`,
    );
    console.log(line('direct (client -> stdio upstream)', direct1));
    console.log(line('through Portcullis, stdio -> stdio', stdio1));
    console.log(line('through Portcullis, HTTP -> stdio', http1));
    const added = (samples: number[]) => (quantile(samples, 0.5) - quantile(direct1, 0.5)).toFixed(3);
    console.log(
      `added by the proxy (median): stdio ${added(stdio1)} ms, HTTP ${added(http1)} ms (policy, audit append, extra hop)`,
    );
  } finally {
    await viaStdio.close();
    await proxied.close();
    await direct.close();
    await app.close();
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await run();
}
