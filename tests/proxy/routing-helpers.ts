// Helpers of the routing tests: a proxy with short routing waits, and reading the fixture's JSONL logs.

import { existsSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { type App, startApp } from '../../src/app.js';
import type { RoutingTimings } from '../../src/proxy/index.js';
import { type TestProxy, tempDir } from '../helpers/proxy.js';

/** Like startHttpProxy, with the routing waits a test wants (the defaults are seconds). */
export async function startRoutingProxy(options: {
  policy: string;
  command?: { name: string; command: string; args: string[] };
  routing?: Partial<RoutingTimings>;
  ui?: number | 'off';
  env?: NodeJS.ProcessEnv;
}): Promise<TestProxy> {
  const dir = await tempDir();
  const policyFile = path.join(dir, 'policy.yml');
  await writeFile(policyFile, options.policy);
  const dataDir = path.join(dir, 'data');
  const logs: string[] = [];
  const app: App = await startApp({
    policyFile,
    http: { host: '127.0.0.1', port: 0 },
    ui: options.ui ?? 'off',
    dataDir,
    agent: 'anonymous',
    command: options.command,
    env: options.env,
    routing: options.routing,
    log: (line) => logs.push(line),
  });
  return {
    app,
    url: app.url as string,
    dir,
    policyFile,
    dataDir,
    logs,
    async close() {
      try {
        await app.close();
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  };
}

export interface FixtureEntry {
  pid: number;
  method?: string;
  event?: string;
  name?: string;
  args?: Record<string, unknown>;
}

/** Everything one fixture log recorded so far. */
export async function fixtureLog(file: string): Promise<FixtureEntry[]> {
  if (!existsSync(file)) return [];
  return (await readFile(file, 'utf8'))
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as FixtureEntry);
}

/** The text of a tool result, for assertions and failure messages. */
export function resultText(result: unknown): string {
  const content = (result as { content?: { text?: string }[] }).content ?? [];
  return content.map((c) => c.text ?? '').join('\n');
}
