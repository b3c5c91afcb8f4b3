import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { dataVersionReader, openSqlite, type SqliteDatabase } from '../../src/util/index.js';

const opened: SqliteDatabase[] = [];
const dirs: string[] = [];
afterEach(() => {
  for (const db of opened.splice(0)) db.close();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function open(file: string): SqliteDatabase {
  const db = openSqlite(file);
  opened.push(db);
  return db;
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('dataVersionReader', () => {
  it("reads data_version once per turn and sees another connection's commit from the next turn on", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'pc-dv-'));
    dirs.push(dir);
    const file = path.join(dir, 'g.db');
    const mine = open(file);
    const other = open(file);
    other.exec('CREATE TABLE t (n INTEGER)');
    const version = dataVersionReader(mine);
    const first = version();
    other.exec('INSERT INTO t VALUES (1)');
    // Same turn: the value read at its start (the calls of one input chunk share it).
    expect(version()).toBe(first);
    await nextTurn();
    const second = version();
    expect(second).not.toBe(first);
    // Its own connection's commits never move data_version (the stores handle their own writes).
    mine.exec('INSERT INTO t VALUES (2)');
    await nextTurn();
    expect(version()).toBe(second);
  });
});
