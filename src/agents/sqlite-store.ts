// The agent registry in <data-dir>/governance.db (module `agents`), beside the other governance stores.
import { join } from 'node:path';
import {
  dataVersionReader,
  GOVERNANCE_DB,
  migrateModule,
  openSqlite,
  type SqliteDatabase,
} from '../util/index.js';
import { AgentError } from './errors.js';
import type { AgentStore, StoredAgent, StoredKey } from './store.js';

const MIGRATIONS = [
  `CREATE TABLE agents (
     id TEXT PRIMARY KEY,
     source TEXT NOT NULL CHECK (source IN ('registry', 'auto')),
     trust TEXT NOT NULL,
     owner TEXT,
     env TEXT,
     created_at TEXT NOT NULL,
     last_seen TEXT
   );
   CREATE TABLE agent_keys (
     id TEXT PRIMARY KEY,
     agent TEXT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
     sha256 TEXT NOT NULL UNIQUE,
     prefix TEXT NOT NULL,
     created_at TEXT NOT NULL,
     last_used TEXT,
     revoked_at TEXT
   );
   CREATE INDEX agent_keys_agent ON agent_keys(agent);
   CREATE TABLE agents_version (one INTEGER PRIMARY KEY CHECK (one = 1), n INTEGER NOT NULL);
   INSERT INTO agents_version (one, n) VALUES (1, 0);`,
];

export class SqliteAgentStore implements AgentStore {
  private readonly db: SqliteDatabase;
  private dataVersion: number;
  private readonly bump: () => void;
  private readonly dataVersionQuery: () => number;

  constructor(file: string) {
    this.db = openSqlite(file);
    try {
      this.db.pragma('foreign_keys = ON');
      migrateModule(this.db, 'agents', MIGRATIONS);
    } catch (error) {
      this.db.close();
      throw error;
    }
    const bump = this.db.prepare('UPDATE agents_version SET n = n + 1 WHERE one = 1');
    this.bump = () => void bump.run();
    // It runs on every HTTP request and every call.
    this.dataVersionQuery = dataVersionReader(this.db);
    this.dataVersion = this.dataVersionQuery();
  }

  /** The store of a data dir. */
  static inDataDir(dataDir: string): SqliteAgentStore {
    return new SqliteAgentStore(join(dataDir, GOVERNANCE_DB));
  }

  agents(): StoredAgent[] {
    return this.db.prepare('SELECT * FROM agents ORDER BY id').all() as StoredAgent[];
  }

  keys(): StoredKey[] {
    return this.db.prepare('SELECT * FROM agent_keys ORDER BY created_at, id').all() as StoredKey[];
  }

  insertAgent(agent: StoredAgent, key?: StoredKey): void {
    this.db
      .transaction(() => {
        const exists = this.db.prepare('SELECT 1 FROM agents WHERE id = ?').get(agent.id);
        if (exists) throw new AgentError('E_AGENT_EXISTS', `agent ${agent.id} exists already`);
        this.db
          .prepare(
            'INSERT INTO agents (id, source, trust, owner, env, created_at, last_seen) VALUES (@id, @source, @trust, @owner, @env, @created_at, @last_seen)',
          )
          .run(agent);
        if (key) this.insertKeyRow(key);
        this.bump();
      })
      .immediate();
  }

  updateAgent(id: string, fields: Partial<Pick<StoredAgent, 'trust' | 'owner' | 'env'>>): void {
    const set = Object.keys(fields).filter((k) => ['trust', 'owner', 'env'].includes(k));
    if (set.length === 0) return;
    this.db
      .transaction(() => {
        const result = this.db
          .prepare(`UPDATE agents SET ${set.map((k) => `${k} = @${k}`).join(', ')} WHERE id = @id`)
          .run({ ...fields, id });
        if (result.changes === 0) throw new AgentError('E_AGENT_NOT_FOUND', `no agent ${id} in the registry`);
        this.bump();
      })
      .immediate();
  }

  deleteAgent(id: string): void {
    this.db
      .transaction(() => {
        this.db.prepare('DELETE FROM agent_keys WHERE agent = ?').run(id);
        this.db.prepare('DELETE FROM agents WHERE id = ?').run(id);
        this.bump();
      })
      .immediate();
  }

  insertKey(key: StoredKey): void {
    this.db
      .transaction(() => {
        this.insertKeyRow(key);
        this.bump();
      })
      .immediate();
  }

  private insertKeyRow(key: StoredKey): void {
    this.db
      .prepare(
        'INSERT INTO agent_keys (id, agent, sha256, prefix, created_at, last_used, revoked_at) VALUES (@id, @agent, @sha256, @prefix, @created_at, @last_used, @revoked_at)',
      )
      .run(key);
  }

  revokeKey(id: string, at: string): void {
    this.db
      .transaction(() => {
        this.db
          .prepare('UPDATE agent_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL')
          .run(at, id);
        this.bump();
      })
      .immediate();
  }

  touchAgent(id: string, at: string): void {
    this.db.prepare('UPDATE agents SET last_seen = ? WHERE id = ?').run(at, id);
  }

  touchKey(id: string, at: string): void {
    this.db.prepare('UPDATE agent_keys SET last_used = ? WHERE id = ?').run(at, id);
  }

  version(): number {
    return (this.db.prepare('SELECT n FROM agents_version WHERE one = 1').get() as { n: number }).n;
  }

  /** SQLite's data_version moves when another connection commits: a pragma, no table is read. */
  changedElsewhere(): boolean {
    const now = this.dataVersionQuery();
    if (now === this.dataVersion) return false;
    this.dataVersion = now;
    return true;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
