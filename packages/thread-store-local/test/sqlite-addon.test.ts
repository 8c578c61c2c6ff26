import { createRequire } from 'node:module';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { sqliteAddon } from '../src/internal/sqlite-addon.js';

describe("better-sqlite3's native addon", () => {
  it('is named by the same file the bindings package would find, and opens a database', () => {
    const entry = createRequire(import.meta.url).resolve('better-sqlite3');
    const root = path.dirname(path.dirname(entry));
    const fromPackage = createRequire(entry);
    const bindings = fromPackage(fromPackage.resolve('bindings')) as (o: object) => string;
    const expected = bindings({ bindings: 'better_sqlite3.node', module_root: root, path: true });
    const { nativeBinding } = sqliteAddon();
    expect(nativeBinding).toBe(expected);
    const db = new Database(':memory:', sqliteAddon());
    try {
      expect(db.prepare('SELECT 1 + 1 AS n').get()).toEqual({ n: 2 });
    } finally {
      db.close();
    }
  });
});
