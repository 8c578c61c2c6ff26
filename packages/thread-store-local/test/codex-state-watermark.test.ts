import path from 'node:path';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { codexStateChanges } from '../src/internal/change-scan.js';
import { tmpHome } from './helpers/home.js';

interface Row {
  id: number;
  /** Unix seconds (Codex's updated_at). */
  s: number;
  /** updated_at_ms, or null where a row predates the trigger that fills it. */
  ms: number | null;
}

/** A state DB with Codex's columns and indexes for the update time, holding `rows`. */
function stateDb(rows: readonly Row[], withMs: boolean): string {
  const file = path.join(tmpHome(), 'state_5.sqlite');
  const db = new Database(file);
  db.exec(
    `CREATE TABLE threads (id TEXT PRIMARY KEY, rollout_path TEXT NOT NULL, updated_at INTEGER NOT NULL${withMs ? ', updated_at_ms INTEGER' : ''});
     CREATE INDEX idx_threads_updated_at ON threads(updated_at DESC, id DESC);
     ${withMs ? 'CREATE INDEX idx_threads_updated_at_ms ON threads(updated_at_ms DESC, id DESC);' : ''}`,
  );
  const ins = withMs
    ? db.prepare('INSERT INTO threads (id, rollout_path, updated_at, updated_at_ms) VALUES (?, ?, ?, ?)')
    : db.prepare('INSERT INTO threads (id, rollout_path, updated_at) VALUES (?, ?, ?)');
  for (const r of rows) {
    const args = [`t${r.id}`, `/h/sessions/r-${r.id}.jsonl`, r.s];
    ins.run(...(withMs ? [...args, r.ms] : args));
  }
  db.close();
  return file;
}

/** What the watermark means: each row's updated_at_ms, else its updated_at in ms. */
function expected(
  rows: readonly Row[],
  withMs: boolean,
  seen: number | null,
): { paths: string[]; seen: number } | null {
  const at = (r: Row): number => (withMs && r.ms !== null ? r.ms : r.s * 1000);
  if (rows.length === 0) return null;
  const max = Math.max(...rows.map(at));
  if (seen === null) return { paths: [], seen: max };
  if (max <= seen) return null;
  return { paths: rows.filter((r) => at(r) > seen).map((r) => `/h/sessions/r-${r.id}.jsonl`), seen: max };
}

const rowsArb = fc.uniqueArray(
  fc.record({
    id: fc.nat(10_000),
    s: fc.integer({ min: 1_700_000_000, max: 1_700_000_100 }),
    ms: fc.option(fc.integer({ min: 1_699_999_900_000, max: 1_700_000_200_000 }), { nil: null }),
  }),
  { selector: (r) => r.id, maxLength: 25 },
);

describe("Codex's state DB watermark", () => {
  for (const withMs of [true, false]) {
    it(`finds the rows updated after the last check, NULL updated_at_ms or not (updated_at_ms column: ${String(withMs)})`, () => {
      fc.assert(
        fc.property(
          rowsArb,
          fc.option(fc.integer({ min: 1_699_999_900_000, max: 1_700_000_200_000 }), { nil: null }),
          (rows, seen) => {
            const got = codexStateChanges(stateDb(rows, withMs), seen);
            const want = expected(rows, withMs, seen);
            if (want === null) {
              expect(got).toBeNull();
            } else {
              expect(got?.seen).toBe(want.seen);
              expect([...(got?.paths ?? [])].sort()).toEqual([...want.paths].sort());
            }
          },
        ),
        { numRuns: 30 },
      );
    }, 120_000);
  }
});
