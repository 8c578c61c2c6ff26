import { writeFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { RolloutItem } from '@skein/thread-store-api';
import { FileScanner, emptyFileState, irrelevantLineTime } from '../src/internal/file-state.js';
import { parseLine, readHistory, readRawLines } from '../src/internal/reader.js';
import type { LineCounts } from '../src/internal/reader.js';
import { tmpHome } from './helpers/home.js';

const jsonValue = fc.jsonValue({ maxDepth: 3 });
const validItem: fc.Arbitrary<RolloutItem> = fc.record({
  timestamp: fc.date({ min: new Date(0), max: new Date(4e12), noInvalidDate: true }).map((d) => d.toISOString()),
  type: fc.constantFrom(
    'session_meta',
    'response_item',
    'event_msg',
    'turn_context',
    'compacted',
    'world_state',
    'brand_new_type',
  ),
  payload: fc.oneof(
    fc.record({
      type: fc.constantFrom('user_message', 'agent_message', 'message', 'token_count', 'task_started'),
      message: fc.string(),
      extra: jsonValue,
    }),
    fc.record({ id: fc.uuid(), cwd: fc.string(), source: jsonValue }),
    jsonValue,
  ),
}) as fc.Arbitrary<RolloutItem>;

type Line = { kind: 'item'; item: RolloutItem } | { kind: 'bad'; text: string } | { kind: 'blank'; text: string };

/** Garbage that is certainly not a rollout item. */
const badText = fc
  .oneof(
    fc.string().filter((s) => !s.includes('\n') && s.trim() !== '' && parseLine(s).kind === 'bad'),
    validItem
      .map((i) => JSON.stringify(i))
      .chain((s) => fc.integer({ min: 1, max: Math.max(1, s.length - 1) }).map((n) => s.slice(0, n))),
    fc.constantFrom(
      '[]',
      'null',
      '42',
      '"str"',
      '{"type":1,"payload":{}}',
      '{"payload":{}}',
      '{"type":"x"}',
      '\u0000\u0001',
      '{"type":"a","payload":1,"ordinal":-1}',
    ),
  )
  .filter((s) => !s.includes('\n') && s.trim() !== '' && parseLine(s).kind === 'bad');

const line: fc.Arbitrary<Line> = fc.oneof(
  { weight: 5, arbitrary: validItem.map((item) => ({ kind: 'item' as const, item })) },
  { weight: 2, arbitrary: badText.map((text) => ({ kind: 'bad' as const, text })) },
  { weight: 1, arbitrary: fc.constantFrom('', ' ', '\t', '\r').map((text) => ({ kind: 'blank' as const, text })) },
);

const isGhost = (i: RolloutItem): boolean =>
  i.type === 'response_item' &&
  typeof i.payload === 'object' &&
  i.payload !== null &&
  (i.payload as { type?: unknown }).type === 'ghost_snapshot';

describe('reader fuzzing', () => {
  let n = 0;

  it('random line mixes: valid items come back in order, bad lines are counted, nothing throws', async () => {
    const dir = tmpHome();
    await fc.assert(
      fc.asyncProperty(
        fc.array(line, { maxLength: 40 }),
        fc.integer({ min: 1, max: 64 }),
        fc.boolean(),
        async (lines, chunkSize, trailingNewline) => {
          const file = path.join(dir, `f${n++}.jsonl`);
          const text = lines.map((l) => (l.kind === 'item' ? JSON.stringify(l.item) : l.text)).join('\n');
          writeFileSync(file, text + (trailingNewline && lines.length > 0 ? '\n' : ''));
          const counts: LineCounts = { blank: 0, bad: 0, tornTail: 0 };
          const got: RolloutItem[] = [];
          for await (const item of readHistory(file, { zst: false, counts, chunkSize })) got.push(item);
          const expected = lines.flatMap((l) =>
            l.kind === 'item' && !isGhost(l.item) ? [JSON.parse(JSON.stringify(l.item)) as RolloutItem] : [],
          );
          expect(got).toEqual(expected);
          expect(counts.bad + counts.tornTail).toBe(lines.filter((l) => l.kind === 'bad').length);
          // Offsets cover the file exactly.
          let pos = 0;
          for await (const raw of readRawLines(file, { chunkSize })) {
            expect(raw.start).toBe(pos);
            pos = raw.end;
          }
          expect(pos).toBe(Buffer.byteLength(text) + (trailingNewline && lines.length > 0 ? 1 : 0));
        },
      ),
      { numRuns: 150, seed: 4242 },
    );
    // 150 files written and read back: over 5 s on a busy 2-core machine.
  }, 60_000);

  it('mutated valid lines never throw in the parser or the metadata scanner', () => {
    fc.assert(
      fc.property(
        validItem,
        fc.array(fc.tuple(fc.nat(), fc.constantFrom('delete', 'insert', 'replace'), fc.string({ maxLength: 3 })), {
          maxLength: 6,
        }),
        (item, edits) => {
          let s = JSON.stringify(item);
          for (const [at, op, text] of edits) {
            const i = s.length === 0 ? 0 : at % s.length;
            if (op === 'delete') s = s.slice(0, i) + s.slice(i + 1);
            else if (op === 'insert') s = s.slice(0, i) + text + s.slice(i);
            else s = s.slice(0, i) + text + s.slice(i + text.length);
          }
          const p = parseLine(s);
          const strict = new FileScanner(emptyFileState());
          expect(strict.parsedLine(s)).toBe(p.kind !== 'bad');
          expect(strict.finish().badLines).toBe(p.kind === 'bad' ? 1 : 0);
          // The indexer's shortcut takes a Codex-shaped line that cannot matter for metadata by its
          // prefix, without parsing it: such a line damaged in the middle counts as read, not bad.
          const shortcut = irrelevantLineTime(s) !== null;
          const scanner = new FileScanner(emptyFileState());
          expect(scanner.line(s)).toBe(p.kind !== 'bad' || shortcut);
          expect(scanner.finish().badLines).toBe(p.kind === 'bad' && !shortcut ? 1 : 0);
        },
      ),
      { numRuns: 500, seed: 77 },
    );
  });

  it('arbitrary bytes (invalid UTF-8, NULs, CRs) are survived', async () => {
    const dir = tmpHome();
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 400 }), fc.integer({ min: 1, max: 32 }), async (bytes, chunkSize) => {
        const file = path.join(dir, `b${n++}.jsonl`);
        writeFileSync(file, bytes);
        const counts: LineCounts = { blank: 0, bad: 0, tornTail: 0 };
        for await (const item of readHistory(file, { zst: false, counts, chunkSize }))
          expect(typeof item.type).toBe('string');
        const scanner = new FileScanner(emptyFileState());
        for await (const raw of readRawLines(file, { chunkSize })) scanner.line(raw.text);
        scanner.finish();
      }),
      { numRuns: 100, seed: 9 },
    );
  });
});
