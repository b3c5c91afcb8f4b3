// Reviewer accounts on a real governance.db and a real audit log: hashing, sign-in, disabling, and secret-free records.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AuditLog } from '../../src/audit/index.js';
import { ReviewerError, Reviewers, SqliteReviewerStore } from '../../src/reviewers/index.js';
import { type TempDir, tempDir } from '../helpers/temp.js';

let tmp: TempDir;
let audit: AuditLog;
let reviewers: Reviewers;

beforeEach(async () => {
  tmp = tempDir('portcullis-reviewers-');
  audit = await AuditLog.open({ dataDir: tmp.dir });
  reviewers = new Reviewers({ store: SqliteReviewerStore.inDataDir(tmp.dir), audit });
});

afterEach(async () => {
  reviewers.close();
  await audit.close();
  tmp.cleanup();
});

function auditText(): string {
  const dir = join(tmp.dir, 'audit');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.jsonl'))
    .map((f) => readFileSync(join(dir, f), 'utf8'))
    .join('');
}

function rows(): Record<string, unknown>[] {
  const db = new Database(join(tmp.dir, 'governance.db'), { readonly: true });
  try {
    return db.prepare('SELECT * FROM reviewers').all() as Record<string, unknown>[];
  } finally {
    db.close();
  }
}

describe('reviewer accounts', () => {
  it('adds an account with a personal token shown once and stored only as SHA-256', async () => {
    const { reviewer, token } = await reviewers.add({ name: 'alice' }, 'admin (test)');
    expect(reviewer.id).toMatch(/^rv_[0-9a-f]{16}$/);
    expect(token).toMatch(/^pcr_[A-Za-z0-9_-]{43}$/);
    expect(reviewer.credentials).toEqual(['token']);
    const stored = JSON.stringify(rows());
    expect(stored).not.toContain(token);
    expect(stored).toContain(reviewer.id);
    expect(reviewers.byToken(token as string)).toEqual({ id: reviewer.id, name: 'alice', kind: 'reviewer' });
    expect(reviewers.byToken(`${token}x`)).toBeUndefined();
    expect(reviewers.byToken('pcr_nope')).toBeUndefined();
    // A new token replaces the old one.
    const { token: next } = await reviewers.issueToken('alice', 'admin (test)');
    expect(next).not.toBe(token);
    expect(reviewers.byToken(token as string)).toBeUndefined();
    expect(reviewers.byToken(next)?.id).toBe(reviewer.id);
  });

  it('stores passwords as scrypt hashes with their parameters and refuses wrong or short ones', async () => {
    const { reviewer, token } = await reviewers.add(
      { name: 'bob', password: 'correct horse battery' },
      'admin',
    );
    expect(token).toBeUndefined();
    const hash = rows()[0]?.password_hash as string;
    expect(hash).toMatch(/^scrypt\$32768\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    expect(hash).not.toContain('correct horse');
    expect(await reviewers.byPassword('bob', 'correct horse battery')).toEqual({
      id: reviewer.id,
      name: 'bob',
      kind: 'reviewer',
    });
    expect(await reviewers.byPassword('bob', 'correct horse batterY')).toBeUndefined();
    expect(await reviewers.byPassword('nobody', 'correct horse battery')).toBeUndefined();
    await expect(reviewers.setPassword('bob', 'short', 'admin')).rejects.toMatchObject({
      code: 'E_REVIEWER_WEAK_PASSWORD',
    });
    await reviewers.setPassword('bob', 'another long password', 'admin');
    expect(await reviewers.byPassword('bob', 'correct horse battery')).toBeUndefined();
    expect(await reviewers.byPassword('bob', 'another long password')).toBeDefined();
    // Same password, different salt: two hashes.
    await reviewers.add({ name: 'carol', password: 'another long password' }, 'admin');
    const hashes = rows().map((r) => r.password_hash);
    expect(new Set(hashes).size).toBe(2);
  });

  it('a disabled or removed account cannot sign in, and enabling restores it', async () => {
    const { reviewer, token } = await reviewers.add(
      { name: 'dana', password: 'a long enough password', token: true },
      'admin',
    );
    await reviewers.disable('dana', 'admin');
    expect(reviewers.isActive(reviewer.id)).toBe(false);
    expect(reviewers.byToken(token as string)).toBeUndefined();
    expect(await reviewers.byPassword('dana', 'a long enough password')).toBeUndefined();
    await reviewers.enable(reviewer.id, 'admin');
    expect(reviewers.isActive(reviewer.id)).toBe(true);
    expect(reviewers.byToken(token as string)?.id).toBe(reviewer.id);
    await reviewers.remove('dana', 'admin');
    expect(reviewers.isActive(reviewer.id)).toBe(false);
    expect(reviewers.byToken(token as string)).toBeUndefined();
    expect(reviewers.find('dana')).toBeUndefined();
  });

  it('refuses bad names, duplicate names (any case) and the admin name', async () => {
    await reviewers.add({ name: 'erin' }, 'admin');
    for (const name of ['', ' ', 'a'.repeat(65), 'bad/name', 'ünïcode', 'admin', 'ADMIN']) {
      await expect(reviewers.add({ name }, 'admin'), name).rejects.toMatchObject({
        code: 'E_REVIEWER_INVALID',
      });
    }
    await expect(reviewers.add({ name: 'Erin' }, 'admin')).rejects.toBeInstanceOf(ReviewerError);
    await expect(reviewers.add({ name: 'Erin' }, 'admin')).rejects.toMatchObject({
      code: 'E_REVIEWER_EXISTS',
    });
    await expect(reviewers.disable('nobody', 'admin')).rejects.toMatchObject({
      code: 'E_REVIEWER_NOT_FOUND',
    });
    expect((await reviewers.add({ name: 'Frank O. Smith-2' }, 'admin')).reviewer.name).toBe(
      'Frank O. Smith-2',
    );
  });

  it('audits every change as a reviewer event with no credential in it', async () => {
    const { reviewer, token } = await reviewers.add(
      { name: 'gus', password: 'first long password' },
      'root (cli)',
    );
    const { token: issued } = await reviewers.issueToken('gus', 'root (cli)');
    await reviewers.setPassword('gus', 'second long password', 'root (cli)');
    await reviewers.disable('gus', 'root (cli)');
    await reviewers.enable('gus', 'root (cli)');
    await reviewers.remove('gus', 'root (cli)');
    await audit.close();
    const text = auditText();
    const records = text
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((r) => r.event === 'reviewer');
    expect(records.map((r) => r.action)).toEqual([
      'added',
      'password_set',
      'token_issued',
      'password_set',
      'disabled',
      'enabled',
      'removed',
    ]);
    for (const r of records)
      expect(r).toMatchObject({ reviewer: reviewer.id, name: 'gus', by: 'root (cli)' });
    expect(token).toBeUndefined();
    for (const secret of [issued, 'first long password', 'second long password', 'scrypt$']) {
      expect(text).not.toContain(secret);
    }
    audit = await AuditLog.open({ dataDir: tmp.dir });
  });
});
