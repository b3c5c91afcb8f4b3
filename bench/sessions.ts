// Benchmark: 500 HTTP sessions of 10 agents: stdio children started and proxy memory per extra session.

import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startApp } from '../src/app.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const EVERYTHING = path.join(REPO, 'node_modules', '.bin', 'mcp-server-everything');
const SESSIONS = Number(process.env.BENCH_SESSIONS ?? 500);
const AGENTS = 10;
const JSON_AND_SSE = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

/** This process's live child processes (Linux /proc; undefined elsewhere). */
function childCount(): number | undefined {
  try {
    const tasks = readdirSync('/proc/self/task');
    const pids = new Set<string>();
    for (const task of tasks) {
      for (const pid of readFileSync(`/proc/self/task/${task}/children`, 'utf8').split(' ').filter(Boolean))
        pids.add(pid);
    }
    return pids.size;
  } catch {
    return undefined;
  }
}

/** An initialized HTTP session over plain fetch: the client side keeps only a session id. */
async function openSession(url: string, key: string): Promise<void> {
  const headers = { ...JSON_AND_SSE, authorization: `Bearer ${key}` };
  const init = await fetch(url, {
    method: 'POST',
    headers,
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 0,
      method: 'initialize',
      params: {
        protocolVersion: '2025-11-25',
        capabilities: {},
        clientInfo: { name: 'bench', version: '1' },
      },
    }),
  });
  const id = init.headers.get('mcp-session-id');
  await init.text();
  if (init.status !== 200 || !id) throw new Error(`initialize answered ${init.status}`);
  const done = await fetch(url, {
    method: 'POST',
    headers: { ...headers, 'mcp-session-id': id, 'mcp-protocol-version': '2025-11-25' },
    body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }),
  });
  await done.text();
}

function settle(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

export async function run(): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'portcullis-bench-sessions-'));
  const policyFile = path.join(dir, 'policy.yml');
  const agents = Array.from({ length: AGENTS }, (_, i) => `agent${i}`);
  const sha = (key: string) => createHash('sha256').update(key).digest('hex');
  await writeFile(
    policyFile,
    `version: 2
sessions: { max: ${SESSIONS + 10}, max_per_agent: ${SESSIONS} }
servers:
  everything: { command: ${JSON.stringify(EVERYTHING)}, args: [stdio] }
agents:
${agents.map((a) => `  - { id: ${a}, key_sha256: "${sha(`${a}-key`)}", trust: low }`).join('\n')}
rules:
  - { id: all, match: "*", decision: allow }
`,
  );
  const before = childCount() ?? 0;
  const app = await startApp({
    policyFile,
    http: { host: '127.0.0.1', port: 0 },
    ui: 'off',
    dataDir: path.join(dir, 'data'),
    agent: 'bench',
    log: () => {},
  });
  const url = app.url as string;
  try {
    const started = performance.now();
    // One session per agent first: every child this run needs is started, then memory is the sessions'.
    await Promise.all(agents.map((a) => openSession(url, `${a}-key`)));
    settle();
    const base = process.memoryUsage();
    for (let i = AGENTS; i < SESSIONS; i += 50) {
      await Promise.all(
        Array.from({ length: Math.min(50, SESSIONS - i) }, (_, j) =>
          openSession(url, `${agents[(i + j) % AGENTS]}-key`),
        ),
      );
    }
    settle();
    const after = process.memoryUsage();
    const extra = SESSIONS - AGENTS;
    const children = childCount();
    const kb = (bytes: number) => `${(bytes / 1024).toFixed(0)} KB`;
    console.log(
      `${SESSIONS} HTTP sessions of ${AGENTS} agents, one stdio upstream: ${children === undefined ? 'n/a' : children - before} children (target <= ${AGENTS})`,
    );
    console.log(
      `per extra session: RSS ${kb((after.rss - base.rss) / extra)}, heap ${kb((after.heapUsed - base.heapUsed) / extra)} (target RSS < 1024 KB; client side included, ${((performance.now() - started) / 1000).toFixed(1)} s)`,
    );
  } finally {
    await app.close();
    await rm(dir, { recursive: true, force: true });
  }
}
