import { cpSync, utimesSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ListThreadsParams } from '@skein/thread-store-api';
import { meta, openStore, tmpHome, userMsg, writeRollout } from './helpers/home.js';

const HOUR = 3600_000;
const pad = (n: number, w = 2): string => String(n).padStart(w, '0');
const idN = (n: number): string => `0a1b2c3d-0000-4000-8000-${pad(n, 12)}`;

interface Spec {
  /** Creation time (UTC ms) and the writer's UTC offset (hours), which picks its day folder. */
  created: number;
  offset: number;
  provider: string;
  source: string;
  preview: boolean;
}

/** A home whose files sit in the day folder of their creation in the writer's local time. */
function writeHome(specs: Spec[]): string {
  const home = tmpHome();
  specs.forEach((s, i) => {
    const local = new Date(s.created + s.offset * HOUR);
    const day = `${local.getUTCFullYear()}/${pad(local.getUTCMonth() + 1)}/${pad(local.getUTCDate())}`;
    const stamp = `${day.replace(/\//g, '-')}T${pad(local.getUTCHours())}-${pad(local.getUTCMinutes())}-${pad(local.getUTCSeconds())}`;
    const ts = new Date(s.created).toISOString();
    const lines = [meta(idN(i), { model_provider: s.provider, source: s.source }, ts)];
    if (s.preview) lines.push(userMsg(`thread ${i}`, new Date(s.created + 1000).toISOString()));
    const file = writeRollout(home, `sessions/${day}/rollout-${stamp}-${idN(i)}.jsonl`, lines);
    // Whole milliseconds (the file's last line), which a copy keeps exactly.
    utimesSync(file, new Date(s.created + 1000), new Date(s.created + 1000));
  });
  return home;
}

const spec = (base: number, days: number): fc.Arbitrary<Spec> =>
  fc.record({
    created: fc.integer({ min: base, max: base + days * 24 * HOUR }),
    offset: fc.integer({ min: -12, max: 14 }),
    provider: fc.constantFrom('openai', 'openai', 'other'),
    source: fc.constantFrom('cli', 'cli', 'vscode', 'exec'),
    preview: fc.boolean(),
  });

describe('the first page before the index is complete', () => {
  it('is exactly the first page of a complete index, for any home, page size and filters', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.array(spec(Date.UTC(2025, 8, 1), 40), { minLength: 0, maxLength: 60 }),
          // Crowded days: writers' time zones make folders overlap in creation time.
          fc.array(spec(Date.UTC(2025, 8, 1), 3), { minLength: 0, maxLength: 40 }),
        ),
        fc.integer({ min: 1, max: 12 }),
        fc.constantFrom<Partial<ListThreadsParams>>(
          {},
          { modelProviders: [] },
          { modelProviders: ['other'] },
          { allowedSources: ['vscode', 'exec'], modelProviders: [] },
        ),
        async (specs, pageSize, filters) => {
          const cold = writeHome(specs);
          const full = tmpHome();
          cpSync(cold, full, { recursive: true, preserveTimestamps: true });
          const params: ListThreadsParams = { ...filters, pageSize };
          const reference = openStore(full, { backgroundIntegrityCheck: false });
          await reference.indexNow();
          const want = await reference.listThreads(params);
          await reference.close();
          const store = openStore(cold, { backgroundIntegrityCheck: false });
          const got = await store.listThreads(params);
          expect(got.items.map((t) => t.threadId)).toEqual(want.items.map((t) => t.threadId));
          const local = (items: typeof got.items, home: string): unknown[] =>
            items.map((t) => ({ ...t, rolloutPath: path.relative(home, t.rolloutPath ?? '') }));
          expect(local(got.items, cold)).toEqual(local(want.items, full));
          expect(got.nextCursor === null).toBe(want.nextCursor === null);
          // The next page, from the early page's cursor, continues exactly as the complete index does.
          if (got.nextCursor && want.nextCursor) {
            const next = await store.listThreads({ ...params, cursor: got.nextCursor });
            const wantNext = await (async () => {
              const r = openStore(full, { backgroundIntegrityCheck: false });
              try {
                return await r.listThreads({ ...params, cursor: want.nextCursor });
              } finally {
                await r.close();
              }
            })();
            expect(next.items.map((t) => t.threadId)).toEqual(wantNext.items.map((t) => t.threadId));
          }
          await store.close();
        },
      ),
      { numRuns: 40 },
    );
  }, 180_000);

  it('reads an older folder when a thread there was created after the newest folder began (a writer west of UTC)', async () => {
    const d = Date.UTC(2025, 8, 10);
    const home = writeHome([
      // Created the next day in UTC, at 22:00 on day d where it was written (UTC-12): folder d.
      { created: d + 34 * HOUR, offset: -12, provider: 'openai', source: 'cli', preview: true },
      // Two threads early on day d+1 (UTC): folder d+1.
      { created: d + 24 * HOUR + 10 * 60_000, offset: 0, provider: 'openai', source: 'cli', preview: true },
      { created: d + 24 * HOUR + 30 * 60_000, offset: 0, provider: 'openai', source: 'cli', preview: true },
    ]);
    const store = openStore(home, { backgroundIntegrityCheck: false });
    expect((await store.listThreads({ pageSize: 1 })).items.map((t) => t.threadId)).toEqual([idN(0)]);
  });

  it('on a home of 30 day folders, answers the newest page, and the background pass indexes the rest', async () => {
    const specs: Spec[] = [];
    for (let d = 0; d < 30; d++)
      for (let k = 0; k < 10; k++)
        specs.push({
          created: Date.UTC(2025, 8, 1 + d, 12, k),
          offset: 0,
          provider: 'openai',
          source: 'cli',
          preview: true,
        });
    const home = writeHome(specs);
    const store = openStore(home, { backgroundIntegrityCheck: false, fullSweepIntervalMs: 3_600_000 });
    const page = await store.listThreads({ pageSize: 5 });
    expect(page.items.map((t) => t.threadId)).toEqual([299, 298, 297, 296, 295].map(idN));
    // Any other listing waits for the background pass: everything is there.
    const all = await store.listThreads({ pageSize: 500, sortKey: 'updatedAt' });
    expect(all.items).toHaveLength(300);
    const next = await store.listThreads({ pageSize: 5, cursor: page.nextCursor });
    expect(next.items.map((t) => t.threadId)).toEqual([294, 293, 292, 291, 290].map(idN));
  });
});
