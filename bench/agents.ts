// Agent registry costs on the hot path, on a real governance.db: the key lookup every HTTP request makes and the trust every call asks for.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AgentRegistry, SqliteAgentStore, sha256Key } from '../src/agents/index.js';

export async function run(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-bench-'));
  const registry = new AgentRegistry({ store: new SqliteAgentStore(join(dir, 'governance.db')) });
  try {
    const keys: string[] = [];
    for (let i = 0; i < 50; i++)
      keys.push(sha256Key((await registry.add({ id: `agent-${i}` }, 'bench')).key));
    const N = 200_000;
    let start = process.hrtime.bigint();
    for (let i = 0; i < N; i++) registry.keyAgent(keys[i % keys.length] as string);
    const lookup = Number(process.hrtime.bigint() - start) / N;
    start = process.hrtime.bigint();
    for (let i = 0; i < N; i++) registry.standing(`agent-${i % 50}`);
    const standing = Number(process.hrtime.bigint() - start) / N;
    console.log(`key lookup (50 agents, per request): ${(lookup / 1000).toFixed(2)} µs`);
    console.log(`standing (trust, per call):          ${(standing / 1000).toFixed(2)} µs`);
  } finally {
    registry.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
