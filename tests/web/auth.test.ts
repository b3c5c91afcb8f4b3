// Admin token file handling and one-time login codes, on real files and a real SQLite database.
import { chmodSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
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
    const dbs = [new Database(file), new Database(file)] as const;
    const issuer = new LoginCodes(dbs[0], 60_000, () => now);
    const server = new LoginCodes(dbs[1], 60_000, () => now);
    const code = issuer.issue();
    expect(server.consume(code)).toBe(true);
    expect(server.consume(code)).toBe(false);
    expect(issuer.consume(code)).toBe(false);

    const late = issuer.issue();
    now += 60_001;
    expect(server.consume(late)).toBe(false);
    expect(server.consume('')).toBe(false);
    expect(server.consume('not-a-code')).toBe(false);
    for (const db of dbs) db.close();
  });
});
