// Admin token file handling and one-time login codes, on real files and a real SQLite database.
import { chmodSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ApprovalStore } from '../../src/approvals/index.js';
import { SCHEMA_VERSION } from '../../src/approvals/schema.js';
import { LoginCodes, loadOrCreateToken, WebConfigError } from '../../src/web/index.js';
import { tempDir } from '../helpers/temp.js';

let tmp: ReturnType<typeof tempDir>;
beforeEach(() => {
  tmp = tempDir('portcullis-auth-');
});
afterEach(() => tmp.cleanup());

describe('admin token', () => {
  it('is generated once into <data-dir>/ui-token with mode 0600 and reused', () => {
    const token = loadOrCreateToken(tmp.dir, {});
    expect(token.length).toBeGreaterThanOrEqual(32);
    const file = join(tmp.dir, 'ui-token');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(loadOrCreateToken(tmp.dir, {})).toBe(token);
  });

  it('prefers PORTCULLIS_UI_TOKEN and refuses a short one', () => {
    expect(loadOrCreateToken(tmp.dir, { PORTCULLIS_UI_TOKEN: 'from-the-environment-0123456789abcdef' })).toBe(
      'from-the-environment-0123456789abcdef',
    );
    expect(() => loadOrCreateToken(tmp.dir, { PORTCULLIS_UI_TOKEN: 'short' })).toThrow(WebConfigError);
  });

  it('tightens a token file someone made readable by others', () => {
    const file = join(tmp.dir, 'ui-token');
    writeFileSync(file, 'a-token-someone-wrote-by-hand-0123456789\n');
    chmodSync(file, 0o644);
    expect(loadOrCreateToken(tmp.dir, {})).toBe('a-token-someone-wrote-by-hand-0123456789');
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it('agrees on one token when several processes create it at once', async () => {
    const tokens = await Promise.all(Array.from({ length: 8 }, async () => loadOrCreateToken(tmp.dir, {})));
    expect(new Set(tokens).size).toBe(1);
    expect(readFileSync(join(tmp.dir, 'ui-token'), 'utf8').trim()).toBe(tokens[0]);
  });
});

describe('one-time login codes', () => {
  it('work once, expire, and are shared by every connection to the data dir', () => {
    const file = join(tmp.dir, 'approvals.db');
    let now = 1_000_000;
    // Two processes' stores on one data dir: the approvals migrations create the codes' table.
    const stores = [new ApprovalStore(file), new ApprovalStore(file)] as const;
    const issuer = new LoginCodes(stores[0].db, 60_000, () => now);
    const server = new LoginCodes(stores[1].db, 60_000, () => now);
    const code = issuer.issue();
    expect(server.consume(code)).toBe(true);
    expect(server.consume(code)).toBe(false);
    expect(issuer.consume(code)).toBe(false);

    const late = issuer.issue();
    now += 60_001;
    expect(server.consume(late)).toBe(false);
    expect(server.consume('')).toBe(false);
    expect(server.consume('not-a-code')).toBe(false);
    for (const store of stores) store.close();
  });
});

describe('an approvals database from before schema 3', () => {
  it('gets the codes table when it has none, and keeps the codes of one that made it itself', () => {
    const file = join(tmp.dir, 'approvals.db');
    const old = new ApprovalStore(file);
    const issued = new LoginCodes(old.db).issue();
    old.db.pragma('user_version = 2');
    old.close();
    const reopened = new ApprovalStore(file);
    expect(reopened.db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect(new LoginCodes(reopened.db).consume(issued)).toBe(true);
    reopened.db.exec('DROP TABLE ui_login_codes');
    reopened.db.pragma('user_version = 2');
    reopened.close();
    const bare = new ApprovalStore(file);
    expect(new LoginCodes(bare.db).consume(new LoginCodes(bare.db).issue())).toBe(true);
    bare.close();
  });
});
