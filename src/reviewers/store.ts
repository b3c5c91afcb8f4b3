// Reviewer accounts in <data-dir>/governance.db (module `reviewers`): rows only, no hashing or audit.
import { join } from 'node:path';
import { GOVERNANCE_DB, migrateModule, openSqlite, type SqliteDatabase } from '../util/index.js';
import { ReviewerError } from './errors.js';

/** One account as stored; times are ISO 8601. Credentials are hashes, never the secret. */
export interface StoredReviewer {
  id: string;
  name: string;
  created_at: string;
  disabled_at: string | null;
  token_sha256: string | null;
  token_created_at: string | null;
  password_hash: string | null;
  password_set_at: string | null;
  last_sign_in: string | null;
}

const MIGRATIONS = [
  `CREATE TABLE reviewers (
     id TEXT PRIMARY KEY,
     name TEXT NOT NULL UNIQUE COLLATE NOCASE,
     created_at TEXT NOT NULL,
     disabled_at TEXT,
     token_sha256 TEXT UNIQUE,
     token_created_at TEXT,
     password_hash TEXT,
     password_set_at TEXT,
     last_sign_in TEXT
   );`,
];

export class SqliteReviewerStore {
  private readonly db: SqliteDatabase;

  constructor(file: string) {
    this.db = openSqlite(file);
    try {
      migrateModule(this.db, 'reviewers', MIGRATIONS);
    } catch (error) {
      this.db.close();
      throw error;
    }
  }

  static inDataDir(dataDir: string): SqliteReviewerStore {
    return new SqliteReviewerStore(join(dataDir, GOVERNANCE_DB));
  }

  all(): StoredReviewer[] {
    return this.db.prepare('SELECT * FROM reviewers ORDER BY name').all() as StoredReviewer[];
  }

  byId(id: string): StoredReviewer | undefined {
    return this.db.prepare('SELECT * FROM reviewers WHERE id = ?').get(id) as StoredReviewer | undefined;
  }

  byName(name: string): StoredReviewer | undefined {
    return this.db.prepare('SELECT * FROM reviewers WHERE name = ?').get(name) as StoredReviewer | undefined;
  }

  byTokenSha256(sha256: string): StoredReviewer | undefined {
    return this.db.prepare('SELECT * FROM reviewers WHERE token_sha256 = ?').get(sha256) as
      | StoredReviewer
      | undefined;
  }

  /** Whether the account exists and is not disabled: asked on every request a reviewer makes. */
  isActive(id: string): boolean {
    return (
      this.db.prepare('SELECT 1 FROM reviewers WHERE id = ? AND disabled_at IS NULL').get(id) !== undefined
    );
  }

  insert(row: StoredReviewer): void {
    this.db
      .transaction(() => {
        if (this.byName(row.name)) {
          throw new ReviewerError('E_REVIEWER_EXISTS', `a reviewer named ${row.name} exists already`);
        }
        this.db
          .prepare(
            `INSERT INTO reviewers (id, name, created_at, disabled_at, token_sha256, token_created_at, password_hash, password_set_at, last_sign_in)
             VALUES (@id, @name, @created_at, @disabled_at, @token_sha256, @token_created_at, @password_hash, @password_set_at, @last_sign_in)`,
          )
          .run(row);
      })
      .immediate();
  }

  /** Sets the given columns of one account; false when there is no such account. */
  update(
    id: string,
    fields: Partial<
      Pick<
        StoredReviewer,
        | 'disabled_at'
        | 'token_sha256'
        | 'token_created_at'
        | 'password_hash'
        | 'password_set_at'
        | 'last_sign_in'
      >
    >,
  ): boolean {
    const allowed = [
      'disabled_at',
      'token_sha256',
      'token_created_at',
      'password_hash',
      'password_set_at',
      'last_sign_in',
    ];
    const set = Object.keys(fields).filter((k) => allowed.includes(k));
    if (set.length === 0) return this.byId(id) !== undefined;
    const result = this.db
      .prepare(`UPDATE reviewers SET ${set.map((k) => `${k} = @${k}`).join(', ')} WHERE id = @id`)
      .run({ ...fields, id });
    return result.changes === 1;
  }

  delete(id: string): boolean {
    return this.db.prepare('DELETE FROM reviewers WHERE id = ?').run(id).changes === 1;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
